"""The code a benchmark measures: the current tree, and optionally an earlier release checked out in a
temporary `git worktree`. Each side is a folder holding a `groundhog` symlink to its tree, for a child's
PYTHONPATH, since the repository's root is the package itself."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Side:
    name: str  # "previous" or "current"
    ref: str  # the commit measured, or "working tree"
    path: Path  # a folder whose `groundhog` entry is the tree: the child's PYTHONPATH


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def sides(root: Path, baseline: str | None) -> Iterator[list[Side]]:
    """[current], or [previous, current] with `baseline` (a commit-ish) in a worktree removed after."""
    with tempfile.TemporaryDirectory(prefix="groundhog-bench-") as tmp:
        base = Path(tmp)
        (base / "current").mkdir()
        (base / "current" / "groundhog").symlink_to(root)
        current = Side("current", "working tree", base / "current")
        if not baseline:
            yield [current]
            return
        commit = _git(root, "rev-parse", "--verify", f"{baseline}^{{commit}}")
        tree = base / "tree"
        _git(root, "worktree", "add", "--detach", str(tree), commit)
        try:
            (base / "previous").mkdir()
            (base / "previous" / "groundhog").symlink_to(tree)
            yield [Side("previous", commit[:7], base / "previous"), current]
        finally:
            _git(root, "worktree", "remove", "--force", str(tree))
