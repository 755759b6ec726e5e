"""The critic's audit in `groundhog tune`: per persona and day (and pooled per day), how the reviewer's
decisions on that day's ideas bear out the critic's verdicts (`review.stats.critic_audit`: the miss
rate on audit items, the precision on survivors and the agreement, each with a 95% Wilson interval)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from groundhog.core.records import QueueItem
from groundhog.review.stats import CriticAudit, critic_audit
from groundhog.tune.report import TuneReport


def audit_days(report: TuneReport, items: Sequence[QueueItem]) -> TuneReport:
    """Fill each day's `critic` from the session's queue items (survivors and audit items)."""
    by_day: dict[tuple[str, int], list[QueueItem]] = defaultdict(list)
    for item in items:
        if item.idea.session == report.session:
            by_day[(item.idea.persona, item.idea.day)].append(item)
            by_day[("*", item.idea.day)].append(item)
    for persona in report.personas:
        for d in persona.days:
            d.critic = critic_audit(by_day.get((persona.persona, d.day), [])).model_dump(mode="json")
    for d in report.days:
        d.critic = critic_audit(by_day.get(("*", d.day), [])).model_dump(mode="json")
    return report


def session_audit(report: TuneReport, items: Sequence[QueueItem]) -> dict[str, CriticAudit]:
    """Over the whole session: per persona, and every persona together under '*'."""
    mine = [i for i in items if i.idea.session == report.session]
    out = {p.persona: critic_audit(i for i in mine if i.idea.persona == p.persona) for p in report.personas}
    out["*"] = critic_audit(mine)
    return out
