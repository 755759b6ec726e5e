"""No module of the package reaches into a library's private names.

A name that starts with `_` is the library's to change in any release: code built on one breaks on an
upgrade with no deprecation. Every module of the package is parsed and checked for imports of private
modules or names (`from openai._x import y`, `from atexit import _run_exitfuncs`), attribute chains
through a private name on anything imported from those libraries (`openai._base_client`,
`ChatOpenAI._get_request_payload`), `self._x` in a subclass of a library class where `_x` is not the
subclass's own, `super()._x`, and `getattr(x, "_y")` on a library object; and, as text, the private
names this package once used. Dunder names (`__version__`) are public.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("openai", "langchain", "chromadb", "atexit", "sqlalchemy", "alembic", "ray", "psycopg")
NOT_PACKAGE = {"tests", "bench", "scripts", "docs", "build", "dist"}
# As text, anywhere in the package: what it once used, and the exit that skips the interpreter's teardown.
TEXT = ("._make_", "._get_request_payload", "._create_chat_result", "._handle_openai", "._run_exitfuncs", "os._exit")
# Findings outside this check's first scope, each with its reason; (module path, name) pairs.
ALLOWED = {
    # a second Ctrl-C stops a night at once: a model call holding its thread in llama.cpp is not waited for
    ("loop/babble.py", "os._exit"),
    # the only safe exit of a forked child before its exec (the store server's guard, in preexec_fn)
    ("memory/chroma_guard.py", "os._exit"),
}


def guarded(module: str) -> bool:
    root = module.split(".")[0]
    return root in LIBRARIES or root.startswith("langchain_")


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def package_modules() -> list[Path]:
    """Every module of the installed package: the repository root is the package (see pyproject)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in NOT_PACKAGE or any(p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        found.append(path)
    return found


def _path(node: ast.expr) -> tuple[ast.expr, list[str]]:
    """Where an expression starts and the attribute names on the way, through calls and subscripts:
    `a.b().c[0].d` -> (a, [b, c, d]); what a library's object returns is taken to be the library's."""
    names: list[str] = []
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            node = node.value
    return node, names[::-1]


class Checker(ast.NodeVisitor):
    """Collects `line: what` for each private name reached in a library."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.bound: set[str] = set()  # local names bound to a library's module or object
        self.classes: list[set[str] | None] = []  # for each enclosing class: its own names, if it extends a library's

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{getattr(node, 'lineno', '?')}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not guarded(alias.name):
                continue
            if any(private(part) for part in alias.name.split(".")):
                self.flag(node, f"import {alias.name}")
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.module or node.level or not guarded(node.module):
            return
        if any(private(part) for part in node.module.split(".")):
            self.flag(node, f"from {node.module} import ...")
        for alias in node.names:
            if private(alias.name):
                self.flag(node, f"from {node.module} import {alias.name}")
            self.bound.add(alias.asname or alias.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        extends = any(isinstance(r := _path(b)[0], ast.Name) and r.id in self.bound for b in node.bases)
        self.classes.append(_own_names(node) if extends else None)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        root, names = _path(node)
        if (isinstance(root, ast.Name) and root.id in self.bound and any(private(n) for n in names)) or (
            isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "super" and private(node.attr)
        ):
            self.flag(node, ast.unparse(node))
        elif isinstance(node.value, ast.Name) and node.value.id == "self" and private(node.attr):
            own = next((c for c in reversed(self.classes) if c is not None), None)
            if own is not None and node.attr not in own:
                self.flag(node, f"{ast.unparse(node)} (not defined by the subclass)")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) > 1:
            target, name = node.args[0], node.args[1]
            root = _path(target)[0]
            if (
                isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and private(name.value)
                and isinstance(root, ast.Name)
                and root.id in self.bound
            ):
                self.flag(node, ast.unparse(node))
        self.generic_visit(node)


def _own_names(cls: ast.ClassDef) -> set[str]:
    """What a class defines itself: methods, class attributes, and `self.x = ...` anywhere in it."""
    own: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            own.add(node.name)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                own.add(target.id)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                own.add(target.attr)
    return own


def findings(source: str) -> list[str]:
    checker = Checker()
    checker.visit(ast.parse(source))
    lines = source.splitlines()
    checker.found += [f"{i}: {text}" for i, line in enumerate(lines, 1) for text in TEXT if text in line]
    return sorted(set(checker.found), key=lambda f: int(f.split(":")[0]))


def _violations() -> Iterator[str]:
    for path in package_modules():
        name = path.relative_to(ROOT).as_posix()
        for found in findings(path.read_text(encoding="utf-8")):
            if not any(name == where and what in found for where, what in ALLOWED):
                yield f"{name}:{found}"


def test_no_module_uses_a_private_name_of_a_library() -> None:
    assert list(_violations()) == []


def test_the_package_modules_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in package_modules()}
    assert {"cli.py", "providers/endpoint.py", "providers/retry.py"} <= names
    assert not any(n.startswith(("tests/", "bench/", ".venv/")) for n in names)


@pytest.mark.parametrize(
    "source",
    [
        "from openai._exceptions import APIError",
        "import openai._base_client",
        "from langchain_openai.chat_models.base import _handle_openai_api_error",
        "from atexit import _run_exitfuncs",
        "import atexit\natexit._run_exitfuncs()",
        "import openai as oa\noa.OpenAI()._client",
        "from chromadb.api import models\nmodels._x.y",
        "import sqlalchemy\nx = sqlalchemy.engine._private",
        "from ray import util\ngetattr(util, '_secret')",
        "from langchain_openai import ChatOpenAI\nclass C(ChatOpenAI):\n    def f(self):\n        return self._get_x()",
        "from langchain_openai import ChatOpenAI\nclass C(ChatOpenAI):\n    def f(self):\n        super()._agenerate()",
        "import os\nos._exit(0)",
    ],
)
def test_the_check_finds_private_names(source: str) -> None:
    assert findings(source)


@pytest.mark.parametrize(
    "source",
    [
        "import openai\nopenai.__version__\nopenai.RateLimitError",
        "from langchain_openai import ChatOpenAI\nclass C(ChatOpenAI):\n"
        "    def _generate(self):\n        self._n = 1\n        return self._helper(self._n)\n"
        "    def _helper(self, n):\n        return n",
        "class Mine:\n    def f(self):\n        return self._x",
        "import json\njson._private",  # not a library this checks
        "from . import _local",
    ],
)
def test_the_check_lets_public_use_pass(source: str) -> None:
    assert findings(source) == []
