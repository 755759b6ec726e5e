"""`groundhog queue list|show|decide|export|stats` and the interactive `groundhog review`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundhog.commands.common import (
    HomeOpt,
    JsonOpt,
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


def _persona_id(svc: Services, name: str | None) -> str | None:
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
            status=status, session=session, persona=_persona_id(svc, persona), limit=limit, literature=view
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
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide one idea. The decision and its note go into the persona's log as feedback."""
    from groundhog.review.export import to_record
    from groundhog.review.feedback import record_decision
    from groundhog.store.queue import decision_status

    decision_status(decision)  # a bad word fails before anything is opened
    svc = services(home)
    try:
        item = svc.queue.get(idea_id)  # an unknown id fails before the log is opened
        decided = record_decision(svc.queue, svc.log, item.id, decision, note)
    finally:
        svc.close()
    if as_json:
        print_json(to_record(decided))
        return
    said = f" with note: {esc(note)}" if note else ""
    console().print(f"{decided.status} {esc(decided.id)} '{esc(decided.idea.title, one_line=True)}'{said}")


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
        items = svc.queue.list(status=status, session=session, persona=_persona_id(svc, persona))
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
    thresholds your decisions so far would set (`babble --calibrated` uses them)."""
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


def _read_line(prompt: str) -> str | None:
    """One line from stdin, or None at the end of input or on Ctrl-C / Ctrl-D."""
    try:
        line = input(prompt)
    except (EOFError, KeyboardInterrupt):
        typer.echo("")
        return None
    if not sys.stdin.isatty():
        echo(line)  # piped keys show in the transcript, as typed ones do on a terminal
    return line


def _getchar() -> str:
    """One key press. cbreak mode set at once (not after flushing), so keys typed ahead are kept."""
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX terminal
        return typer.getchar()
    import select

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        raw = os.read(fd, 1)  # one key, even when several were typed ahead
        if raw == b"\x1b":  # an escape sequence (an arrow key): the rest comes with it
            while len(raw) < 8 and select.select([fd], [], [], 0.02)[0]:
                raw += os.read(fd, 1)
        elif raw and raw[0] >= 0xC0:  # the first byte of a multi-byte UTF-8 character
            raw += os.read(fd, 1 if raw[0] < 0xE0 else 2 if raw[0] < 0xF0 else 3)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if raw in (b"", b"\x04"):
        raise EOFError
    return raw.decode("utf-8", "replace")


def _read_key(prompt: str) -> str | None:
    """One key from the terminal, no Enter needed; None on Ctrl-C / Ctrl-D."""
    typer.echo(prompt, nl=False)
    try:
        key = _getchar()
    except (EOFError, KeyboardInterrupt):
        typer.echo("")
        return None
    typer.echo(key if key.isprintable() else "")  # the key typed shows, as it would with Enter
    return key


def review(
    session: SessionOpt = None,
    persona: PersonaOpt = None,
    home: HomeOpt = None,
    web: Annotated[bool, typer.Option("--web", help="Review in a local web page instead (keyboard-first).")] = False,
    host: Annotated[str, typer.Option("--host", help="With --web: the address (off loopback, warns).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="With --web: the port (0 picks a free one).")] = 8765,
    open_page: Annotated[bool, typer.Option("--open", help="With --web: open the page in a browser.")] = False,
) -> None:
    """Review queued ideas one at a time, best first (pending, then deferred ones).

    With --web, the same in a local web page (http://127.0.0.1:8765/ by default) until Ctrl-C.

    Keys (on a terminal a single key press; piped, one per line): a accept, r reject, d defer, n note,
    s skip, p provenance (the log entries the idea builds on), q quit. Piped, 'r too vague' rejects with
    that note. Each decision is saved as it is made and written into the persona's log, so quitting
    half-way loses nothing. For scripts, use `groundhog queue decide`.

    Some ideas may be audit items, ideas the critic rejected, queued at random to measure it (see
    `groundhog queue stats`); the critic's verdict and the idea's origin show once you have decided.
    After the ideas come the personas' open questions: a answers one (piped, 'a your answer'), s skips.
    """
    if web:
        from groundhog.commands.web import serve

        serve(home, host=host, port=port, open_browser=open_page, session=session, persona=persona)
        return
    from groundhog.review.feedback import record_decision
    from groundhog.terminal.screen import ReviewScreen, review_items

    svc = services(home)
    try:
        items = review_items(svc.queue, session=session, persona=_persona_id(svc, persona))
        screen = ReviewScreen(
            items,
            decide=lambda idea_id, word, note: record_decision(svc.queue, svc.log, idea_id, word, note),
            lookup=lambda ids: svc.log.get_many(ids),
            read=_read_line,
            console=console(),
            read_key=_read_key if sys.stdin.isatty() else None,
        )
        if not screen.run().quit:
            _questions(svc, session, _persona_id(svc, persona))
    finally:
        svc.close()


def _questions(svc: Services, session: str | None, persona: str | None) -> None:
    """The personas' open questions, after the ideas."""
    from groundhog.review.questions import record_answer
    from groundhog.store.questions import QuestionStore
    from groundhog.terminal.questions import QuestionScreen

    store = QuestionStore(svc.db)
    questions = store.list(status="open", session=session, persona=persona)
    if questions:
        QuestionScreen(
            questions,
            answer=lambda qid, text: record_answer(store, svc.log, qid, text),
            queued={i.id: i for i in svc.queue.list(session=session)},
            read=_read_line,
            console=console(),
            read_key=_read_key if sys.stdin.isatty() else None,
        ).run()
