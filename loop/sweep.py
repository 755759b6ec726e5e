"""The depth sweep: a fresh session per depth, each in a home of its own, then a comparison.

Separate from the analysis (`loop.tune`) because it runs the loop: it owns the budgets across runs and
the per-run homes, and only reads the analysis back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundhog.core.errors import BadInput
from groundhog.loop.events import EventSink, ignore
from groundhog.store.sessions import SessionStore
from groundhog.tune.depth import TuneOptions, analyse
from groundhog.tune.report import SweepReport, SweepRun

if TYPE_CHECKING:
    from groundhog.compose.services import Services


def parse_depths(text: str) -> list[int]:
    """'1,2,4,8' -> [1, 2, 4, 8]; BadInput names what is wrong."""
    depths: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) < 1 or int(part) > 1000:
            raise BadInput(f"--sweep: '{part}' is not a depth (use whole numbers 1-1000, e.g. 1,2,4,8)")
        depths.append(int(part))
    if not depths:
        raise BadInput("--sweep: give at least one depth, e.g. 1,2,4,8")
    return sorted(set(depths))


def sweep_names(base: str, depths: Sequence[int]) -> list[str]:
    """The sweep's session names, `<base>-sweep-d<depth>`, shallowest first. Checked before any home is
    made: each names a folder under `<home>/sweeps`, so a base like '../x' must fail here, not after
    creating folders outside the home."""
    from groundhog.loop.babble import SESSION_NAME

    if not SESSION_NAME.match(base):
        rule = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        raise BadInput(f"--session: '{base}' must be {rule}")
    names = [f"{base}-sweep-d{depth}" for depth in sorted(set(depths))]
    for name in names:
        if not SESSION_NAME.match(name):
            raise BadInput(f"--session: '{base}' is too long for a sweep: '{name}' is over 64 characters")
    return names


def sweep_home(home: Path, name: str) -> Path:
    return home / "sweeps" / name


def sweep_services(parent: Services, name: str) -> Services:
    """A home of its own for one sweep session, sharing the parent's models, embedder and personas.

    Each depth starts from nothing but the personas' grounding: in the parent's log a deeper run would
    wake with the shallower runs' notebooks and see their ideas as duplicates, which biases the comparison.
    """
    from groundhog.compose.services import Services

    settings = parent.settings.model_copy(update={"home": sweep_home(parent.settings.home, name)})
    child = Services(settings)
    child.embedder = parent.embedder
    child.babble_model = parent.babble_model
    child.critic_model = parent.critic_model
    child.personas = parent.personas
    return child


def run_sweep(
    parent: Services,
    depths: Sequence[int],
    *,
    base: str,
    personas: Sequence[str],
    present: date | None = None,
    max_tokens: int | None = None,
    hours: float | None = None,
    ideas_per_day: int | None = None,
    options: TuneOptions | None = None,
    services_for: Callable[[Services, str], Services] = sweep_services,
    on_event: EventSink = ignore,
    on_run: Callable[[int, str], None] | None = None,
    handle_signals: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> SweepReport:
    """Fresh sessions `<base>-sweep-d<depth>`, shallowest first, then the analysis of each.

    `max_tokens` and `hours` bound the whole sweep, as they bound one babble session: each run gets what
    the earlier runs left, and a run with nothing left is skipped.
    """
    from groundhog.loop.babble import make_runner, new_config, run_session

    options = options or TuneOptions()
    names = sweep_names(base, depths)
    depths = sorted(set(depths))
    loop = parent.settings.loop
    max_tokens = max_tokens if max_tokens is not None else loop.max_tokens
    hours = hours if hours is not None else loop.hours
    planned = []
    for depth, name in zip(depths, names, strict=True):
        svc = services_for(parent, name)
        store = SessionStore(svc.db)
        if any(s.id == name for s in store.all()):
            where = svc.settings.home
            raise BadInput(f"--session: sweep session '{name}' exists (under {where}); pick another name")
        update: dict[str, Any] = {"depth": depth, "max_tokens": None, "hours": None}
        if ideas_per_day is not None:
            update["ideas_per_day"] = ideas_per_day
        settings = svc.settings.model_copy(update={"loop": loop.model_copy(update=update)})
        planned.append((depth, svc, new_config(settings, list(personas), session=name, present=present)))

    started = clock()
    tokens_spent = 0
    runs: list[SweepRun] = []
    stop: str | None = None
    for depth, svc, config in planned:
        home = str(svc.settings.home)
        tokens_left = None if max_tokens is None else max_tokens - tokens_spent
        hours_left = None if hours is None else hours - (clock() - started) / 3600
        if stop is None and tokens_left is not None and tokens_left <= 0:
            stop = f"--max-tokens budget spent ({tokens_spent} of {max_tokens} tokens) before this run"
        if stop is None and hours_left is not None and hours_left <= 0:
            stop = f"--hours budget spent ({hours} h) before this run"
        if stop is not None:
            runs.append(SweepRun(depth=depth, session=config.id, home=home, status="skipped", reason=stop))
            continue
        config = config.model_copy(update={"max_tokens": tokens_left, "hours": hours_left})
        store = SessionStore(svc.db)
        store.create(config)
        if on_run:
            on_run(depth, config.id)
        outcome = run_session(make_runner(svc, config, on_event=on_event), handle_signals=handle_signals)
        report = analyse(svc, config.id, options)
        tokens_spent += report.totals.tokens
        runs.append(
            SweepRun(
                depth=depth,
                session=config.id,
                home=home,
                status=outcome.status,
                reason=outcome.reason,
                days_done=report.days_analysed,
                generated=report.totals.generated,
                unique_surviving=report.totals.unique_surviving,
                tokens=report.totals.tokens,
                survivors_per_1k_tokens=report.totals.survivors_per_1k_tokens,
                recommendation=report.recommendation,
                report=report,
            )
        )
        svc.close()
        if outcome.status in ("interrupted", "failed"):
            stop = f"an earlier run stopped ({outcome.status}: {outcome.reason})"
    return _sweep_report(base, depths, list(personas), runs)


def _sweep_report(base: str, depths: list[int], personas: list[str], runs: list[SweepRun]) -> SweepReport:
    rated = [r for r in runs if r.survivors_per_1k_tokens is not None]
    best = max(rated, key=lambda r: (r.survivors_per_1k_tokens or 0.0, -r.depth), default=None)
    if best is None:
        summary = "no run finished a day: nothing to compare"
    elif not best.unique_surviving:
        summary = "no depth bought a unique survivor with this model and critic"
    else:
        most = max(rated, key=lambda r: (r.unique_surviving, -r.depth))
        summary = (
            f"depth {best.depth} bought the most unique survivors per 1k tokens "
            f"({best.survivors_per_1k_tokens:g}); depth {most.depth} the most in all "
            f"({most.unique_surviving})"
        )
    return SweepReport(
        base=base,
        depths=depths,
        personas=personas,
        runs=runs,
        best_depth=best.depth if best is not None and best.unique_surviving else None,
        summary=summary,
    )
