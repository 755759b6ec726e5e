"""`groundhog review --web`: serve the review page (`review.web`) on this machine until Ctrl-C."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import typer

from groundhog.commands.common import services

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warning(host: str) -> str:
    return (
        f"groundhog: warning: --host {host} serves the review page beyond this machine: anyone who can "
        "reach it can read the queue and, with the page open, decide for you. The default, 127.0.0.1, "
        "keeps it local."
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or one line saying why not (a bad host, a port in use)."""
    from groundhog.core.errors import BadInput

    if not 0 <= port <= 65535:
        raise BadInput(f"--port: {port} is not a port (0-65535; 0 picks a free one)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise BadInput(f"--host: cannot listen on '{host}': {exc.strerror or exc}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise BadInput(f"--port: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def url_for(sock: socket.socket, host: str, query: dict[str, str]) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?{urlencode(query)}" if query else "")


@dataclass
class Served:
    """A review page ready to serve: stores open, socket bound. `run` blocks until Ctrl-C or `stop`."""

    url: str
    server: Any  # uvicorn.Server
    sock: socket.socket
    worker: Any  # review.web.Worker

    def run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.sock.close()
            self.worker.shutdown()

    def stop(self) -> None:
        self.server.should_exit = True


def prepare(
    home: Path | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    session: str | None = None,
    persona: str | None = None,
    reviewer: str | None = None,
) -> Served:
    """Open the stores and bind; --session/--persona preset the page's filters; the page's decisions are
    recorded under `reviewer` (default: GROUNDHOG_REVIEWER, else the login name)."""
    from groundhog.core.errors import BadInput
    from groundhog.core.extras import require

    require("web", feature="review --web")
    import uvicorn

    from groundhog.web.app import create_app
    from groundhog.web.guard import allowed_hosts_for

    svc = services(home)
    query = {}
    if session:
        query["session"] = session.strip()
    if persona:
        try:
            query["persona"] = svc.personas.get(persona).id
        except BadInput:
            query["persona"] = persona.strip()  # an unknown name is kept: its persona may be gone
    app = create_app(
        lambda: (svc.queue, svc.log),
        close_stores=svc.close,
        allowed_hosts=allowed_hosts_for(host),
        reviewer=reviewer,
        groups=lambda: {p.id: p.group for p in svc.personas.all()},
    )
    worker = app.state.worker
    try:
        worker.start()  # a locked or corrupt store fails here, before anything is served
        sock = bind(host, port)
    except BaseException:
        worker.shutdown()
        raise
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    return Served(url_for(sock, host, query), server, sock, worker)


def serve(
    home: Path | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    session: str | None = None,
    persona: str | None = None,
    reviewer: str | None = None,
) -> None:
    """`groundhog review --web`: warn off loopback, print the address, serve until Ctrl-C."""
    if not is_loopback(host):
        typer.echo(warning(host), err=True)
    served = prepare(home, host=host, port=port, session=session, persona=persona, reviewer=reviewer)
    who = served.worker.reviewer
    typer.echo(f"Review page: {served.url}  (Ctrl-C to stop; every decision is saved as it is made, as {who})")
    if open_browser:
        import webbrowser

        webbrowser.open(served.url)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down on Ctrl-C, then re-raises it: a normal end
        served.run()
    typer.echo("Review page stopped; every decision made on it is saved.")
