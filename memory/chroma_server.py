"""A Chroma server as the log (`chroma_url`): the URL checked, the server asked for a heartbeat, then a
client. A URL that is not one, or a server that does not answer, is one line naming the setting (exit 2)
before any work starts: a night must not begin against a log it cannot write."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from groundhog.core.errors import BadInput

HEARTBEAT_PATH = "/api/v2/heartbeat"
HEARTBEAT_TIMEOUT_S = 5.0
HINT = "start one with `chroma run --path DIR --port 8000`, or unset chroma_url for the embedded store"


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
