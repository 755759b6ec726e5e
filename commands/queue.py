"""`groundhog queue list|show|decide|export|stats` and the interactive `groundhog review`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundhog.commands.common import (
    HomeOpt,
    JsonOpt,
    ReviewerOpt,
    console,
    echo,
    esc,
    plain,
    print_json,
    proportion,
    services,
    sub_app,
)

if TYPE_CHECKING:
    from groundhog.compose.services import Services
    from groundhog.review.agreement import ReviewerAgreement
    from groundhog.review.stats import GroupStats, ScoreMeans

app = sub_app("The review queue: ideas that survived the critique, waiting for a human decision.")

STATUSES = "pending|accepted|rejected|deferred"
NO_PAIRS = "n/a (no decided pairs yet)"

StatusOpt = Annotated[str | None, typer.Option("--status", help=f"Only ideas in this status: {STATUSES}.")]
SessionOpt = Annotated[str | None, typer.Option("--session", help="Only ideas from this session.")]
PersonaOpt = Annotated[str | None, typer.Option("--persona", help="Only this persona's ideas (id or name).")]
IdArg = Annotated[str, typer.Argument(help="Idea id, or a unique prefix of at least 4 characters.")]


def _check_status(status: str | None) -> str | None:
    from groundhog.core.errors import BadInput
    from groundhog.core.records import QUEUE_STATUSES

    if status is not None and status not in QUEUE_STATUSES:
        raise BadInput(f"--status: unknown status '{status}' (choose from {', '.join(QUEUE_STATUSES)})")
    return status


def persona_id(svc: Services, name: str | None) -> str | None:
    """A persona id from an id or display name; an unknown name is kept (its persona may be gone)."""
    if name is None:
        return None
    from groundhog.core.errors import BadInput

    try:
        return svc.personas.get(name).id
    except BadInput:
        return name.strip()


def _mean(item: Any) -> str:
    scores = item.critique.scores
    return f"{scores.mean:.2f}" if scores is not None else "-"


@app.command("list")
def list_(
    status: StatusOpt = None,
    session: SessionOpt = None,
    persona: PersonaOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=0, help="Show at most this many.")] = None,
    sort: Annotated[
        str, typer.Option("--sort", help="rank (best first), near (closest to a library paper first) or far.")
    ] = "rank",
    min_distance: Annotated[
        float | None,
        typer.Option("--min-literature-distance", help="Only ideas at least this far (0..1) from every paper."),
    ] = None,
    max_distance: Annotated[
        float | None,
        typer.Option("--max-literature-distance", help="Only ideas at most this far (0..1) from a paper."),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List queued ideas, best first (rubric and novelty), ties oldest first; or by distance to the library."""
    from groundhog.review.export import to_record
    from groundhog.store.literature import LiteratureView

    _check_status(status)
    view = LiteratureView(sort, min_distance, max_distance)
    svc = services(home)
    try:
        items = svc.queue.list(
            status=status, session=session, persona=persona_id(svc, persona), limit=limit, literature=view
        )
    finally:
        svc.close()
    if as_json:
        print_json([to_record(item) for item in items])
        return
    if not items:
        console().print("No queued ideas match." if (status or session or persona) else "The queue is empty.")
        return
    from rich.table import Table

    table = Table(title="review queue")
    for col in ("id", "rank", "status"):
        table.add_column(col, no_wrap=True)
    table.add_column("idea", ratio=1)
    for item in items:
        idea = item.idea
        where = f"{idea.persona} · {idea.session or '-'} day {idea.day} · mean {_mean(item)}"
        if item.critique.prior_art:
            nearest = item.critique.prior_art[0]
            where += f" · nearest paper {nearest.similarity:.2f}: {nearest.title[:60]}"
        cell = plain(idea.title, one_line=True) if idea.title.strip() else plain("(untitled)")
        cell.append_text(plain("\n" + where, style="dim"))
        table.add_row(plain(item.id), f"{item.rank_score:.3f}", item.status, cell)
    console().print(table)


@app.command()
def show(idea_id: IdArg, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Show one queued idea in full: text, scores, the critic's reasoning, provenance ids."""
    from groundhog.review.export import to_record
    from groundhog.terminal.screen import render_item

    svc = services(home)
    try:
        item = svc.queue.get(idea_id)
    finally:
        svc.close()
    if as_json:
        print_json(to_record(item))
        return
    render_item(console(), item)


@app.command()
def decide(
    idea_id: IdArg,
    decision: Annotated[str, typer.Argument(help="accept, reject or defer.")],
    note: Annotated[str, typer.Option("--note", help="Why: the persona reads it the next morning.")] = "",
    reviewer: ReviewerOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide one idea, as a reviewer. The decision and its note go into the persona's log as feedback;
    deciding again as the same reviewer replaces that reviewer's decision, and another reviewer's
    decision is kept beside it (the queue shows the latest)."""
    from groundhog.core.reviewer import resolve_reviewer
    from groundhog.review.export import to_record
    from groundhog.review.feedback import record_decision
    from groundhog.store.queue import decision_status

    decision_status(decision)  # a bad word or name fails before anything is opened
    who = resolve_reviewer(reviewer)
    svc = services(home)
    try:
        item = svc.queue.get(idea_id)  # an unknown id fails before the log is opened
        decided = record_decision(svc.queue, svc.log, item.id, decision, note, who)
    finally:
        svc.close()
    if as_json:
        print_json(to_record(decided))
        return
    said = f" with note: {esc(note)}" if note else ""
    title = esc(decided.idea.title, one_line=True)
    console().print(f"{decided.status} {esc(decided.id)} '{title}' by {esc(who, one_line=True)}{said}")


def _write_export(path: Path, text: str) -> None:
    """Checked first, so a bad -o is one clear line; then written atomically (never half an export)."""
    from groundhog.core.errors import BadInput
    from groundhog.core.files import write_atomic

    folder = path.parent
    if not folder.is_dir():
        raise BadInput(f"-o: folder {folder} does not exist")
    if path.is_dir():
        raise BadInput(f"-o: {path} is a folder")
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise BadInput(f"-o: cannot write {path}: {exc.strerror or exc}") from exc


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="md (a morning report), json or jsonl.")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file (else stdout).")] = None,
    status: StatusOpt = None,
    session: SessionOpt = None,
    persona: PersonaOpt = None,
    home: HomeOpt = None,
) -> None:
    """Export queued ideas, best first; model text is escaped in Markdown."""
    from groundhog.core.errors import BadInput
    from groundhog.review.export import FORMATS
    from groundhog.review.export import export as render

    if fmt not in FORMATS:
        raise BadInput(f"--format: unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    _check_status(status)
    svc = services(home)
    try:
        items = svc.queue.list(status=status, session=session, persona=persona_id(svc, persona))
    finally:
        svc.close()
    text = render(items, fmt)
    if output is None:
        sys.stdout.write(text)
        return
    _write_export(output, text)
    echo(f"wrote {len(items)} ideas to {output}", err=True)


def _means(means: ScoreMeans) -> str:
    return "-" if means.mean is None else f"{means.mean:.2f} (n={means.count})"


def _agreement(group: GroupStats) -> str:
    a = group.agreement
    if a.agreement is None:
        return NO_PAIRS
    return f"{a.agreement:.2f} over {a.pairs} pairs (tau {a.tau:+.2f})"


@app.command()
def stats(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Counts, the critic's mean scores for accepted vs rejected ideas, critic-human agreement, and the
    audit of the critic's verdicts: its miss rate (accepted audit items over decided audit items),
    its precision on survivors and its agreement with you, each with a 95% Wilson interval; then the
    thresholds your decisions so far would set (`babble --calibrated` uses them); then, where two
    reviewers decided the same ideas, their agreement: Cohen's kappa per pair and, with three or more,
    Krippendorff's alpha, each with a 95% percentile bootstrap interval over ideas (seeded)."""
    from groundhog.critique.calibrate import calibrate
    from groundhog.review.stats import queue_stats

    svc = services(home)
    try:
        items = svc.queue.list()
        result = queue_stats(items)
        calibration = calibrate(items, svc.settings.thresholds())
    finally:
        svc.close()
    if as_json:
        print_json({**result.model_dump(mode="json"), "calibration": calibration.model_dump(mode="json")})
        return
    from rich.table import Table

    groups = [(esc(p), g) for p, g in result.personas.items()] + [("[bold]overall[/bold]", result.overall)]
    decisions = Table(title="decisions")
    for col in ("persona", "queued", "pending", "accepted", "rejected", "deferred"):
        decisions.add_column(col, justify="left" if col == "persona" else "right")
    critic = Table(title="critic vs human")
    for col in ("persona", "critic mean, accepted", "critic mean, rejected"):
        critic.add_column(col)
    critic.add_column("agreement", no_wrap=True)
    for name, g in groups:
        c = g.counts
        decisions.add_row(name, *(str(n) for n in (c.queued, c.pending, c.accepted, c.rejected, c.deferred)))
        critic.add_row(name, _means(g.accepted_scores), _means(g.rejected_scores), _agreement(g))
    audit = Table(title="the critic's verdicts audited (95% Wilson intervals)")
    audit.add_column("persona", no_wrap=True)
    audit.add_column("audits", justify="right")
    for col in ("miss rate", "precision", "agreement"):
        audit.add_column(col)
    for name, g in groups:
        a = g.critic
        shares = (proportion(a.miss_rate), proportion(a.precision), proportion(a.agreement))
        audit.add_row(name, str(a.audit_items), *shares)
    out = console()
    out.print(decisions)
    out.print(critic)
    out.print(
        "Agreement: of every (accepted, rejected) pair of ideas, the share the critic ranked the accepted "
        "one higher (ties count half); 0.5 is chance."
    )
    out.print(audit)
    out.print(
        "Audit items are a random share of the ideas the critic rejected, queued like any other. Miss rate: "
        "accepted audit items / decided ones, how often the critic rejects what you keep. Precision: accepted "
        "survivors / decided ones. Agreement: decisions that matched the critic's verdict. Deferred ideas "
        "count in none."
    )
    out.print(f"Calibration: {esc(calibration.reason)}")
    _reviewers(out, result.reviewers)


def _interval(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "- (undefined: one status throughout)"
    return f"{value:.3f} [{'-' if low is None else f'{low:.3f}'}, {'-' if high is None else f'{high:.3f}'}]"


def _reviewers(out: Any, agreement: ReviewerAgreement) -> None:
    """Human against human: kappa per pair of reviewers, alpha over three or more."""
    if not agreement.reviewers:
        return
    made = ", ".join(f"{esc(name)} {n}" for name, n in agreement.reviewers.items())
    out.print(f"Decisions by reviewer: {made}.")
    if not agreement.pairs:
        out.print(
            "No idea has been decided by two reviewers yet: `groundhog review --second-opinion --reviewer NAME` "
            "offers another reviewer the decided ideas, blind to the first decision."
        )
        return
    from rich.table import Table

    table = Table(title=f"reviewer vs reviewer: Cohen's kappa ({agreement.method})")
    for col in ("reviewers", "ideas both decided", "same decision", "kappa [95% interval]"):
        table.add_column(col, no_wrap=col != "reviewers")
    for pair in agreement.pairs:
        a, b = (esc(name) for name in pair.reviewers)
        table.add_row(
            f"{a} · {b}", str(pair.items), f"{pair.observed or 0:.2f}", _interval(pair.kappa, pair.low, pair.high)
        )
    out.print(table)
    if agreement.alpha is not None:
        alpha = agreement.alpha
        out.print(
            f"Krippendorff's alpha (nominal), {len(alpha.reviewers)} reviewers over {alpha.items} ideas decided "
            f"by two or more ({alpha.decisions} decisions): {_interval(alpha.alpha, alpha.low, alpha.high)}"
        )
    out.print(
        "Kappa: agreement beyond what each reviewer's own shares of accepted, rejected and deferred would give "
        "by chance (1 perfect, 0 chance, below 0 worse than chance), over the ideas both decided."
    )
