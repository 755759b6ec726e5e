"""Kill a session at random moments (SIGKILL), resume it, and compare with an uninterrupted run."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit import ROOT
from testkit.session_child import killed_then_resumed

CHILD = [sys.executable, "-m", "testkit.session_child"]  # run from the root (cwd=ROOT)


def _run(home: Path, mode: str, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHILD, str(home), mode, str(kill_at)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _last_line(out: str) -> str:
    lines = out.strip().splitlines()
    return lines[-1] if lines else ""


def _snapshot(home: Path) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """The log (id -> persona, kind, day, text, verdict) and the queue (id -> title, status, scores)."""
    from groundhog.memory.store import LogStore, open_chroma
    from groundhog.store.database import open_store
    from groundhog.store.queue import ReviewQueue
    from groundhog.store.sessions import SessionStore
    from testkit.fakes import HashEmbedder

    log = LogStore(open_chroma(home), HashEmbedder())
    entries = {e.id: (e.persona, e.kind, e.day, e.text, e.meta.get("verdict")) for e in log.entries()}
    db = open_store(home, os.environ.get("GROUNDHOG_DATABASE_URL"))  # the child's database
    try:
        queue = {
            q.idea.id: (q.idea.title, q.status, q.critique.scores.model_dump() if q.critique.scores else None)
            for q in ReviewQueue(db).list()
        }
        days = [(d.persona, d.day, d.status) for s in SessionStore(db).all() for d in SessionStore(db).days(s.id)]
        assert days == [(p, d, "done") for p in ("doomimir", "simplicia") for d in range(1, 5)]
    finally:
        db.close()
    return entries, queue


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, tuple], dict[str, tuple]]:
    home = tmp_path_factory.mktemp("reference")
    done = _run(home, "new")
    assert done.returncode == 0 and _last_line(done.stdout).startswith("completed"), done.stderr
    return _snapshot(home)


@pytest.mark.parametrize("kill_at", [1, 3, 6, 8])
def test_kill_between_chroma_upsert_and_sqlite_commit_then_resume(
    tmp_path: Path, reference: tuple[dict, dict], kill_at: int
) -> None:
    home = tmp_path / "home"
    killed_then_resumed(home, kill_at)
    assert _snapshot(home) == reference


@pytest.mark.parametrize("trial", range(6))
def test_sigkill_at_a_random_moment_then_resume(tmp_path: Path, reference: tuple[dict, dict], trial: int) -> None:
    home = tmp_path / "home"
    rng = random.Random(trial)
    proc = subprocess.Popen(
        [*CHILD, str(home), "new"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(rng.uniform(0.5, 6.0))
    proc.kill()
    proc.communicate()
    mode = "resume"
    for _ in range(2):  # a kill before the session row was written leaves nothing to resume (either database)
        done = _run(home, mode)
        if done.returncode == 0:
            break
        mode = "new"
    assert done.returncode == 0 and _last_line(done.stdout).startswith("completed"), done.stderr
    assert _snapshot(home) == reference
