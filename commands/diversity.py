"""The night's diversity as `sessions show` and `tune` print it, with the warning when the personas collapse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from groundhog.commands.common import echo, esc

if TYPE_CHECKING:
    from groundhog.compose.services import Services
    from groundhog.tune.report import Diversity, DiversityReport


def measure(svc: Services, store: Any, session_id: str) -> DiversityReport | str:
    """The session's diversity, or why it could not be measured (the log cannot be read with this home's
    embedder): the rest of the report does not depend on it."""
    from groundhog.core.errors import GroundhogError
    from groundhog.tune.diversity import session_diversity

    try:
        groups = {p.id: p.group for p in svc.personas.all()}
        return session_diversity(store, svc.log, session_id, groups)
    except GroundhogError as exc:
        return f"not measured: {exc}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def line(d: Diversity) -> str:
    """One scope's figures in words."""
    if d.distinct_share is None:
        return f"{d.scope}: {d.ideas} ideas by {d.personas} personas; {d.note}"
    text = (
        f"{d.scope}: {d.ideas} ideas by {d.personas} personas, {_pct(d.distinct_share)} distinct across personas; "
        f"similarity within a persona {_num(d.within_similarity)}, across personas {_num(d.across_similarity)}; "
        f"persona told from its ideas {_pct(d.centroid_accuracy)} (chance {_pct(d.chance)})"
    )
    return text + (f" ({d.note})" if d.note else "")


def render(out: Any, report: DiversityReport | str) -> None:
    """The figures on the console, and a warning line for each scope whose personas collapsed."""
    from groundhog.tune.diversity import warning_line

    if isinstance(report, str):
        out.print(f"\n[bold]Diversity[/bold]: {esc(report)}")
        return
    out.print(f"\n[bold]Diversity[/bold] (duplicate threshold {report.duplicate_threshold:g}):")
    for d in (report.session_figures, *report.groups):
        out.print(f"  {esc(line(d))}")
    for d in report.collapsed:
        out.print(f"[yellow]{esc(warning_line(d))}[/yellow]")


def warn(report: DiversityReport | str | None) -> None:
    """Beside --json: each collapse's warning line on stderr, so a script sees it without parsing."""
    from groundhog.tune.diversity import warning_line

    if report is None or isinstance(report, str):
        return
    for d in report.collapsed:
        echo(warning_line(d), err=True)


def as_data(report: DiversityReport | str) -> dict[str, Any]:
    return {"error": report} if isinstance(report, str) else report.model_dump(mode="json")
