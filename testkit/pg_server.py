"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster in a temporary
directory on a free port, `trust` auth on 127.0.0.1, started and stopped by the tests themselves.

`initdb` refuses to run as root, so as root the cluster belongs to the `postgres` user (runuser).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb, or the directory of initdb on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).resolve().parent if which else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="groundhog-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.sock.mkdir()
        if self.as_root:
            os.chmod(self.root, 0o777)
            shutil.chown(self.sock, "postgres")
        self._cmd(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        # `pwuser` must give its password (the wrong-password test); everyone else is trusted.
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all pwuser 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"
        )
        self._databases = 0
        self._started = False

    def _cmd(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_root:
            full = ["runuser", "-u", "postgres", "--", *full]
        return subprocess.run(full, check=True, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._cmd(["pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start"])
        if not self._started:
            import psycopg

            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute("CREATE ROLE pwuser LOGIN PASSWORD 'right'")
            self._started = True

    def stop(self, mode: str = "fast") -> None:
        self._cmd(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self) -> None:
        self.stop("immediate")
        self.start()

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"t{os.getpid()}_{self._databases}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def cleanup(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


_SERVER: list[PgServer] = []


def shared_server() -> PgServer:
    """The test run's one server (started on first use, stopped at exit), or a loud skip when this
    machine has no PostgreSQL binaries (Debian's `postgresql` package; .ci/run installs it)."""
    import atexit

    import pytest

    if not _SERVER:
        bindir = pg_bindir()
        if bindir is None:
            pytest.skip("PostgreSQL is not installed (no initdb): apt-get install postgresql to run these tests")
        server = PgServer(bindir)
        server.start()
        atexit.register(server.cleanup)
        _SERVER.append(server)
    return _SERVER[0]
