"""Optional online sources: OpenAlex and arXiv search, through their public APIs.

Each answer is cached in the home (the same query is asked once), requests keep a polite interval between
them (arXiv asks for one every 3 seconds), and faults go through the one retry policy (tenacity; 429 and
5xx retried, Retry-After honoured). Every request has a timeout: offline is one clear line, never a hang.
"""

from __future__ import annotations

import hashlib
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from groundhog.core.errors import GroundhogError
from groundhog.library.papers import Paper, make_paper
from groundhog.library.sources import BadFile, from_record
from groundhog.providers.retry import RetryPolicy, call_with_retries

OPENALEX_URL = "https://api.openalex.org"
ARXIV_URL = "https://export.arxiv.org"
INTERVAL_S = {"openalex": 0.2, "arxiv": 3.0}
TIMEOUT_S = 20.0
POLICY = RetryPolicy(attempts=4, initial_s=1.0, max_wait_s=20.0, retry_after_cap_s=60.0)
_ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class Fetched:
    papers: list[Paper]
    cached: bool
    skipped: list[str]  # records that could not be read, one line each


class Fetcher:
    """Searches one source; `cache_dir` is the home's, `base_url` a mirror (or a test's loopback server)."""

    def __init__(self, source: str, cache_dir: Path, base_url: str | None = None, interval_s: float | None = None):
        if source not in INTERVAL_S:
            raise ValueError(f"unknown source {source}")
        self.source = source
        self.cache_dir = cache_dir
        self.base_url = (base_url or (OPENALEX_URL if source == "openalex" else ARXIV_URL)).rstrip("/")
        self.interval_s = INTERVAL_S[source] if interval_s is None else interval_s

    def _cache_file(self, query: str, limit: int) -> Path:
        key = hashlib.sha256(f"{self.base_url}\x1f{query}\x1f{limit}".encode()).hexdigest()[:20]
        return self.cache_dir / f"{self.source}-{key}.txt"

    def _polite(self) -> None:
        """Wait out the interval since this home's last request to the source (a stamp file)."""
        stamp = self.cache_dir / f".{self.source}-last"
        try:
            last = float(stamp.read_text())
        except (OSError, ValueError):
            last = 0.0
        wait = last + self.interval_s - time.time()
        if wait > 0:
            time.sleep(min(wait, self.interval_s))
        stamp.write_text(str(time.time()))

    def _get(self, query: str, limit: int) -> str:
        import httpx

        if self.source == "openalex":
            url, params = f"{self.base_url}/works", {"search": query, "per-page": str(limit)}
        else:
            url, params = f"{self.base_url}/api/query", {"search_query": f"all:{query}", "max_results": str(limit)}

        def once() -> str:
            self._polite()
            response = httpx.get(url, params=params, timeout=TIMEOUT_S, follow_redirects=True)
            response.raise_for_status()
            return response.text

        return call_with_retries(once, what=f"the {self.source} API", base_url=self.base_url, policy=POLICY)

    def search(self, query: str, limit: int = 10, *, refresh: bool = False) -> Fetched:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        cache = self._cache_file(query, limit)
        cached = cache.exists() and not refresh
        text = cache.read_text(encoding="utf-8") if cached else self._get(query, limit)
        try:
            papers, skipped = (parse_openalex if self.source == "openalex" else parse_arxiv)(text)
        except BadFile as exc:
            raise GroundhogError(f"the {self.source} API at {self.base_url}: {exc}") from exc
        if not cached:
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(cache)  # a half-written answer is never read back
        return Fetched(papers, cached, skipped)


def parse_openalex(text: str) -> tuple[list[Paper], list[str]]:
    """A /works search page: {"meta": ..., "results": [work, ...]}."""
    try:
        page = json.loads(text)
    except ValueError as exc:
        raise BadFile(f"the OpenAlex answer is not JSON ({exc})") from exc
    results = page.get("results") if isinstance(page, dict) else None
    if not isinstance(results, list):
        raise BadFile("the OpenAlex answer has no results list")
    papers, skipped = [], []
    for n, work in enumerate(results, start=1):
        try:
            papers.append(from_record(work, source="openalex"))
        except (BadFile, ValueError) as exc:
            skipped.append(f"openalex result {n}: {exc}")
    return papers, skipped


def parse_arxiv(text: str) -> tuple[list[Paper], list[str]]:
    """An Atom feed of /api/query: <entry> with id, title, summary, published, author/name."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise BadFile(f"the arXiv answer is not Atom XML ({exc})") from exc
    papers, skipped = [], []
    for n, entry in enumerate(root.iter(f"{_ATOM}entry"), start=1):
        title = " ".join((entry.findtext(f"{_ATOM}title") or "").split())
        rid = (entry.findtext(f"{_ATOM}id") or "").strip()
        if not title:
            skipped.append(f"arxiv entry {n}: no title")
            continue
        papers.append(
            make_paper(
                title=title,
                authors=[a.findtext(f"{_ATOM}name") or "" for a in entry.findall(f"{_ATOM}author")],
                year=int(p[:4]) if (p := entry.findtext(f"{_ATOM}published") or "")[:4].isdigit() else None,
                abstract=" ".join((entry.findtext(f"{_ATOM}summary") or "").split()),
                url=rid,
                arxiv=rid,
                source="arxiv",
            )
        )
    return papers, skipped
