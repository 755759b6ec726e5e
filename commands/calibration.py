"""`babble --calibrated` and `babble --rank N`: the critic fitted to your decisions (and the learned screen
to the session's embedder) before a session, and a tournament of the session's ideas after it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundhog.commands import common
from groundhog.commands.common import echo

if TYPE_CHECKING:
    from groundhog.compose.services import Services
    from groundhog.store.sessions import SessionConfig


def calibrated_services(svc: Services, home: Path | None, flags: dict[str, Any], resume: str | None) -> Services:
    """The services again, with the critic thresholds that best predict your decisions so far; with too
    few decisions, the same services (the thresholds in force), saying so. The learned screen is fitted
    for the session's embedder first when it has none (the bundled MiniLM ships with one)."""
    from groundhog.core.errors import BadInput
    from groundhog.critique import fitting
    from groundhog.critique.calibrate import calibrate

    if resume:
        raise BadInput("--calibrated: a resumed session keeps the thresholds it started with")
    _, line = fitting.ensure_fitted(svc.embedder, on_progress=lambda message: echo(f"groundhog: {message}", err=True))
    echo(f"groundhog: --calibrated: {line}", err=True)
    fitted = calibrate(svc.queue.list(), svc.settings.thresholds())
    if not fitted.usable or fitted.thresholds is None:
        echo(f"groundhog: --calibrated: {fitted.reason}", err=True)
        return svc
    echo(f"groundhog: --calibrated: critic thresholds {fitted.describe()}", err=True)
    svc.close()
    critique = {**flags.get("critique", {}), **fitted.thresholds}
    return common.services(home, **{**flags, "critique": critique})


def rank_after(svc: Services, config: SessionConfig, matches: int, as_json: bool) -> None:
    """A tournament of the session's open ideas, within what the session's --max-tokens left."""
    from groundhog.core.errors import BadInput
    from groundhog.rank import run as ranking
    from groundhog.store.sessions import SessionStore

    budget = None
    if config.max_tokens is not None:
        budget = config.max_tokens - SessionStore(svc.db).totals(config.id).tokens
        if budget <= 0:
            echo(f"groundhog: --rank: skipped, the session spent its --max-tokens ({config.max_tokens})", err=True)
            return
    try:
        row = ranking.start(svc, session=config.id, matches=matches, max_tokens=budget)
    except BadInput as exc:
        echo(f"groundhog: --rank: skipped, {exc}", err=True)
        return
    report = ranking.run(svc, row, on_progress=lambda message: None)
    t = report.tournament
    if as_json:
        line = {"type": "rank_finished", "session": config.id, "tournament": t.id, "status": t.status,
                "reason": t.reason, "calls": t.calls, "tokens": t.tokens, "per_idea": report.per_idea()}  # fmt: skip
        sys.stdout.write(json.dumps(line) + "\n")
        return
    echo(
        f"ranked {len(t.ideas)} ideas of {config.id} (tournament {t.id}, {t.status}: {t.reason}; {t.calls} calls, "
        f"{t.tokens} tokens); `groundhog review --session {config.id}` now shows them best rating first"
    )
