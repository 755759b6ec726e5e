"""The guard between a night and the `chroma run` server it owns: the server ends when the night does,
even when the night is killed with SIGKILL.

The night holds the only write end of this process's stdin. The guard starts the server, says its pid
on stdout, and then waits for two things: end-of-file on stdin (the night closed it, or died, and the
kernel closed it) ends the server, gently first; the server's own end is reported on stdout as
`exit CODE` (a negative code is the signal that ended it). The server dies with the guard too (the
kernel's parent-death signal, set by this single-threaded process before the server runs).

One server at a time on a store: the guard takes an exclusive lock on LOCK_FILE before it starts the
server, and the server inherits it, so the lock is free only once both have ended (a night resumed
right after a SIGKILL waits here for the last night's server to finish stopping). Standard library
only: it starts in a fraction of a second and needs nothing from the night.

usage: python -m groundhog.memory.chroma_guard LOCK_FILE SERVER_COMMAND ARG...
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1  # prctl(2)
STOP_TIMEOUT_S = 20.0  # the server's requests in flight finish, then it is killed
LOCK_TIMEOUT_S = 60.0  # an earlier server on the store: its stop, and its kill after STOP_TIMEOUT_S


def _lock(path: str) -> int | None:
    """The lock file's descriptor, held exclusively; None when another holds it past LOCK_TIMEOUT_S."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


def _die_with_guard(libc: Any, guard: int) -> Any:
    def preexec() -> None:  # runs in the forked child, before exec: async-signal-safe calls only
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != guard:  # the guard died before prctl took effect
            os._exit(1)

    return preexec


def _stopper(server: subprocess.Popen[bytes], ended: threading.Event) -> Any:
    def stop() -> None:  # never Popen.wait here: the main thread is in it
        if not ended.is_set():
            server.terminate()
        if not ended.wait(STOP_TIMEOUT_S):
            server.kill()

    return stop


def _watch(stop: Any) -> None:
    while os.read(0, 4096):  # nothing is ever written: only end-of-file matters (unbuffered: no lock)
        pass
    stop()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the night decides when its store ends
    lock_file, argv = argv[0], argv[1:]
    lock = _lock(lock_file)
    if lock is None:
        print(f"error an earlier server still serves the store after {LOCK_TIMEOUT_S:.0f} s ({lock_file})", flush=True)
        return 1
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    try:
        server = subprocess.Popen(
            argv,
            pass_fds=(lock,),  # the lock lives as long as the server does, should this guard die first
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # a banner; this stdout is the night's: "pid" and "exit" only
            env={"RUST_LOG": "warn", **os.environ},  # not a log line per request: warnings and errors
            preexec_fn=_die_with_guard(libc, os.getpid()),
        )
    except OSError as exc:
        print(f"error cannot start {argv[0]}: {exc}", flush=True)
        return 1
    ended = threading.Event()
    stop = _stopper(server, ended)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop, daemon=True).start())
    print(f"pid {server.pid}", flush=True)
    threading.Thread(target=_watch, args=(stop,), daemon=True).start()
    code = server.wait()
    ended.set()
    print(f"exit {code}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
