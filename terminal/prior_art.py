"""Nearest prior work, as the terminal review shows it: each nearest paper of the library with its
similarity, link and passage. Paper text came from files and APIs: it is escaped like model text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape

from groundhog.core.records import PriorArt
from groundhog.core.text import safe_text

PASSAGE_CHARS = 400


def prior_art_lines(papers: Sequence[PriorArt], *, named: str | None = None) -> list[str]:
    """Rich markup lines; `named` is the id of the paper the critic said already did the idea."""
    lines = []
    for p in papers:
        year = f" ({p.year})" if p.year else ""
        mark = " [red]· named by the critic as already done[/red]" if p.paper_id == named else ""
        link = f" · {escape(safe_text(p.url, one_line=True))}" if p.url else ""
        title = escape(safe_text(p.title, one_line=True))
        lines.append(f"  [bold]{title}[/bold]{year} · similarity {p.similarity:.2f}{link}{mark}")
        passage = " ".join(safe_text(p.passage).split())
        if len(passage) > PASSAGE_CHARS:
            passage = passage[: PASSAGE_CHARS - 1] + "…"
        if passage:
            lines.append(f"    [dim]{escape(passage)}[/dim]")
    return lines


def render_prior_art(console: Any, papers: Sequence[PriorArt], *, named: str | None = None) -> None:
    if not papers:
        return
    console.print("[bold]Nearest prior work[/bold] (the library's closest papers):")
    for line in prior_art_lines(papers, named=named):
        console.print(line)
