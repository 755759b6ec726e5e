"""`groundhog tune`: how many loop days were worth it, and a recommended depth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundhog.commands.common import HomeOpt, JsonOpt, console, esc, parse_date, print_json, proportion, services

if TYPE_CHECKING:
    from groundhog.tune.report import SweepReport, TuneReport


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _bits(value: float) -> str:
    return "inf" if value == float("inf") else f"{value:.2f}"


def _flags(counts: dict[str, int]) -> str:
    return " ".join(f"{name[:3]}:{n}" for name, n in counts.items() if n) or "-"


def _render_report(report: TuneReport) -> None:
    from rich.table import Table

    out = console()
    done = f"{report.days_analysed}/{report.depth} days"
    table = Table(
        title=f"tune {esc(report.session)} ({esc(report.status)}, {done})",
        caption="survived: unique survivors; surv/1k tok: the day's marginal yield; "
        "novelty: distance to earlier ideas in the log; lit nov: distance to the nearest library paper; "
        "drift: from the grounding text; drift d1: from day 1's output; "
        "flags: deg(enerate) dup(licate) man(ipulation) wei(rd); bits: cumulative selection bits; "
        "accepted: of the survivors you decided; missed: audit items (ideas the critic rejected) you accepted, "
        "of those you decided",
    )
    columns = (
        *("persona", "day", "ideas", "unique", "survived", "accepted", "missed", "tokens", "surv/1k tok"),
        *("novelty", "lit nov", "drift", "drift d1", "in-char", "flags", "bits"),
    )
    for col in columns:
        table.add_column(col, justify="left" if col in ("persona", "flags") else "right")
    groups = [(p.persona, p.days) for p in report.personas] + [("all", report.days)]
    for index, (name, days) in enumerate(groups):
        for d in days:
            if d.status == "failed":
                table.add_row(esc(name), str(d.day), "failed", *[""] * (len(columns) - 3))
                continue
            table.add_row(
                esc(name),
                str(d.day),
                str(d.generated),
                str(d.unique),
                str(d.unique_surviving),
                f"{d.accepted}/{d.decided}" if d.decided else "-",
                _missed(d.critic),
                str(d.tokens),
                _num(d.survivors_per_1k_tokens),
                _num(d.novelty),
                _num(d.literature_novelty),
                _num(d.drift_from_grounding),
                _num(d.drift_from_day1),
                _num(d.in_character),
                _flags(d.flags),
                _bits(d.cumulative_bits),
            )
        if days and index < len(groups) - 1:
            table.add_section()
    out.print(table)
    for p in report.personas:
        r = p.recommendation
        out.print(f"  {esc(p.persona)}: depth {r.depth} ({esc(r.reason)})")
    r = report.recommendation
    out.print(f"[bold]recommended depth {r.depth}[/bold]: {esc(r.reason)}")
    if report.diversity is not None:
        from groundhog.commands.diversity import render

        render(out, report.diversity)


def _missed(critic: dict[str, Any] | None) -> str:
    miss = (critic or {}).get("miss_rate") or {}
    return f"{miss['successes']}/{miss['trials']}" if miss.get("trials") else "-"


def _render_audit(audits: dict[str, Any]) -> None:
    """The critic over the session, per persona and pooled, with 95% Wilson intervals."""
    out = console()
    for name, a in audits.items():
        out.print(
            f"  critic, {esc('every persona' if name == '*' else name)}: miss rate {proportion(a.miss_rate)}, "
            f"precision {proportion(a.precision)}, agreement {proportion(a.agreement)}"
        )


def _render_sweep(sweep: SweepReport) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=f"sweep {esc(sweep.base)}")
    text_columns = ("session", "status", "recommends")
    columns = ("depth", "session", "status", "days", "unique survivors", "tokens", "surv/1k tok")
    for col in (*columns, "recommends"):
        table.add_column(col, justify="left" if col in text_columns else "right")
    for r in sweep.runs:
        rec = f"{r.recommendation.depth} ({r.recommendation.cause})" if r.recommendation else "-"
        table.add_row(
            str(r.depth),
            esc(r.session),
            esc(r.status),
            str(r.days_done),
            str(r.unique_surviving),
            str(r.tokens),
            _num(r.survivors_per_1k_tokens),
            rec,
        )
    out.print(table)
    for r in sweep.runs:
        why = r.recommendation.reason if r.recommendation else r.reason
        out.print(f"  d{r.depth}: {esc(why)}")
    if sweep.runs:
        out.print(f"  sessions live under {esc(Path(sweep.runs[0].home).parent)} (open one with --home)")
    out.print(f"[bold]{esc(sweep.summary)}[/bold]")


def _progress_line(event: Any) -> None:
    """One line per finished or failed day, so a long sweep shows it is alive."""
    if event.type in ("day_finished", "day_failed"):
        console().print(f"  {esc(event.session)} {esc(event.persona)} day {event.day}: {esc(event.message)}")


def _latest(store: Any) -> str:
    from groundhog.core.errors import BadInput

    latest = store.latest()
    if latest is None:
        raise BadInput("there are no sessions to tune yet: start one with `groundhog babble`, or use --sweep")
    return str(latest.id)


SessionOpt = Annotated[
    str | None, typer.Option(help="Session to analyse (default: the latest); with --sweep, the base name.")
]
SweepOpt = Annotated[
    str | None, typer.Option(help="Run fresh sessions at these depths and compare them, e.g. 1,2,4,8.")
]
PlotOpt = Annotated[Path | None, typer.Option(help="Write the curves to this PNG file.")]
FractionOpt = Annotated[
    float, typer.Option(help="Plateau: a day's unique survivors per token below this share of day 1's.")
]
DriftOpt = Annotated[float, typer.Option(help="Drift bound: how much further from the grounding text than on day 1.")]
PersonaOpt = Annotated[
    list[str] | None, typer.Option("--persona", "-p", help="--sweep: persona to run (repeat). Default: all.")
]
IdeasOpt = Annotated[int | None, typer.Option(min=1, max=10, help="--sweep: ideas babbled per day.")]
PresentOpt = Annotated[str | None, typer.Option(help="--sweep: the present, YYYY-MM-DD. Default: today.")]
HoursOpt = Annotated[float | None, typer.Option(help="--sweep: wall-clock budget for the whole sweep.")]
TokensOpt = Annotated[int | None, typer.Option(min=1, help="--sweep: token budget for the whole sweep.")]


def tune(
    session: SessionOpt = None,
    sweep: SweepOpt = None,
    plot: PlotOpt = None,
    plateau_fraction: FractionOpt = 0.25,
    max_drift: DriftOpt = 0.15,
    persona: PersonaOpt = None,
    ideas_per_day: IdeasOpt = None,
    present: PresentOpt = None,
    hours: HoursOpt = None,
    max_tokens: TokensOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per persona and day: new unique survivors per token, novelty, drift, flags, and a depth to use.

    The recommended depth is where more days stop paying: new unique survivors per 1k tokens plateau
    below a share of day 1's, or the output drifts from the persona's grounding text, whichever is first.
    """
    from groundhog.core.errors import BadInput
    from groundhog.loop.events import ignore
    from groundhog.loop.sweep import parse_depths, run_sweep, sweep_names
    from groundhog.tune.depth import TuneOptions, analyse
    from groundhog.tune.plot import plot_report, plot_sweep

    if not 0 < plateau_fraction <= 1:
        raise BadInput(f"--plateau-fraction: must be above 0 and at most 1 (got {plateau_fraction:g})")
    if not 0 < max_drift <= 2:
        raise BadInput(f"--max-drift: must be above 0 and at most 2 (got {max_drift:g})")
    if hours is not None and hours <= 0:
        raise BadInput(f"--hours: must be above 0 (got {hours:g})")
    if plot is not None and plot.suffix.lower() != ".png":
        raise BadInput(f"--plot: '{plot}' must name a .png file")
    if plot is not None:
        from groundhog.core.extras import require

        require("plot", feature="--plot")
    sweep_only = {
        "--persona": persona,
        "--ideas-per-day": ideas_per_day,
        "--present": present,
        "--hours": hours,
        "--max-tokens": max_tokens,
    }
    given = [name for name, value in sweep_only.items() if value]
    if given and sweep is None:
        raise BadInput(f"{', '.join(given)}: only with --sweep")
    options = TuneOptions(plateau_fraction=plateau_fraction, max_drift=max_drift)
    if sweep is not None:  # checked before the home is opened: --session names folders under it
        from groundhog.core.records import utcnow

        depths = parse_depths(sweep)
        start = parse_date(present)
        base = session if session is not None else utcnow().strftime("s%Y%m%d-%H%M%S")
        sweep_names(base, depths)

    svc = services(home)
    try:
        if sweep is not None:
            registry = svc.personas
            names = [registry.get(p).id for p in persona] if persona else [p.id for p in registry.all()]
            out = console()
            result = run_sweep(
                svc,
                depths,
                base=base,
                personas=list(dict.fromkeys(names)),
                present=start,
                max_tokens=max_tokens,
                hours=hours,
                ideas_per_day=ideas_per_day,
                options=options,
                on_run=None if as_json else lambda d, name: out.print(f"running {esc(name)} (depth {d})..."),
                on_event=ignore if as_json else _progress_line,
            )
            if plot is not None:
                plot_sweep(result, plot)
            if as_json:
                print_json(result.model_dump(mode="json"))
            else:
                _render_sweep(result)
        else:
            from groundhog.store.sessions import SessionStore
            from groundhog.tune.audit import audit_days, session_audit

            store = SessionStore(svc.db)
            report = analyse(svc, session or _latest(store), options)
            items = svc.queue.list(session=report.session)
            report = audit_days(report, items)  # the critic against your decisions, per day
            if plot is not None:
                plot_report(report, plot)
            if as_json:
                print_json(report.model_dump(mode="json"))
                from groundhog.commands.diversity import warn

                warn(report.diversity)
            else:
                _render_report(report)
                _render_audit(session_audit(report, items))
        if plot is not None and not as_json:
            console().print(f"wrote {esc(plot)}")
    finally:
        svc.close()
