"""The terminal `groundhog review` on a real terminal (a pseudo-terminal): single keys, no Enter."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web_support import fill, state

ROOT = Path(__file__).resolve().parents[1]
PROMPT = b"[a/r/d/n/s/p/q] > "
# The CLI, with the deterministic embedder the session was written with (run from the root: testkit).
CLI = (
    "import groundhog.memory.embeddings as e; from testkit.fakes import HashEmbedder; "
    "e.build_embedder = lambda settings: HashEmbedder(); from groundhog import cli; cli.main()"
)


class Terminal:
    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CLI, *args], cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave
        )
        os.close(slave)
        self.seen = b""

    def until(self, marker: bytes, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.seen.count(marker) < count:
            assert time.monotonic() < deadline, f"no {marker!r} in {self.seen[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the other end closed
                    assert self.seen.count(marker) >= count, self.seen[-2000:]

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_single_keys_on_a_terminal(isolated_home: Path) -> None:
    fill(isolated_home)
    ids = [r["id"] for r in state(isolated_home)[0]]
    term = Terminal("review", "--home", str(isolated_home), env={**os.environ, "COLUMNS": "100"})
    try:
        term.until(PROMPT)
        term.type(b"a")  # no Enter
        term.until(PROMPT, 2)
        term.type(b"n")
        term.until(b"note (Enter to clear) > ")
        term.type(b"too vague\n")  # a note is a line
        term.until(PROMPT, 3)
        term.type(b"r")
        term.until(PROMPT, 4)
        term.type(b"sq")  # typed ahead: still one key at a time
        term.until(b"Saved:")
    finally:
        assert term.close() == 0
    rows = {r["id"]: r for r in state(isolated_home)[0]}
    assert rows[ids[0]]["status"] == "accepted"
    assert (rows[ids[1]]["status"], rows[ids[1]]["note"]) == ("rejected", "too vague")
    assert [rows[i]["status"] for i in ids[2:]] == ["pending", "pending"]
    assert b"Skipped 1. 1 not reached" in term.seen
