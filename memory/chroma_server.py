"""A Chroma server as the log: the one `chroma_url` names, or `chroma run` on the home's store, started
by a night that runs several personas at once (`chroma_process`).

Chroma's embedded client holds the interpreter lock for the whole of every write (10 to 70 ms for the
upsert of the days that finished together), and the event loop and every other persona stand still
while it runs. Chroma's own server, on the same folder, does that work in another process; this one
waits on a socket, without the lock. The data on disk is the same: a store written by the embedded
client opens in the server, and the other way round.

Either way the server is asked for a heartbeat before any work starts: a night must not begin against
a log it cannot write.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from groundhog.core.errors import BadInput, StoreError

HEARTBEAT_PATH = "/api/v2/heartbeat"
HEARTBEAT_TIMEOUT_S = 5.0
HINT = "start one with `chroma run --path DIR --port 8000`, or unset chroma_url for the embedded store"
START_TIMEOUT_S = 120.0  # importing chromadb and opening a large store, on a loaded machine
CLOSE_TIMEOUT_S = 30.0  # the guard gives the server 20 s to finish its requests in flight
GONE_WAIT_S = 5.0  # after a failed request: how long to wait for the guard to say the server ended
PORT_TRIES = 3  # the free port found may be taken before the server listens on it
T = TypeVar("T")


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of a `chroma_url`; BadInput naming the setting when it is not such a URL."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadInput(f"chroma_url: '{url}' is not a Chroma server URL (expected http://HOST:PORT)")
    if parsed.path not in ("", "/") or parsed.query:
        raise BadInput(f"chroma_url: '{url}' has a path; give the server's root, e.g. http://HOST:PORT")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    except ValueError as exc:
        raise BadInput(f"chroma_url: '{url}': {exc}") from exc
    return parsed.hostname, port, parsed.scheme == "https"


def check_chroma_server(url: str, *, timeout_s: float = HEARTBEAT_TIMEOUT_S) -> str:
    """Ask the server for a heartbeat. Returns a short description; BadInput (exit 2) naming `chroma_url`
    when nothing answers, or something that is not a Chroma server (1.0 or newer) does."""
    import httpx

    host, port, ssl = parse_chroma_url(url)
    root = f"{'https' if ssl else 'http'}://{host}:{port}"
    try:
        reply = httpx.get(root + HEARTBEAT_PATH, timeout=timeout_s)
    except httpx.HTTPError as exc:
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise BadInput(f"chroma_url: no Chroma server answers at {url} ({why}); {HINT}") from exc
    if reply.status_code != 200 or "heartbeat" not in reply.text:
        raise BadInput(
            f"chroma_url: {url} answered HTTP {reply.status_code} to {HEARTBEAT_PATH}: "
            "it is not a Chroma server (1.0 or newer)"
        )
    return f"Chroma server at {root}"


def http_client(url: str, settings: Any) -> Any:
    """A Chroma `HttpClient` for a server that has just answered its heartbeat."""
    import chromadb

    check_chroma_server(url)
    host, port, ssl = parse_chroma_url(url)
    try:
        return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
    except Exception as exc:  # the server answered the heartbeat but refuses the client (auth, tenant)
        why = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise BadInput(f"chroma_url: the Chroma server at {url} refused the client: {why}") from exc


# -- a server of the night's own ---------------------------------------------------------------------


# Chroma's `chroma` command is a Python script that imports the whole Python client (about a second of
# CPU, beside a night starting on the same cores) only to hand its arguments to the server's own entry
# point, `cli` of `chromadb_rust_bindings`, which ships in the same wheel. The night's server is started
# through that entry point directly: the same server, the same arguments, 50 ms of imports.
SERVE = "import sys, chromadb_rust_bindings; chromadb_rust_bindings.cli(['chroma', *sys.argv[1:]])"


def chroma_command() -> list[str]:
    """The command that runs `chroma ARG...` with the chromadb this interpreter imports (so the server
    and the client agree on the store's format)."""
    import importlib.util

    if importlib.util.find_spec("chromadb_rust_bindings") is None:
        raise StoreError(
            f"the Chroma server (chromadb_rust_bindings, part of the chromadb package) is not installed for "
            f'{sys.executable}: reinstall chromadb, or set chroma_process = "off"'
        )
    return [sys.executable, "-c", SERVE]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaRun:
    """`chroma run --path PATH` on a free loopback port, owned by this process.

    Started at once; `client()` waits for its heartbeat. Between the two sits a guard process
    (memory/chroma_guard.py) in a session of its own: the terminal's Ctrl-C is for the night, whose
    first one lets the day in progress finish its writes; and the server ends when this process closes
    the guard's stdin or dies, SIGKILL included. A server that ends before `close()` fails every call in
    flight and every later one with one line naming it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_file = path.with_name(f"{path.name}.server.lock")  # one server at a time on the store
        self._closed = False
        self._failure: StoreError | None = None
        self._calls = threading.Condition()
        self._in_flight = 0
        self._start()

    def _start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid: int | None = None  # the server's, once the guard has said it
        self._exit: str | None = None  # the guard's last word: "exit CODE", "error ...", or None
        self._ended = threading.Event()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 -- the server's stderr, quoted if it fails
        guard = [sys.executable, "-m", "groundhog.memory.chroma_guard", str(self.lock_file)]
        run = [*chroma_command(), "run", "--path", str(self.path), "--host", "127.0.0.1"]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._guard = subprocess.Popen(
                [*guard, *run, "--port", str(self.port)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                start_new_session=True,  # the terminal's signals are for the night, not for its store
            )
        except OSError as exc:
            self._log.close()
            raise StoreError(f"cannot start the vector store server for {self.path}: {exc}") from exc
        threading.Thread(target=self._read, args=(self._guard, self._ended), name="chroma-guard", daemon=True).start()

    def _read(self, guard: subprocess.Popen[bytes], ended: threading.Event) -> None:
        assert guard.stdout is not None
        for raw in guard.stdout:
            word, _, value = raw.decode(errors="replace").strip().partition(" ")
            if word == "pid":
                self.pid = int(value)
            else:
                self._exit = f"{word} {value}"
        ended.set()

    # -- starting ------------------------------------------------------------------------------------

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until the server answers its heartbeat; a StoreError naming it, with its last words, when it
        ends first or does not answer within `timeout_s`. A port taken in the meantime: another one."""
        import httpx

        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=1.0) as http:
            for attempt in range(PORT_TRIES):
                while not self._ended.is_set():
                    with contextlib.suppress(httpx.HTTPError):
                        if http.get(self.url + HEARTBEAT_PATH).status_code == 200:
                            return
                    if time.monotonic() >= deadline:
                        why = f"{self.describe()} answered no heartbeat within {timeout_s:.0f} s{self._tail()}"
                        self.close()
                        raise StoreError(why)
                    self._ended.wait(0.05)
                if attempt == PORT_TRIES - 1 or "is not available" not in self._tail():  # a port in use
                    break
                self._guard.wait()
                self._log.close()
                self._start()
        raise self._gone()

    def client(self, settings: Any, timeout_s: float = START_TIMEOUT_S) -> ServedClient:
        """A Chroma `HttpClient` on the server, once it answers; its calls fail with the server's line
        once it has ended."""
        import chromadb

        self.wait_ready(timeout_s)
        return ServedClient(self.call(chromadb.HttpClient, host="127.0.0.1", port=self.port, settings=settings), self)

    def describe(self) -> str:
        pid = f", pid {self.pid}" if self.pid else ""
        return f"the vector store server for {self.path} (chroma run on port {self.port}{pid})"

    # -- calls ---------------------------------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn` on the server; when it fails because the server has ended, the StoreError that says so."""
        with self._calls:
            if self._failure is not None:
                raise self._failure
            self._in_flight += 1
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            import httpx

            if self._ended.wait(GONE_WAIT_S if isinstance(exc, httpx.TransportError) else 0):
                raise self._gone() from exc
            raise
        finally:
            with self._calls:
                self._in_flight -= 1
                self._calls.notify_all()

    @property
    def in_flight(self) -> int:
        """Calls on their way to the server or back."""
        return self._in_flight

    def _gone(self) -> StoreError:
        with self._calls:
            if self._failure is None:
                self._failure = StoreError(f"{self.describe()} ended ({self._why()}){self._tail()}")
            return self._failure

    def _why(self) -> str:
        word, _, value = (self._exit or "").partition(" ")
        if word == "exit" and value.lstrip("-").isdigit():
            code = int(value)
            if code < 0:
                with contextlib.suppress(ValueError):
                    return f"killed by {signal.Signals(-code).name}"
            return f"exit code {code}"
        return value if word == "error" else "its guard process ended"

    def _tail(self) -> str:
        """The last line the server wrote to stderr (its panic, or why it could not listen)."""
        with contextlib.suppress(OSError, ValueError):  # pread: the file's offset is shared with the server
            fd = self._log.fileno()
            size = os.fstat(fd).st_size
            lines = os.pread(fd, 4096, max(0, size - 4096)).decode(errors="replace").splitlines()
            last = next((" ".join(line.split()) for line in reversed(lines) if line.strip()), "")
            return f": {last[-300:]}" if last else ""
        return ""

    # -- ending --------------------------------------------------------------------------------------

    def close(self) -> None:
        """Let the calls in flight finish (later ones fail), then end the server and wait for it. Safe
        to call twice."""
        with self._calls:
            if self._closed:
                return
            self._closed = True
            if self._failure is None:
                self._failure = StoreError(f"{self.describe()} is closed")
            self._calls.wait_for(lambda: self._in_flight == 0, timeout=CLOSE_TIMEOUT_S)
        assert self._guard.stdin is not None
        with contextlib.suppress(OSError):
            self._guard.stdin.close()  # end-of-file: the guard stops the server, then exits
        try:
            self._guard.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._guard.kill()  # the server gets its parent-death signal
            self._guard.wait()
        self._ended.wait(5)
        self._log.close()


class ServedClient:
    """The part of Chroma's client API `LogStore` uses, on a server this process owns: each call's
    failure, once the server has ended, is the server's one line."""

    def __init__(self, client: Any, server: ChromaRun) -> None:
        self._client = client
        self._server = server

    def get_or_create_collection(self, name: str, **kwargs: Any) -> ServedCollection:
        collection = self._server.call(self._client.get_or_create_collection, name=name, **kwargs)
        return ServedCollection(collection, self._server)


class ServedCollection:
    """A Chroma collection on a server this process owns: `upsert`, `get`, `query`, `delete`, `count`."""

    def __init__(self, collection: Any, server: ChromaRun) -> None:
        self._collection = collection
        self._server = server
        self.name: str = collection.name
        self.metadata: dict[str, Any] | None = collection.metadata

    def upsert(self, **kwargs: Any) -> None:
        self._server.call(self._collection.upsert, **kwargs)

    def get(self, **kwargs: Any) -> Any:
        return self._server.call(self._collection.get, **kwargs)

    def query(self, **kwargs: Any) -> Any:
        return self._server.call(self._collection.query, **kwargs)

    def delete(self, **kwargs: Any) -> None:
        self._server.call(self._collection.delete, **kwargs)

    def count(self) -> int:
        return int(self._server.call(self._collection.count))
