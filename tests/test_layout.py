"""The shape of the installed package: one import package, data files shipped, imports pointing one way."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The rooms, layer by layer, bottom first. Imports point down only; two rooms of one layer import each
# other only where SIDEWAYS says so, and then one way.
#   cli -> commands -> cluster web terminal -> loop -> compose -> rank tune
#       -> researchers critique review library -> memory store providers -> core
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("memory", "store", "providers"),
    ("researchers", "critique", "review", "library"),
    ("rank", "tune"),
    ("compose",),
    ("loop",),
    ("cluster", "web", "terminal"),
    ("commands",),
    ("cli",),
)
LAYER = {room: n for n, rooms in enumerate(LAYERS) for room in rooms}
PACKAGES = tuple(room for room in LAYER if room != "cli")
SIDEWAYS = {
    ("critique", "researchers"),  # the critic speaks in a persona's voice, with the personas' prompts
    ("researchers", "library"),  # a persona's writings are read and cut as the library's papers are
    ("review", "critique"),  # feedback entries are written in the critique's log shape
    ("memory", "providers"),  # endpoint embeddings go through the one retry policy of model calls
}
MAX_LINES = 400


def _imports(path: Path) -> set[str]:
    """The groundhog rooms a module imports, at any depth of the file (lazy and type-only imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "groundhog" and len(parts) > 1:
                assert parts[1] in LAYER, f"{path.relative_to(ROOT)} imports groundhog.{parts[1]}, not a room"
                found.add(parts[1])
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for room in LAYER:
        files = [ROOT / "cli.py"] if room == "cli" else sorted((ROOT / room).rglob("*.py"))
        graph[room] = set().union(*(_imports(f) for f in files)) - {room}
    return graph


def test_every_folder_of_the_package_is_a_room_with_a_layer() -> None:
    shipped = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    rooms = {name.split(".")[1] for name in shipped if name.count(".") >= 1}
    assert rooms == set(PACKAGES)


def test_imports_point_down_the_layers() -> None:
    upward = [f"{src} imports {dst}" for src, deps in _graph().items() for dst in deps if LAYER[dst] > LAYER[src]]
    assert upward == []


def test_rooms_of_one_layer_import_each_other_only_where_declared() -> None:
    sideways = {(src, dst) for src, deps in _graph().items() for dst in deps if LAYER[dst] == LAYER[src]}
    assert sideways - SIDEWAYS == set(), "undeclared imports within a layer"
    assert all((dst, src) not in SIDEWAYS for src, dst in SIDEWAYS), "a declared pair may point one way only"


def test_the_layers_themselves_are_real() -> None:
    """Each layer above core uses the one below it: no room floats where its imports do not put it."""
    graph = _graph()
    floating = [r for r in PACKAGES if LAYER[r] > 0 and not graph[r]]
    assert floating == []


def test_no_module_is_over_400_lines() -> None:
    files = [ROOT / "cli.py", ROOT / "__init__.py", *(f for room in PACKAGES for f in (ROOT / room).rglob("*.py"))]
    sizes = {str(f.relative_to(ROOT)): len(f.read_text(encoding="utf-8").splitlines()) for f in files}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


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
    critique_data = ROOT / "critique" / "data"
    shipped_data = [*critique_data.glob("*.toml"), *critique_data.glob("*.npz"), *critique_data.glob("corpus/*.jsonl")]
    assert len(shipped_data) >= 9  # the tables, the banks, the learned screen and the corpus's two splits
    assert {f"groundhog/critique/data/{f.relative_to(critique_data)}" for f in shipped_data} <= data
    library = {f"groundhog/library/data/{f.name}" for f in (ROOT / "library" / "data").iterdir() if f.is_file()}
    assert library and library <= set(names)
    migrations = ROOT / "store" / "migrations"
    shipped = {"env.py", "script.py.mako", *(f"versions/{f.name}" for f in (migrations / "versions").glob("0*.py"))}
    assert {f"groundhog/store/migrations/{name}" for name in shipped} <= set(names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "groundhog = groundhog.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
