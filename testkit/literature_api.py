"""A loopback server speaking the documented response shapes of OpenAlex (`GET /works?search=`, a JSON page
of works with `abstract_inverted_index`) and arXiv (`GET /api/query?search_query=`, an Atom feed), with
scripted faults (429 with Retry-After, 503), for the library's fetch tests. Nothing touches the network."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

WORKS = [
    {
        "title": "Measuring Honesty Under Pressure in Chat Models",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "year": 2025,
        "doi": "10.1234/honesty.2025",
        "arxiv": "2501.01234",
        "abstract": "We build scenarios where a chat model gains by lying and measure how often it does.",
    },
    {
        "title": "Probing Reward Models for Length Bias",
        "authors": ["Grace Hopper"],
        "year": 2024,
        "doi": "10.1234/length.2024",
        "arxiv": "2402.05678",
        "abstract": "Reward models prefer longer answers; we probe where this preference is represented.",
    },
]


def _inverted(text: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for n, word in enumerate(text.split()):
        index.setdefault(word, []).append(n)
    return index


def openalex_page(works: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "meta": {"count": len(works), "db_response_time_ms": 12, "page": 1, "per_page": 25},
        "results": [
            {
                "id": f"https://openalex.org/W{1000 + n}",
                "doi": f"https://doi.org/{w['doi']}",
                "title": w["title"],
                "display_name": w["title"],
                "publication_year": w["year"],
                "authorships": [{"author_position": "first", "author": {"display_name": a}} for a in w["authors"]],
                "abstract_inverted_index": _inverted(w["abstract"]),
                "primary_location": {"landing_page_url": f"https://example.org/w{n}"},
            }
            for n, w in enumerate(works)
        ],
    }


def arxiv_feed(works: list[dict[str, Any]]) -> str:
    entries = "".join(
        f"""<entry><id>http://arxiv.org/abs/{w["arxiv"]}v1</id><updated>{w["year"]}-01-02T00:00:00Z</updated>
<published>{w["year"]}-01-01T00:00:00Z</published><title>{escape(w["title"])}</title>
<summary>{escape(w["abstract"])}</summary>{"".join(f"<author><name>{escape(a)}</name></author>" for a in w["authors"])}
<link href="http://arxiv.org/abs/{w["arxiv"]}v1" rel="alternate" type="text/html"/></entry>"""
        for w in works
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>arXiv Query</title>'
        f"<opensearch:totalResults>{len(works)}</opensearch:totalResults>{entries}</feed>"
    )


class LiteratureAPI:
    """Serves both APIs on 127.0.0.1. `faults` is a list of (status, retry_after) answered first, in order."""

    def __init__(self, works: list[dict[str, Any]] | None = None) -> None:
        self.works = works if works is not None else WORKS
        self.faults: list[tuple[int, str | None]] = []
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api.requests.append(self.path)
                if api.faults:
                    status, after = api.faults.pop(0)
                    self.send_response(status)
                    if after is not None:
                        self.send_header("Retry-After", after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path == "/works" and "search" in query:
                    body, kind = json.dumps(openalex_page(api.works)).encode(), "application/json"
                elif url.path == "/api/query" and "search_query" in query:
                    body, kind = arxiv_feed(api.works).encode(), "application/atom+xml"
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LiteratureAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
