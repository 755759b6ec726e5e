"""The page's guard: only the expected Host headers are served (no DNS rebinding), and every response
carries the security headers (a Content-Security-Policy that allows only the page's own script)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _host_of(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8765
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """Serve only the expected Host headers (no DNS rebinding) and add the security headers."""

    def __init__(self, app: Any, allowed_hosts: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed_hosts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if self.allowed is not None and _host_of(host) not in self.allowed:
            response = Response("unexpected Host header\n", status_code=421, media_type="text/plain")
            await response(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def allowed_hosts_for(host: str) -> frozenset[str] | None:
    """Loopback names always; a specific other address too; None (any) when bound to every interface."""
    if host in ("0.0.0.0", "::", ""):
        return None
    return LOOPBACK | {_host_of(host)}
