"""The pairwise tournament (`groundhog rank`): the critic model compares queued ideas two at a time.

Pairing is Swiss with uncertainty: each round, every idea that has met fewer than `matches` opponents
gets one new opponent it has not met, the one nearest to it in rating relative to their combined
uncertainty (so an idea whose rating is still vague may meet one farther away), those with the fewest
matches and the vaguest ratings choosing first. The first round, with nothing known, pairs at random.
After each round the Bradley-Terry ratings (`review.ratings`) are fitted again over every judgement in
the home, the reviewer's compare-mode choices included, and the next round pairs by them.

Position bias: each pair is shown once, in an order drawn from a seeded coin per pair (recorded: the
judgement's `idea_a` is the idea shown first), and the ratings fit the judge's first-position advantage
alongside the strengths; with `both_orders` each pair is asked both ways (twice the calls).

Each call's reasoning is stored with its judgement (the `note`), and its tokens with the tournament,
in one transaction. `max_tokens` bounds the run's tokens over all its runs: no call starts that the
tokens spent and in flight (at the mean cost of a call so far) would take past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from groundhog.core.errors import StructuredOutputError
from groundhog.core.records import QueueItem, Usage, stable_id
from groundhog.providers.client import ModelClient
from groundhog.rank.ratings import Fit, refresh_ratings
from groundhog.researchers.prompts import render_plain
from groundhog.researchers.schemas import pairwise_schema
from groundhog.store.tournaments import TournamentRow, TournamentStore

CHARS_PER_TOKEN = 4
FIRST_CALL_ESTIMATE = 1200  # tokens a call is assumed to cost before any has finished


def swiss_pairs(
    ideas: Sequence[str],
    played: dict[str, int],
    met: set[frozenset[str]],
    fit: Fit,
    target: int,
    rng: random.Random,
) -> list[tuple[str, str]]:
    """One round: disjoint pairs that have not met, each pairing an idea short of `target` matches."""
    tiebreak = {i: rng.random() for i in ideas}
    need = [i for i in ideas if played.get(i, 0) < target]
    need.sort(key=lambda i: (played.get(i, 0), -fit.sd(i), tiebreak[i]))
    busy: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for i in need:
        if i in busy:
            continue
        free = [j for j in ideas if j != i and j not in busy and frozenset((i, j)) not in met]
        if not free:
            continue

        def distance(j: str, i: str = i) -> tuple[bool, float, float]:
            gap = abs(fit.strength(i) - fit.strength(j)) / (1.0 + fit.sd(i) ** 2 + fit.sd(j) ** 2) ** 0.5
            return (played.get(j, 0) >= target, gap, tiebreak[j])  # one still short of matches first

        j = min(free, key=distance)
        pairs.append((i, j))
        busy |= {i, j}
    return pairs


@dataclass
class RankReport:
    """What a run did, and where the tournament stands."""

    tournament: TournamentRow
    fit: Fit
    rounds: int = 0
    new_calls: int = 0
    usage: Usage = field(default_factory=Usage)

    @property
    def ideas(self) -> int:
        return len(self.tournament.ideas)

    def per_idea(self) -> dict[str, float]:
        """The tournament's cost per idea entered, over all its runs."""
        t, n = self.tournament, max(1, len(self.tournament.ideas))
        return {"calls": round(t.calls / n, 3), "tokens": round(t.tokens / n, 1)}


class Tournament:
    """Runs (or resumes) one tournament; model calls go through `limit`, shared with anything else."""

    def __init__(
        self,
        *,
        store: TournamentStore,
        items: dict[str, QueueItem],
        model: ModelClient,
        limit: asyncio.Semaphore | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.items = items
        self.model = model
        self.limit = limit or asyncio.Semaphore(1)
        self.on_progress = on_progress or (lambda message: None)
        self._in_flight = 0
        self._budget_hit = False

    # -- one call -------------------------------------------------------------------------------

    def _messages(self, first: QueueItem, second: QueueItem) -> list[tuple[str, str]]:
        a, b = first.idea, second.idea
        return render_plain(
            "pairwise",
            title_a=a.title,
            summary_a=a.summary,
            rationale_a=a.rationale or "(none given)",
            title_b=b.title,
            summary_b=b.summary,
            rationale_b=b.rationale or "(none given)",
        )

    def _estimate(self, row: TournamentRow, first: QueueItem, second: QueueItem) -> int:
        if row.calls:
            return max(1, row.tokens // row.calls)
        text = sum(len(m[1]) for m in self._messages(first, second))
        return max(FIRST_CALL_ESTIMATE, text // CHARS_PER_TOKEN + 400)

    def _may_start(self, tid: str, first: QueueItem, second: QueueItem) -> bool:
        row = self.store.get(tid)
        if row.max_tokens is None:
            return True
        cost = self._estimate(row, first, second)
        if row.tokens + (self._in_flight + 1) * cost > row.max_tokens:
            self._budget_hit = True
            return False
        return True

    async def _ask(self, tid: str, first: str, second: str, report: RankReport) -> bool:
        """One comparison, committed with its cost; False when its reply could not be read."""
        a, b = self.items[first], self.items[second]
        if not self._may_start(tid, a, b):
            return False
        self._in_flight += 1
        try:
            async with self.limit:
                reply = await self.model.astructured(self._messages(a, b), pairwise_schema(self.model.limits))
        except StructuredOutputError as exc:
            usage = exc.usage if isinstance(exc.usage, Usage) else Usage(calls=1)
            self.store.record(tid, usage)
            report.usage, report.new_calls = report.usage + usage, report.new_calls + 1
            return False
        finally:
            self._in_flight -= 1
        out = reply.value
        winner = "a" if out.better == "A" else "b"
        self.store.record(
            tid, reply.usage, first=first, second=second, winner=winner, judge=self.model.name,
            reasoning=out.comparison.strip(),
        )  # fmt: skip
        report.usage, report.new_calls = report.usage + reply.usage, report.new_calls + 1
        return True

    async def _match(self, tid: str, pair: tuple[str, str], both: bool, report: RankReport) -> bool:
        i, j = sorted(pair)
        coin = int(stable_id(tid, i, j), 16) % 2  # the order shown: seeded per pair, recorded in the row
        first, second = (i, j) if coin else (j, i)
        done = await self._ask(tid, first, second, report)
        if both and not self._budget_hit:
            done = await self._ask(tid, second, first, report) or done
        return done

    # -- the rounds -----------------------------------------------------------------------------

    async def run(self, tid: str) -> RankReport:
        row = self.store.get(tid)
        rng = random.Random(stable_id("tournament", tid))
        ideas = [i for i in row.ideas if i in self.items]
        report = RankReport(row, refresh_ratings(self.store.db))
        self.store.update(tid, status="running", reason="")
        tried: set[frozenset[str]] = set()  # pairs whose reply could not be read: not asked again this run
        try:
            while True:
                pairs = self.store.pairs(tid)
                met = {frozenset(p) for p in pairs} | tried
                played = {i: 0 for i in ideas}
                for pair in {frozenset(p) for p in pairs}:
                    for idea in pair:
                        played[idea] = played.get(idea, 0) + 1
                short = [i for i in ideas if played[i] < row.matches]
                if not short:
                    status, reason = "completed", f"every idea met {row.matches} opponents"
                    break
                todo = swiss_pairs(ideas, played, met, report.fit, row.matches, rng)
                if not todo:
                    status = "completed"
                    reason = f"every pair has met; {len(short)} ideas have fewer than {row.matches} opponents"
                    break
                report.rounds += 1
                self.on_progress(f"round {report.rounds}: {len(todo)} matches")
                results = await asyncio.gather(*(self._match(tid, p, row.both_orders, report) for p in todo))
                report.fit = refresh_ratings(self.store.db)
                if self._budget_hit:
                    row = self.store.get(tid)
                    status = "budget-reached"
                    reason = f"--max-tokens budget reached ({row.tokens} of {row.max_tokens} tokens)"
                    break
                if not any(results):
                    status, reason = "failed", "no reply in a whole round could be read as a comparison"
                    break
                tried |= {frozenset(p) for p, ok in zip(todo, results, strict=True) if not ok}
        except BaseException:
            with contextlib.suppress(Exception):  # the matches on disk stay; say how it stopped, if it can
                self.store.update(tid, status="interrupted", reason="stopped during a round; resume to go on")
                refresh_ratings(self.store.db)
            raise
        self.store.update(tid, status=status, reason=reason)
        report.tournament = self.store.get(tid)
        return report
