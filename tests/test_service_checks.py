"""The services of a night at scale are checked before any work starts: a `chroma_url` that is not a URL,
that nothing answers, or that is not a Chroma server; `--ray` without a Chroma server; a `--ray` address
that does not answer. Each is one line naming the setting or the flag, exit 2, and no session row."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from testkit.cluster_services import ChromaServer, free_port
from testkit.fake_openai import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]


def endpoint_flags(srv: FakeOpenAIServer) -> list[str]:
    return ["--provider", "openai", "--model", "fake-model", "--base-url", srv.base_url]


def babble(srv: FakeOpenAIServer, *extra: str, chroma_url: str | None = None) -> object:
    env = {"GROUNDHOG_CHROMA_URL": chroma_url} if chroma_url else {}
    args = ["babble", "--persona", "doomimir", "--depth", "1", "--present", "2026-11-23", *endpoint_flags(srv)]
    return CliRunner().invoke(app, [*args, *extra], env=env)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def no_session_was_created() -> None:
    listed = CliRunner().invoke(app, ["sessions", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == [], listed.stdout


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("localhost:8000", "is not a Chroma server URL"),
        ("http://127.0.0.1:{free}", "no Chroma server answers"),
        ("{fake}", "it is not a Chroma server"),  # an HTTP server, but an OpenAI-compatible one
    ],
)
def test_a_bad_chroma_url_is_one_line_exit_2_before_any_work(isolated_home: Path, url: str, says: str) -> None:
    with FakeOpenAIServer() as srv:
        chroma_url = url.format(free=free_port(), fake=f"http://127.0.0.1:{srv.port}")
        result = babble(srv, chroma_url=chroma_url)
        assert not srv.chat_requests, "a model was called before the log was checked"
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert "chroma_url" in line and says in line
    no_session_was_created()


def test_ray_without_a_chroma_server_is_one_clear_error_and_imports_no_ray(isolated_home: Path) -> None:
    code = (
        "import sys\nfrom groundhog import cli\n"
        "try:\n    cli.app(sys.argv[1:])\nexcept SystemExit as exc:\n    print('exit', exc.code)\n"
        "print('ray imported' if 'ray' in sys.modules else 'no ray')\n"
    )
    args = ["babble", "--persona", "doomimir", "--ray", "auto", "--provider", "openai", "--model", "m"]
    args += ["--base-url", "http://127.0.0.1:9/v1"]
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["exit", "2", "no", "ray"], done.stdout + done.stderr
    line = one_line(done.stderr)
    assert "--ray" in line and "chroma_url" in line and "Chroma server" in line
    no_session_was_created()


def test_doctor_names_chroma_url_when_nothing_answers(isolated_home: Path) -> None:
    with FakeOpenAIServer() as srv:
        env = {
            "GROUNDHOG_CHROMA_URL": f"http://127.0.0.1:{free_port()}",
            "GROUNDHOG_BABBLE__PROVIDER": "openai",
            "GROUNDHOG_BABBLE__MODEL": "fake-model",
            "GROUNDHOG_BABBLE__BASE_URL": srv.base_url,
            "GROUNDHOG_EMBEDDING__PROVIDER": "openai",
            "GROUNDHOG_EMBEDDING__MODEL": "fake-embedding",
            "GROUNDHOG_EMBEDDING__BASE_URL": srv.base_url,
        }
        result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["babble model"]["ok"] and checks["embedder"]["ok"]
    store = checks["vector store"]
    assert not store["ok"] and store["detail"].startswith("chroma_url: no Chroma server answers")


@pytest.mark.cluster
def test_a_chroma_server_passes_doctor_and_a_silent_ray_address_is_exit_2(isolated_home: Path, tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv, ChromaServer(tmp_path / "chroma") as chroma:
        env = {
            "GROUNDHOG_BABBLE__PROVIDER": "openai",
            "GROUNDHOG_BABBLE__MODEL": "fake-model",
            "GROUNDHOG_BABBLE__BASE_URL": srv.base_url,
            "GROUNDHOG_EMBEDDING__PROVIDER": "openai",
            "GROUNDHOG_EMBEDDING__MODEL": "fake-embedding",
            "GROUNDHOG_EMBEDDING__BASE_URL": srv.base_url,
            "GROUNDHOG_CHROMA_URL": chroma.url,
        }
        doctor = CliRunner().invoke(app, ["doctor", "--json"], env=env)
        assert doctor.exit_code == 0, doctor.output
        store = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}["vector store"]
        assert store["ok"] and store["detail"].startswith(f"Chroma server at http://127.0.0.1:{chroma.port}")

        asked, start = len(srv.chat_requests), time.monotonic()  # doctor's tiny generation
        silent = f"127.0.0.1:{free_port()}"
        result = babble(srv, "--ray", silent, chroma_url=chroma.url)
        assert time.monotonic() - start < 20, "a silent address must fail fast"
        assert len(srv.chat_requests) == asked, "a model was called before the cluster was checked"
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith("groundhog: error: --ray:") and silent in line and "no Ray cluster answers" in line
    no_session_was_created()


@pytest.mark.cluster
def test_a_ray_address_that_answers_but_is_no_ray_head_is_exit_2_within_the_bound(
    isolated_home: Path, tmp_path: Path
) -> None:
    """An HTTP server's port answers the TCP connect; Ray's own `ray status` (in a child, bounded) finds no
    GCS there: one line naming --ray and the address, exit 2, no model call, no session."""
    with FakeOpenAIServer() as srv, ChromaServer(tmp_path / "chroma") as chroma:
        not_ray = f"127.0.0.1:{srv.port}"
        start = time.monotonic()
        result = babble(srv, "--ray", not_ray, chroma_url=chroma.url)
        assert time.monotonic() - start < 40, "the check is bounded (15 s), not ray.init's long wait"
        assert not srv.chat_requests, "a model was called before the cluster was checked"
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith("groundhog: error: --ray:") and not_ray in line and "is not a Ray head node" in line
    no_session_was_created()
