"""`groundhog rank`: a pairwise tournament of queued ideas, judged by the critic model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundhog.commands import common
from groundhog.commands.common import HomeOpt, JsonOpt, console, echo, esc, plain, print_json

if TYPE_CHECKING:
    from groundhog.compose.services import Services
    from groundhog.rank.tournament import RankReport


def rank(
    session: Annotated[str | None, typer.Option("--session", help="Only this session's open ideas.")] = None,
    matches: Annotated[
        int, typer.Option("--matches", metavar="N", min=1, help="Opponents each idea meets. Default 5.")
    ] = 5,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", metavar="T", min=1, help="Token budget for the tournament.")
    ] = None,
    both_orders: Annotated[
        bool,
        typer.Option("--both-orders", help="Ask each pair both ways round (twice the calls) instead of once."),
    ] = False,
    resume: Annotated[str | None, typer.Option("--resume", metavar="ID", help="Go on with this tournament.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name the new tournament (default r<date>).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the tournaments so far and stop.")] = False,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank the open ideas (pending and deferred) by a pairwise tournament judged by the critic model.

    Each idea meets --matches opponents of similar rating (Swiss pairing that takes each rating's
    uncertainty into account); the critic reads both and says which is the better research idea, and its
    reasoning is kept with the judgement. Ratings are a Bradley-Terry fit over every pairwise judgement
    (yours from the review page's compare mode count double), shown on the Elo scale with their standard
    error; the position bias of each judge is fitted alongside. Once ideas have ratings, the queue lists
    them (and `groundhog review` shows them) best rating first.

    --max-tokens bounds the tournament's tokens; a stopped or budget-bound tournament goes on with
    --resume ID (give a larger --max-tokens to lift a spent budget).
    """
    from groundhog.core.errors import BadInput
    from groundhog.rank import run as ranking

    svc = common.services(home)  # through the module: tests wire fakes there
    try:
        if list_:
            _list(svc, as_json)
            return
        if resume:
            if session or name or both_orders or matches != 5:
                raise BadInput("--resume: a tournament keeps its settings; only --max-tokens may change")
            row = ranking.resume(svc, resume, max_tokens=max_tokens)
        else:
            row = ranking.start(
                svc, session=session, matches=matches, max_tokens=max_tokens, both_orders=both_orders, name=name
            )
        say = (lambda message: None) if as_json else (lambda message: echo(f"rank {row.id}: {message}", err=True))
        report = ranking.run(svc, row, on_progress=say)
        items = [i for i in svc.queue.list() if i.id in set(report.tournament.ideas)]
    finally:
        svc.close()
    if as_json:
        print_json(report_json(report, items))
    else:
        render_report(report, items)
    if report.tournament.status == "failed":
        raise typer.Exit(1)


def report_json(report: RankReport, items: list[Any]) -> dict[str, Any]:
    t = report.tournament
    return {
        "id": t.id,
        "session": t.session or None,
        "status": t.status,
        "reason": t.reason,
        "judge": t.judge,
        "ideas": len(t.ideas),
        "matches": t.matches,
        "both_orders": t.both_orders,
        "max_tokens": t.max_tokens,
        "rounds_this_run": report.rounds,
        "calls": t.calls,
        "failed_calls": t.failed,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "tokens": t.tokens,
        "per_idea": report.per_idea(),
        "position_bias": {k: round(v, 4) for k, v in report.fit.position_bias.items()},
        "ratings": [
            {
                "id": i.id,
                "title": i.idea.title,
                "persona": i.idea.persona,
                "rating": None if i.rating is None else round(i.rating, 1),
                "sigma": None if i.rating_sigma is None else round(i.rating_sigma, 1),
                "matches": i.matches,
                "novelty": round(i.novelty, 4),
                "literature_novelty": None if i.literature_novelty is None else round(i.literature_novelty, 4),
            }
            for i in items
        ],
    }


def render_report(report: RankReport, items: list[Any]) -> None:
    from rich.table import Table

    t = report.tournament
    out = console()
    cost = report.per_idea()
    out.print(
        f"tournament {esc(t.id)}: [bold]{esc(t.status)}[/bold] ({esc(t.reason)}). {len(t.ideas)} ideas, "
        f"{t.calls} calls ({t.failed} unreadable), {t.tokens} tokens: {cost['calls']:g} calls and "
        f"{cost['tokens']:g} tokens per idea."
    )
    bias = report.fit.position_bias.get("model")
    if bias is not None:
        out.print(f"The critic's position bias: {bias:+.2f} logits for the idea it reads first (0 is none).")
    table = Table(
        title="ratings (Elo scale, ± one standard error)",
        caption="novelty: distance to the nearest earlier idea; lit nov: to the nearest library paper",
    )
    for col in ("#", "rating", "matches", "novelty", "lit nov", "id"):
        table.add_column(col, justify="right" if col != "id" else "left", no_wrap=True)
    table.add_column("idea", ratio=1)
    for n, item in enumerate(items, 1):
        rating = "-" if item.rating is None else f"{item.rating:.0f} ± {item.rating_sigma or 0:.0f}"
        cell = plain(item.idea.title or "(untitled)", one_line=True)
        cell.append_text(plain(f"\n{item.idea.persona} · {item.idea.session or '-'} day {item.idea.day}", style="dim"))
        lit = "-" if item.literature_novelty is None else f"{item.literature_novelty:.2f}"
        table.add_row(str(n), rating, str(item.matches), f"{item.novelty:.2f}", lit, plain(item.id), cell)
    out.print(table)
    if t.status in ("budget-reached", "interrupted", "failed"):
        out.print(f"Go on with `groundhog rank --resume {esc(t.id)}` (with a larger --max-tokens if it ran out).")


def _list(svc: Services, as_json: bool) -> None:
    from groundhog.store.tournaments import TournamentStore

    rows = TournamentStore(svc.db).all()
    if as_json:
        print_json([r.model_dump(mode="json") | {"tokens": r.tokens} for r in rows])
        return
    if not rows:
        console().print("No tournaments yet: run `groundhog rank`.")
        return
    from rich.table import Table

    table = Table(title="tournaments")
    for col in ("id", "status", "session", "ideas", "matches", "calls", "tokens", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            esc(r.id), r.status, esc(r.session or "all"), str(len(r.ideas)), str(r.matches), str(r.calls),
            str(r.tokens), esc(r.reason),
        )  # fmt: skip
    console().print(table)
