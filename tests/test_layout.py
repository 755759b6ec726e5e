"""The shape of the installed package: one import package, data files shipped, imports pointing one way."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "memory", "providers", "store", "researchers", "critique", "review", "loop", "commands")
# cli.py -> commands/ -> loop/ -> researchers/ critique/ review/ -> memory/ providers/ store/ -> core/
LAYER = {"core": 0, "memory": 1, "providers": 1, "store": 1, "researchers": 2, "critique": 2, "review": 2, "loop": 3}
LAYER |= {"commands": 4, "cli": 5}


def _imports(path: Path) -> set[str]:
    """The groundhog subpackages a module imports, at any depth of the file (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "groundhog" and len(parts) > 1 and parts[1] in LAYER:
                found.add(parts[1])
    return found


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for package in (*PACKAGES, "cli"):
        files = [ROOT / "cli.py"] if package == "cli" else sorted((ROOT / package).rglob("*.py"))
        graph[package] = set().union(*(_imports(f) for f in files)) - {package}
    return graph


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{src} imports {dst}" for src, deps in _package_graph().items() for dst in deps if LAYER[dst] > LAYER[src]
    ]
    assert upward == []


def test_no_import_cycle_between_packages() -> None:
    graph = _package_graph()
    for src, deps in graph.items():
        for dst in deps:
            assert src not in graph[dst], f"{src} and {dst} import each other"


def test_no_module_is_over_400_lines() -> None:
    sizes = {
        str(f.relative_to(ROOT)): len(f.read_text(encoding="utf-8").splitlines())
        for package in PACKAGES
        for f in (ROOT / package).rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 420} == {}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the checkout: setuptools reuses a `build/` folder, whose stale files would
    otherwise end up in the wheel (and the checkout stays untouched)."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "groundhog"
    skip = shutil.ignore_patterns(".git", ".venv", "build", "dist", "__pycache__", "*.egg-info", ".groundhog-*")
    shutil.copytree(ROOT, source, ignore=skip)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (found,) = out.glob("groundhog-*.whl")
    return found


def test_the_wheel_holds_one_top_level_package_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"groundhog", next(t for t in top if t.endswith(".dist-info"))}
    assert "groundhog/__init__.py" in names and "groundhog/cli.py" in names
    for package in PACKAGES:
        assert f"groundhog/{package}/__init__.py" in names
    unshipped = ("groundhog/tests/", "groundhog/testkit/", "groundhog/bench/", "groundhog/scripts/")
    assert not any(n.startswith(unshipped) for n in names)
    assert not any(n.endswith(("pyproject.toml", "README.md")) for n in names)
    personas = [n for n in names if n.startswith("groundhog/researchers/builtin/") and n.endswith(".toml")]
    assert len(personas) == len(list((ROOT / "researchers" / "builtin").glob("*.toml"))) >= 6
    corpus = [n for n in names if n.startswith("groundhog/researchers/builtin/corpus/")]
    assert len(corpus) == len([f for f in (ROOT / "researchers" / "builtin" / "corpus").rglob("*") if f.is_file()])
    assert "groundhog/researchers/prompts.toml" in names
    data = {n for n in names if n.startswith("groundhog/critique/data/")}
    assert {f"groundhog/critique/data/{f.name}" for f in (ROOT / "critique" / "data").glob("*.toml")} <= data
    migrations = ROOT / "store" / "migrations"
    shipped = {"env.py", "script.py.mako", *(f"versions/{f.name}" for f in (migrations / "versions").glob("0*.py"))}
    assert {f"groundhog/store/migrations/{name}" for name in shipped} <= set(names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "groundhog = groundhog.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
