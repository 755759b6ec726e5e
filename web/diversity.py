"""The review page's diversity view: how far the night's personas stayed apart, per session and group.
It runs on the page's worker thread, over the stores it owns (see `web.app`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from groundhog.core.errors import BadInput
from groundhog.store.sessions import SessionStore
from groundhog.tune.diversity import session_diversity, warning_line
from groundhog.web.filters import Filters, choices

Groups = Callable[[], Mapping[str, str | None]]


def diversity_view(stores: Any, filters: Filters, groups: Groups) -> dict[str, Any]:
    """The figures of the session the filters name (else the latest), and the sessions to pick from."""
    store = SessionStore(stores.queue.db)
    sessions = [row.id for row in store.all()]
    chosen = filters.session or (sessions[0] if sessions else "")
    if chosen and chosen not in sessions:
        raise BadInput(f"session: no session named '{chosen}'")
    report = session_diversity(store, stores.log, chosen, groups()) if chosen else None
    said, stores.flash[:] = list(stores.flash), []
    offered = choices(stores.queue.list())
    offered["sessions"] = sorted(set(sessions) | set(offered["sessions"]))  # a night with no survivor too
    return {
        "report": report,
        "chosen": chosen,
        "warnings": [warning_line(d) for d in report.collapsed] if report else [],
        "scopes": [report.session_figures, *report.groups] if report else [],
        "flash": said,
        **offered,
    }
