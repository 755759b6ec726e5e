"""The embedded Chroma store in a child process, for a night with several personas at once.

Chroma's embedded client holds the interpreter lock for the whole of every write: an upsert of the
days that finished together takes 10 to 70 ms, and the event loop and every other persona stand still
while it runs (bench/concurrency.py: a 32-persona night on a fast endpoint spends a third of its wall
time there). Here the `PersistentClient` lives in a child process that opens the home's `chroma/`
folder for the night; this process's calls go to it over a socket pair, several at once, and wait
without the lock.

It speaks the part of Chroma's client and collection API that `LogStore` uses, with the same
durability: a call returns once the child's Chroma call has returned. The child ignores the
terminal's Ctrl-C (the night's first one lets the day finish, and its writes with it) and ends when
this process closes it or dies: its socket then reads end-of-file.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from groundhog.core.errors import StoreError

WORKERS = 8  # the child's Chroma calls at once: queries and gets leave its lock while Chroma works
START_TIMEOUT_S = 120.0  # importing chromadb and opening a large store, on a loaded machine
CLOSE_TIMEOUT_S = 30.0  # the writes in flight finish first
_CLIENT = ""  # a call's target: the client itself, or a collection by name


class ChromaProcess:
    """A Chroma client whose `PersistentClient` runs in a child process. Starts at once; the first
    call waits until the child has opened the store (or raises its StoreError)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        ours, theirs = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- kept open for the child: quoted if it dies
        command = [sys.executable, "-m", "groundhog.memory.chroma_process", str(theirs.fileno()), str(path)]
        try:
            self._child = subprocess.Popen(
                command,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                start_new_session=True,  # the terminal's signals are for the night, not for its store
            )
        except OSError as exc:
            ours.close()
            raise StoreError(f"cannot start the vector store process for {path}: {exc}") from exc
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[Any]] = {}
        self._pending_lock = threading.Lock()
        self._failure: StoreError | None = None
        self._ready: Future[None] = Future()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="chroma-process-reader", daemon=True)
        self._reader.start()
        atexit.register(self.close)

    # -- the client API LogStore uses ----------------------------------------------------------------

    def get_or_create_collection(
        self, name: str, embedding_function: Any = None, metadata: dict[str, Any] | None = None
    ) -> RemoteCollection:
        found = self.call(_CLIENT, "open_collection", name, metadata)
        return RemoteCollection(self, name, found)

    @property
    def pid(self) -> int:
        return self._child.pid

    # -- calls ---------------------------------------------------------------------------------------

    def call(self, target: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """One call in the child; its error comes back as a StoreError naming Chroma's."""
        try:
            self._ready.result(timeout=START_TIMEOUT_S)  # the store is open, or its error is raised here
        except FutureTimeout:
            raise StoreError(
                f"the vector store process did not open {self.path} within {START_TIMEOUT_S:.0f} s"
            ) from None
        done: Future[Any] = Future()
        with self._pending_lock:
            if self._failure is not None:
                raise self._failure
            request = next(self._ids)
            self._pending[request] = done
        try:
            with self._send_lock:
                self._conn.send((request, target, method, args, kwargs))
        except (OSError, ValueError) as exc:  # the child is gone: the reader says why
            self._reader.join(timeout=5)
            with self._pending_lock:
                self._pending.pop(request, None)
            raise self._failure or StoreError(f"the vector store process is gone: {exc}") from exc
        return done.result()

    def _read(self) -> None:
        try:
            status, detail = self._conn.recv()
            if status != "ready":
                raise StoreError(str(detail))
            self._ready.set_result(None)
            while True:
                request, ok, value = self._conn.recv()
                with self._pending_lock:
                    done = self._pending.pop(request, None)
                if done is None:
                    continue
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(StoreError(f"the vector store: {value}"))
        except StoreError as exc:
            self._fail(exc)
        except (EOFError, OSError) as exc:
            self._fail(None if self._closed else StoreError(self._gone(exc)))

    def _gone(self, exc: BaseException) -> str:
        try:
            code = self._child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr.seek(0)
        tail = " ".join(self._stderr.read()[-400:].decode(errors="replace").split())
        why = f"exit code {code}" if code is not None else f"{type(exc).__name__}"
        return f"the vector store process for {self.path} ended ({why})" + (f": {tail}" if tail else "")

    def _fail(self, error: StoreError | None) -> None:
        error = error or StoreError(f"the vector store process for {self.path} is closed")
        with self._pending_lock:
            self._failure = error
            pending, self._pending = self._pending, {}
        if not self._ready.done():
            self._ready.set_exception(error)
        for done in pending.values():
            done.set_exception(error)

    def close(self) -> None:
        """Let the writes in flight finish, then end the child. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        with contextlib.suppress(OSError, ValueError), self._send_lock:
            self._conn.send(None)  # the child answers what it has, then exits
        try:
            self._child.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._reader.join(timeout=5)
        self._conn.close()
        self._stderr.close()


class RemoteCollection:
    """A collection in the child: `upsert`, `get`, `query`, `delete`, `count` and `metadata`, as Chroma's."""

    def __init__(self, process: ChromaProcess, name: str, metadata: dict[str, Any] | None) -> None:
        self.name = name
        self.metadata = metadata
        self._process = process

    def upsert(self, **kwargs: Any) -> None:
        self._process.call(self.name, "upsert", **kwargs)

    def get(self, **kwargs: Any) -> Any:
        return self._process.call(self.name, "get", **kwargs)

    def query(self, **kwargs: Any) -> Any:
        return self._process.call(self.name, "query", **kwargs)

    def delete(self, **kwargs: Any) -> None:
        self._process.call(self.name, "delete", **kwargs)

    def count(self) -> int:
        return int(self._process.call(self.name, "count"))


# -- the child -----------------------------------------------------------------------------------------

_METHODS = frozenset({"upsert", "get", "query", "delete", "count"})


def _serve(conn: Connection, path: Path) -> None:
    from groundhog.memory.store import open_persistent

    try:
        client = open_persistent(path)
    except StoreError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", None))
    collections: dict[str, Any] = {}
    send_lock = threading.Lock()

    def answer(request: int, target: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            if target == _CLIENT and method == "open_collection":
                name, metadata = args
                col = client.get_or_create_collection(name=name, embedding_function=None, metadata=metadata)
                collections[name] = col
                reply: tuple[int, bool, Any] = (request, True, col.metadata)
            elif method in _METHODS and target in collections:
                reply = (request, True, getattr(collections[target], method)(*args, **kwargs))
            else:
                reply = (request, False, f"no such call: {target}.{method}")
        except Exception as exc:
            reply = (request, False, f"{type(exc).__name__}: {exc}")
        with send_lock:
            conn.send(reply)

    with ThreadPoolExecutor(WORKERS, thread_name_prefix="chroma") as pool:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the night's process is gone
                break
            if message is None:  # close: the calls in flight are answered, then the pool ends
                break
            pool.submit(answer, *message)


def main(argv: list[str]) -> int:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the night ends
    fd, path = int(argv[0]), Path(argv[1])
    conn = Connection(fd)
    try:
        _serve(conn, path)
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
