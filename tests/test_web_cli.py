"""`groundhog review --web` as a command: options, one-line errors, the loopback default, and a real server
started by the CLI in its own process and stopped with Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from web_support import fill

from groundhog.cli import app
from groundhog.commands.web import is_loopback, prepare
from groundhog.web.guard import LOOPBACK, allowed_hosts_for
from testkit.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    return isolated_home


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something else already listens on (every interface)."""
    sock = socket.socket()
    sock.bind(("0.0.0.0", 0))
    sock.listen(1)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_review_help_lists_the_web_options() -> None:
    result = CliRunner().invoke(app, ["review", "--help"])
    assert result.exit_code == 0
    for option in ("--web", "--host", "--port", "--open", "--session", "--persona"):
        assert option in result.stdout


def test_a_port_in_use_is_one_line_and_exit_2(home: Path, taken: int) -> None:
    result = CliRunner().invoke(app, ["review", "--web", "--port", str(taken), "--home", str(home)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"groundhog: error: --port: cannot listen on 127.0.0.1:{taken}")
    assert "Traceback" not in result.output


def test_every_interface_warns_first(home: Path, taken: int) -> None:
    result = CliRunner().invoke(
        app, ["review", "--web", "--host", "0.0.0.0", "--port", str(taken), "--home", str(home)]
    )
    warning, error = result.stderr.strip().splitlines()
    assert warning.startswith("groundhog: warning: --host 0.0.0.0 serves the review page beyond this machine")
    assert "--port" in error and result.exit_code == 2
    quiet = CliRunner().invoke(app, ["review", "--web", "--port", str(taken), "--home", str(home)])
    assert "warning" not in quiet.stderr
    bad = CliRunner().invoke(app, ["review", "--web", "--port", "70000", "--home", str(home)])
    assert bad.exit_code == 2 and "--port: 70000 is not a port" in bad.stderr


def test_loopback_and_the_hosts_served() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))
    assert allowed_hosts_for("127.0.0.1") == LOOPBACK
    assert allowed_hosts_for("192.168.1.5") == LOOPBACK | {"192.168.1.5"}
    assert allowed_hosts_for("0.0.0.0") is None  # bound to every interface on purpose: any name


def test_session_and_persona_preset_the_filters(home: Path) -> None:
    fill(home, ("doomimir",))
    served = prepare(home, port=0, session="s1", persona="Doomimir")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?session=s1&persona=doomimir", served.url)
    finally:
        served.sock.close()
        served.worker.shutdown()


def test_the_command_serves_until_ctrl_c(isolated_home: Path) -> None:
    """A fresh process, as a user starts it: prints the address, serves, refuses a POST without the token."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from groundhog import cli; cli.main()", "review", "--web", "--port", "0"],
        cwd=ROOT,
        env={**os.environ, "GROUNDHOG_HOME": str(isolated_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"Review page: (http://127\.0\.0\.1:\d+/)", line)
        assert found, line + proc.stderr.read() if proc.stderr else line
        url = found.group(1)
        page = httpx.get(url, timeout=20)
        assert page.status_code == 200 and "The queue is empty" in page.text
        assert httpx.post(url + "undo", data={"q": ""}, timeout=20).status_code == 403
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "Review page stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_templates_and_assets_ship_as_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = globs["groundhog.web"]
    files = [
        p.relative_to(ROOT / "web").as_posix() for d in ("templates", "static") for p in (ROOT / "web" / d).iterdir()
    ]
    assert files and all(any(fnmatch(f, pattern) for pattern in patterns) for f in files), files
