"""The session's sums while it runs: read from the day rows once, then kept as the runner commits days.

Each finished day's event carries the persona's selection bits, its epoch's and the session's tokens,
and the budgets read the session's sums before every day; asking the database for them (three aggregate
queries a day) cost more CPU than the rest of a day's bookkeeping. The runner is the only writer of its
session's day rows while it runs (the session's lock sees to that), so the sums it keeps are the rows'
sums: each committed day replaces that day's share (a redone day replaces its failed attempt's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from groundhog.store.sessions import DayRow, Totals


class Tally:
    def __init__(self, rows: Iterable[DayRow] = ()) -> None:
        self._days: dict[str, dict[int, tuple[int, Totals]]] = defaultdict(dict)  # persona -> day -> (epoch, share)
        self._sum = Totals()
        for row in rows:
            self.record(row.persona, row.day, row.epoch, Totals.of_day(row))

    def record(self, persona: str, day: int, epoch: int, share: Totals) -> None:
        """A day just committed: its share replaces the one its row had before (if any)."""
        days = self._days[persona]
        previous = days.get(day)
        if previous is not None:
            self._sum = self._sum - previous[1]
        days[day] = (epoch, share)
        self._sum = self._sum + share

    def totals(self, persona: str | None = None, epoch: int | None = None) -> Totals:
        """As `SessionStore.totals` would answer now: the session's, or one persona's (in one epoch)."""
        if persona is None and epoch is None:
            return self._sum
        out = Totals()
        for days in self._days.values() if persona is None else [self._days.get(persona, {})]:
            for row_epoch, share in days.values():
                if epoch is None or row_epoch == epoch:
                    out = out + share
        return out
