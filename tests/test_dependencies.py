"""Declare what you import: every third-party module the package imports (lazily too) comes from a
distribution named in the base or in an extra, `core/extras.py` agrees with pyproject.toml, and the base
code paths (`groundhog --help`, a night on an endpoint) import no extra's package."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from groundhog.core.extras import EXTRAS
from testkit.fake_openai import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
GROUNDHOG = Path(sys.executable).parent / "groundhog"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(group: str | None) -> list[Requirement]:
    """The base's requirements (`group` None) or one extra's, without the project's own name (`all`)."""
    project = PROJECT["project"]
    lines = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [r for r in map(Requirement, lines) if _norm(r.name) != "groundhog"]


def _declared() -> dict[str, str]:
    """Each distribution the package may import and where it is declared: the base, an extra, or an extra
    of a declared requirement (`openai[aiohttp]` declares aiohttp, at the version the SDK asks for). The
    dev tools do not count: the package never imports them."""
    where: dict[str, str] = {}
    for group in (None, *(g for g in PROJECT["project"]["optional-dependencies"] if g != "dev")):
        label = "base" if group is None else f"extra '{group}'"
        for req in _requirements(group):
            where.setdefault(_norm(req.name), label)
            for extra in req.extras:
                for line in metadata.requires(req.name) or []:
                    sub = Requirement(line)
                    marker = sub.marker
                    if marker is not None and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
                        where.setdefault(_norm(sub.name), f"{label} ({req.name}[{extra}])")
    return where


def _package_files() -> list[Path]:
    """The modules that go into the wheel: the root's own files and each listed subpackage's."""
    files = sorted(ROOT.glob("*.py"))
    for package in PROJECT["tool"]["setuptools"]["packages"]:
        if package != "groundhog":
            files += sorted((ROOT / package.split(".", 1)[1].replace(".", "/")).rglob("*.py"))
    return files


def _third_party_imports(path: Path) -> set[str]:
    """Top-level names of the modules a file imports anywhere (inside functions too), stdlib excluded."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"groundhog"}


def test_every_imported_package_is_declared_in_the_base_or_an_extra() -> None:
    providers = metadata.packages_distributions()
    declared = _declared()
    problems = []
    for path in _package_files():
        name = path.relative_to(ROOT)
        for module in sorted(_third_party_imports(path)):
            dists = {_norm(d) for d in providers.get(module, [])}
            if not dists:
                problems.append(f"{name}: imports {module}, which no installed distribution provides")
            elif not dists & declared.keys():
                problems.append(f"{name}: imports {module} ({', '.join(sorted(dists))}), declared nowhere")
    assert problems == []


def test_the_extras_table_names_what_pyproject_declares() -> None:
    optional = PROJECT["project"]["optional-dependencies"]
    assert {e.name for e in EXTRAS} == set(optional) - {"all", "dev"}
    base = {_norm(r.name) for r in _requirements(None)}
    providers = metadata.packages_distributions()
    for extra in EXTRAS:
        dists = {_norm(d) for d, _ in extra.parts}
        assert dists == {_norm(r.name) for r in _requirements(extra.name)}, extra.name
        assert not dists & base, f"{extra.name}: in the base too"
        for dist, module in extra.parts:  # the module that `require` looks for is the distribution's
            assert _norm(dist) in {_norm(d) for d in providers.get(module, [])}, f"{extra.name}: {module}"
    (everything,) = map(Requirement, optional["all"])
    assert everything.name == "groundhog" and everything.extras == {e.name for e in EXTRAS}


def _imported(argv: list[str], home: Path) -> set[str]:
    """Run the console script with Python's import profile on; the top-level modules it imported."""
    env = {**os.environ, "GROUNDHOG_HOME": str(home), "PYTHONPROFILEIMPORTTIME": "1"}
    env.pop("GROUNDHOG_DATABASE_URL", None)  # the base's night: SQLite in the home (the suite on PostgreSQL sets it)
    done = subprocess.run([str(GROUNDHOG), *argv], env=env, capture_output=True, text=True, timeout=300)
    profile = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    rest = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert done.returncode == 0, "\n".join(rest[-20:])
    assert profile, "no import profile: PYTHONPROFILEIMPORTTIME was not honoured"
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in profile[1:]}


def write_endpoint_config(home: Path, base_url: str) -> None:
    """A home whose night runs on an endpoint, embeddings included."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "groundhog.toml").write_text(
        f'[babble]\nprovider = "openai"\nmodel = "fake-model"\nbase_url = "{base_url}"\n\n'
        f'[embedding]\nprovider = "openai"\nmodel = "fake-embed"\nbase_url = "{base_url}"\n',
        encoding="utf-8",
    )


NIGHT = ["babble", "--persona", "doomimir", "--depth", "1", "--ideas-per-day", "2", "--revisions", "0", "--json"]


def test_the_base_code_paths_import_no_extra(isolated_home: Path) -> None:
    extras_modules = {module: extra.name for extra in EXTRAS for _, module in extra.parts}
    imported = _imported(["--help"], isolated_home)
    with FakeOpenAIServer() as srv:
        write_endpoint_config(isolated_home, srv.base_url)
        imported |= _imported(NIGHT, isolated_home)
        paths = {r["path"] for r in srv.requests}
    assert paths >= {"/v1/chat/completions", "/v1/embeddings"}, "the night ran on the endpoint, embeddings too"
    assert {"openai", "chromadb"} <= imported  # the profile saw the night's own imports
    assert {m: extras_modules[m] for m in imported & extras_modules.keys() - BASE_BRINGS} == {}


# chromadb's own dependencies: a bare install has them although the `local` and `web` extras name them too
CHROMADB_BRINGS = {"onnxruntime", "tokenizers", "uvicorn"}
# what the base's own libraries import: Alembic renders its migration scripts with Mako, on MarkupSafe
BASE_BRINGS = {"markupsafe"}


@pytest.mark.slow
def test_a_bare_install_runs_doctor_and_a_night_on_an_endpoint(tmp_path: Path, isolated_home: Path) -> None:
    """`pip install groundhog` with no extras, in a fresh virtualenv (pip's cache makes it about a minute
    and a half): doctor passes, a one-persona night completes on the endpoint, and the extras are absent."""
    source = tmp_path / "groundhog"
    skip = shutil.ignore_patterns(".git", ".venv", "build", "dist", "__pycache__", "*.egg-info", ".groundhog-*")
    shutil.copytree(ROOT, source, ignore=skip)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, groundhog = venv / "bin" / "python", venv / "bin" / "groundhog"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(source)], env=env, capture_output=True, text=True, timeout=900
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"], env=env, capture_output=True)
    installed = {_norm(p["name"]) for p in json.loads(listed.stdout)}
    extra_only = {_norm(d) for e in EXTRAS for d, _ in e.parts} - CHROMADB_BRINGS - BASE_BRINGS
    assert "groundhog" in installed and installed & extra_only == set()

    def groundhog_cli(*argv: str, home: Path = isolated_home) -> subprocess.CompletedProcess[str]:
        run_env = {**env, "GROUNDHOG_HOME": str(home)}
        return subprocess.run([str(groundhog), *argv], env=run_env, capture_output=True, text=True, timeout=300)

    default = groundhog_cli("babble", "--persona", "doomimir", home=tmp_path / "default")
    expected = "groundhog: error: the embedded model needs the 'local' extra: pip install 'groundhog[local]'\n"
    assert (default.returncode, default.stderr) == (2, expected)
    with FakeOpenAIServer() as srv:
        write_endpoint_config(isolated_home, srv.base_url)
        doctor = groundhog_cli("doctor", "--json")
        assert doctor.returncode == 0, doctor.stderr
        night = groundhog_cli(*NIGHT)
        assert night.returncode == 0, night.stderr[-2000:]
    report = json.loads(doctor.stdout)
    assert report["ok"] and not any(e["installed"] for e in report["extras"])
    (session,) = json.loads(groundhog_cli("sessions", "list", "--json").stdout)
    assert (session["status"], session["days_done"]) == ("completed", 1)
