"""`groundhog library add|list|show|search|remove|fetch`: the papers and posts the personas read, against
which every idea's nearest prior work is found."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundhog.commands.common import HomeOpt, JsonOpt, console, echo, esc, print_json, services, sub_app

if TYPE_CHECKING:
    from groundhog.library.papers import Paper

app = sub_app(
    "Papers and posts the personas read at wake-up, and against which each idea's nearest prior work is "
    "named: Markdown, text, PDF, BibTeX, JSON/JSONL records of arXiv or OpenAlex; `--starter` adds the "
    "shipped set of well-known alignment papers."
)

IdArg = Annotated[str, typer.Argument(metavar="ID", help="Paper id (as `library list` shows it).")]


def paper_record(p: Paper, chunks: int | None = None) -> dict[str, Any]:
    out = p.model_dump(exclude={"text"})
    out["url"] = p.link
    if chunks is not None:
        out["chunks"] = chunks
    return out


def _report(errors: list[str]) -> None:
    for line in errors:
        echo(f"groundhog: error: {line}", err=True)


@app.command()
def add(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders of papers.", show_default=False)] = None,
    starter: Annotated[
        bool, typer.Option("--starter", help="Add the shipped starter set of well-known alignment papers.")
    ] = False,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add papers to the library. Adding a paper again replaces it (same paper, same ids). A file that
    cannot be read gets one line on stderr naming it; the others are still added (exit 2 at the end)."""
    from groundhog.core.errors import BadInput
    from groundhog.library.bars import STARTER
    from groundhog.library.sources import read_file, read_paths

    if not paths and not starter:
        raise BadInput("give files or folders of papers to add, or --starter")
    read = read_paths(paths or [])
    if starter:
        shipped = read_file(STARTER)
        for p in shipped.papers:
            p.source = "starter"
        read.papers = shipped.papers + read.papers
    _report(read.errors)
    added, chunks = 0, 0
    if read.papers:
        svc = services(home)
        try:
            added, chunks = svc.library.add(read.papers)
        finally:
            svc.close()
    if as_json:
        print_json({"added": added, "chunks": chunks, "papers": [p.id for p in read.papers], "errors": read.errors})
    else:
        console().print(f"Added {added} paper(s) in {chunks} chunk(s) to the library.")
    if read.errors:
        echo(f"groundhog: error: {len(read.errors)} file(s) or record(s) not added; {added} paper(s) added", err=True)
        raise typer.Exit(2)


@app.command("list")
def list_(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """The papers in the library, by title."""
    svc = services(home)
    try:
        papers = svc.library.papers()
    finally:
        svc.close()
    if as_json:
        print_json([paper_record(p) for p in papers])
        return
    if not papers:
        console().print("The library is empty: `groundhog library add PATH...` or `--starter`.")
        return
    from rich.table import Table

    table = Table()
    for col in ("id", "year", "title", "authors"):
        table.add_column(col)
    for p in papers:
        authors = ", ".join(p.authors[:3]) + (" et al." if len(p.authors) > 3 else "")
        table.add_row(esc(p.id), str(p.year or ""), esc(p.title, one_line=True), esc(authors, one_line=True))
    console().print(table)


@app.command()
def show(paper_id: IdArg, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """One paper: its facts, summary and chunks."""
    from groundhog.core.errors import BadInput

    svc = services(home)
    try:
        found = svc.library.get(paper_id)
    finally:
        svc.close()
    if found is None:
        raise BadInput(f"ID: no paper {paper_id!r} in the library (see `groundhog library list`)")
    paper, chunks = found
    if as_json:
        print_json({**paper_record(paper, len(chunks)), "passages": chunks})
        return
    out = console()
    out.print(f"[bold]{esc(paper.title, one_line=True)}[/bold] ({paper.year or 'n.d.'})")
    out.print(esc(", ".join(paper.authors)))
    if paper.link:
        out.print(esc(paper.link))
    out.print(f"id {esc(paper.id)}, {len(chunks)} chunk(s), from {esc(paper.source or '?')}")
    if paper.abstract:
        out.print("\n" + esc(paper.abstract))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many papers.")] = 5,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The papers nearest QUERY, each with its best passage."""
    svc = services(home)
    try:
        hits = svc.library.search(query, k)
    finally:
        svc.close()
    if as_json:
        print_json([{**paper_record(h.paper), "similarity": round(h.similarity, 4), "passage": h.text} for h in hits])
        return
    if not hits:
        console().print("Nothing found (is the library empty?).")
        return
    out = console()
    for h in hits:
        out.print(f"[bold]{h.similarity:.2f}[/bold] {esc(h.paper.title, one_line=True)} ({h.paper.year or 'n.d.'})")
        out.print(f"  {esc(h.paper.id)} {esc(h.paper.link)}")
        out.print("  " + esc(" ".join(h.text.split())[:300]))


@app.command()
def remove(paper_id: IdArg, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Take a paper out of the library."""
    from groundhog.core.errors import BadInput

    svc = services(home)
    try:
        gone = svc.library.remove(paper_id)
    finally:
        svc.close()
    if not gone:
        raise BadInput(f"ID: no paper {paper_id!r} in the library (see `groundhog library list`)")
    if as_json:
        print_json({"removed": paper_id})
    else:
        console().print(f"Removed {esc(paper_id)} from the library.")


@app.command()
def fetch(
    openalex: Annotated[str | None, typer.Option("--openalex", metavar="QUERY", help="Search OpenAlex.")] = None,
    arxiv: Annotated[str | None, typer.Option("--arxiv", metavar="QUERY", help="Search arXiv.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Records to fetch.")] = 10,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask again even if the answer is cached.")] = False,
    openalex_url: Annotated[
        str | None, typer.Option(envvar="GROUNDHOG_OPENALEX_URL", help="OpenAlex API base URL.", hidden=True)
    ] = None,
    arxiv_url: Annotated[
        str | None, typer.Option(envvar="GROUNDHOG_ARXIV_URL", help="arXiv API base URL.", hidden=True)
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(envvar="GROUNDHOG_FETCH_INTERVAL", min=0, help="Seconds between requests.", hidden=True),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch records from OpenAlex or arXiv (cached in the home, rate-limited) and add them."""
    from groundhog.core.errors import BadInput
    from groundhog.library.fetch import Fetcher

    if (openalex is None) == (arxiv is None):
        raise BadInput("give one of --openalex QUERY or --arxiv QUERY")
    source, query = ("openalex", openalex) if openalex is not None else ("arxiv", arxiv or "")
    if not query.strip():
        raise BadInput(f"--{source}: the query is empty")
    svc = services(home)
    try:
        svc.ensure_home()
        base = openalex_url if source == "openalex" else arxiv_url
        got = Fetcher(source, svc.settings.home / "library-cache", base, interval).search(query, limit, refresh=refresh)
        _report(got.skipped)
        added, chunks = svc.library.add(got.papers) if got.papers else (0, 0)
    finally:
        svc.close()
    if as_json:
        print_json(
            {
                "source": source,
                "cached": got.cached,
                "added": added,
                "chunks": chunks,
                "papers": [p.id for p in got.papers],
                "errors": got.skipped,
            }
        )
    else:
        where = " (cached)" if got.cached else ""
        console().print(f"Fetched {len(got.papers)} record(s) from {source}{where}; added {added} paper(s).")
