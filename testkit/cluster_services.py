"""Real services for the cluster tests and the cluster benchmark, started here: a `chroma run` server on a
free port (waited for by its heartbeat), a local Ray cluster of worker nodes on this machine, and the
lookup of the process behind a TCP client (to kill a Ray worker in the middle of its request)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_executable() -> Path:
    """The `chroma` CLI installed with chromadb, beside this Python. Missing is a broken install, not a
    reason to skip: the cluster tests exist to run against the real server."""
    path = Path(sys.executable).parent / "chroma"
    if not path.exists():
        raise RuntimeError(f"no `chroma` CLI beside {sys.executable}: chromadb is not installed in this environment")
    return path


class ChromaServer:
    """`chroma run --path PATH --port PORT` in a subprocess, for as long as the `with` block lasts."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = path.parent / f"chroma-{self.port}.log"

    def __enter__(self) -> ChromaServer:
        import httpx

        self.path.mkdir(parents=True, exist_ok=True)
        cmd = [str(chroma_executable()), "run", "--path", str(self.path), "--host", "127.0.0.1"]
        with self._log.open("wb") as log:
            self.proc = subprocess.Popen([*cmd, "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"chroma run answered no heartbeat within {STARTUP_TIMEOUT_S:.0f} s: {self.log_tail()}")

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self._log.read_text(errors="replace")[-2000:]
        return ""

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def ray_cluster(workers: int = 2, cpus_per_worker: float = 1) -> Iterator[Any]:
    """A Ray cluster on this machine: a head node that runs no task (0 CPUs) and `workers` worker nodes,
    each its own raylet with its own worker processes. Yields `ray.cluster_utils.Cluster`; its
    `address` is what `--ray` takes."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        for _ in range(workers):
            cluster.add_node(num_cpus=cpus_per_worker)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the TCP socket from `local_port` to `remote_port` on this machine (IPv4 or IPv6)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == local_port and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                    return inode
    return None


def pid_of_client(client_port: int, server_port: int) -> int | None:
    """The process holding the client end of a TCP connection to `server_port` (Linux /proc)."""
    inode = _socket_inode(client_port, server_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(fd.path) == target:
                        return int(entry.name)
    return None


def parent_of(pid: int) -> int:
    """The parent process (a Ray worker's is its node's raylet); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether `pid` is `ancestor` or one of its descendants (so a test kills only what it started)."""
    while pid > 1:
        if pid == ancestor:
            return True
        pid = parent_of(pid)
    return False
