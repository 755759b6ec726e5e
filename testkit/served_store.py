"""Helpers for the tests of the store on Chroma's own server: which servers run on a store, and whether
a night's days all reached the log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from groundhog.memory.store import LogStore


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until(check: Any, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def servers_on(path: Path) -> list[int]:
    """The pids of the guards and `chroma run` servers open on this store."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in argv and str(path).encode() in argv and alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def assert_every_day_stored(days: list[Any], log: LogStore) -> None:
    for d in days:
        ids = d.summary["entry_ids"]
        assert {e.id for e in log.get_many(ids)} == set(ids)
        assert d.summary["notebook_id"] in ids
