"""Tuning the loop depth: what each extra day bought, how far the output drifted, and a recommended depth.

Every extra day costs tokens. Past some depth the personas repeat themselves (new unique survivors per
token plateau) or drift away from who they are (their output moves off their grounding text, towards
another persona's). `analyse_session` measures both from the stores a session left behind. The vector
maths lives in `loop.tune_vectors`, the sweep over depths in `loop.sweep`, the figures in
`loop.tune_plot`; those import this module, never the other way round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from groundhog.core.interfaces import Embedder
from groundhog.core.records import FLAG_NAMES, LogEntry, selection_bits
from groundhog.store.sessions import DayRow, SessionStore
from groundhog.tune.diversity import session_diversity
from groundhog.tune.epochs import epoch_bits
from groundhog.tune.literature import literature_by_day
from groundhog.tune.literature import pool as pool_literature
from groundhog.tune.report import (
    Cause,
    DayStats,
    PersonaTune,
    Recommendation,
    TuneOptions,
    TuneReport,
    TuneTotals,
    rounded,
)
from groundhog.tune.vectors import VectorCache, centroid, grounding_centroids, in_character_score, novelty_by_day

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore
    from groundhog.researchers.personas import Persona, PersonaRegistry
    from groundhog.store.database import Database
    from groundhog.store.queue import ReviewQueue

SESSION = "*"  # the `persona` of the rows that pool every persona of a session


# -- analysis -----------------------------------------------------------------------------------


def _per_1k(survivors: int, tokens: int) -> float | None:
    return rounded(1000.0 * survivors / tokens) if tokens > 0 else None


def _rates(flags: Mapping[str, int], generated: int) -> dict[str, float]:
    return {k: round(v / generated, 4) for k, v in flags.items()} if generated else {}


def _counts(row: DayRow, decisions: Mapping[str, str]) -> DayStats:
    ideas: list[dict[str, Any]] = list(row.summary.get("ideas", []))
    flags = dict.fromkeys(FLAG_NAMES, 0)
    tokens = row.prompt_tokens + row.completion_tokens
    stats = DayStats(persona=row.persona, day=row.day, status=row.status, epoch=row.epoch, tokens=tokens)
    for idea in ideas:
        names = set(idea.get("flags", []))
        for name in names & set(FLAG_NAMES):
            flags[name] += 1
        duplicate = "duplicate" in names
        passed = idea.get("verdict") == "pass"
        stats.generated += 1
        stats.drafts += max(1, int(idea.get("versions", 1)))
        stats.unique += not duplicate
        stats.surviving += passed
        stats.unique_surviving += passed and not duplicate
        status = decisions.get(str(idea.get("final_id", ""))) if passed else None  # not the audit items
        stats.accepted += status == "accepted"
        stats.rejected += status == "rejected"
    stats.flags = flags
    stats.flag_rates = _rates(flags, stats.generated)
    stats.survivors_per_1k_tokens = _per_1k(stats.unique_surviving, stats.tokens)
    return stats


def _cumulative_bits(days: list[DayStats]) -> None:
    drafts = surviving = 0
    for d in days:
        drafts += d.drafts
        surviving += d.surviving
        d.cumulative_bits = selection_bits(drafts, surviving)


def _totals(days: Sequence[DayStats]) -> TuneTotals:
    t = TuneTotals(
        generated=sum(d.generated for d in days),
        drafts=sum(d.drafts for d in days),
        unique=sum(d.unique for d in days),
        surviving=sum(d.surviving for d in days),
        unique_surviving=sum(d.unique_surviving for d in days),
        accepted=sum(d.accepted for d in days),
        rejected=sum(d.rejected for d in days),
        tokens=sum(d.tokens for d in days),
    )
    t.survivors_per_1k_tokens = _per_1k(t.unique_surviving, t.tokens)
    t.selection_bits = selection_bits(t.drafts, t.surviving)
    decided = t.accepted + t.rejected
    t.acceptance_rate = rounded(t.accepted / decided) if decided else None
    return t


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return rounded(sum(present) / len(present)) if present else None


_COUNTS = ("generated", "drafts", "unique", "surviving", "unique_surviving", "accepted", "rejected", "tokens")


def _pool(by_persona: Mapping[str, list[DayStats]], novelty: Mapping[int, float]) -> list[DayStats]:
    """Every persona together, day by day: sums of counts, means of the distances."""
    by_day: dict[int, list[DayStats]] = defaultdict(list)
    for days in by_persona.values():
        for d in days:
            by_day[d.day].append(d)
    pooled = []
    for day in sorted(by_day):
        group = by_day[day]
        status: Literal["done", "failed"] = "done" if any(d.status == "done" for d in group) else "failed"
        s = DayStats(persona=SESSION, day=day, status=status)
        for field in _COUNTS:
            setattr(s, field, sum(getattr(d, field) for d in group))
        s.flags = {k: sum(d.flags.get(k, 0) for d in group) for k in FLAG_NAMES}
        s.flag_rates = _rates(s.flags, s.generated)
        s.survivors_per_1k_tokens = _per_1k(s.unique_surviving, s.tokens)
        s.novelty = rounded(novelty.get(day))
        for field in ("drift_from_grounding", "drift_from_day1", "drift_rise", "in_character"):
            setattr(s, field, _mean(getattr(d, field) for d in group))
        pooled.append(s)
    _cumulative_bits(pooled)
    return pooled


def recommend(
    days: Sequence[DayStats],
    options: TuneOptions,
    *,
    drift_days: Sequence[DayStats] | None = None,
) -> Recommendation:
    """The depth after which more days stop paying: a plateau or drift, whichever comes first.

    Plateau: from some day on, every day's unique survivors per 1k tokens stays below `plateau_fraction`
    of day 1's (of the first day that bought any, when day 1 bought none); the depth is the day before.
    Drift: the first day whose distance from the grounding text rose more than `max_drift` above day 1's
    (any persona's, in `drift_days`); the depth is the day before. Neither: all the days analysed.
    """
    rated = [d for d in days if d.survivors_per_1k_tokens is not None]
    if not rated:
        return Recommendation(depth=0, cause="no-data", reason="no finished day to analyse yet")
    last = max(d.day for d in days)
    base = next((d for d in rated if (d.survivors_per_1k_tokens or 0) > 0), None)

    plateau_day = None
    if base is not None:
        floor = options.plateau_fraction * (base.survivors_per_1k_tokens or 0.0)
        later = [d for d in rated if d.day > base.day]
        for i, d in enumerate(later):
            if all((x.survivors_per_1k_tokens or 0.0) < floor for x in later[i:]):
                plateau_day = d.day
                break

    drift_day, drift_persona, rise = None, None, 0.0
    for d in sorted(drift_days if drift_days is not None else days, key=lambda x: (x.day, x.persona)):
        if d.drift_rise is not None and d.drift_rise > options.max_drift:
            drift_day, drift_persona, rise = d.day, d.persona, d.drift_rise
            break

    if base is None:
        return Recommendation(
            depth=1,
            cause="no-survivors",
            reason=f"none of {last} days bought a unique survivor: more days do not pay with this model",
            drift_day=drift_day,
            drift_persona=drift_persona,
        )
    base_rate = base.survivors_per_1k_tokens
    frac = f"{options.plateau_fraction:g}"
    plateau_words = ""
    if plateau_day is not None:
        at = next(d for d in rated if d.day == plateau_day)
        plateau_words = (
            f"from day {plateau_day} on, new unique survivors per 1k tokens stay below {frac} of "
            f"day {base.day}'s ({at.survivors_per_1k_tokens:g} on day {plateau_day} vs {base_rate:g})"
        )
    drift_words = ""
    if drift_day is not None:
        who = "" if drift_persona in (None, SESSION) else f"{drift_persona}'s "
        drift_words = (
            f"on day {drift_day} {who}output drifted {rise:.3f} further from its grounding text "
            f"than on day 1 (bound {options.max_drift:g})"
        )

    def made(depth: int, cause: Cause, reason: str) -> Recommendation:
        return Recommendation(
            depth=depth,
            cause=cause,
            reason=reason,
            plateau_day=plateau_day,
            drift_day=drift_day,
            drift_persona=drift_persona,
        )

    if plateau_day is not None and (drift_day is None or plateau_day <= drift_day):
        reason = f"plateau: {plateau_words}"
        if drift_day == plateau_day:
            reason += f"; and {drift_words}"
        return made(plateau_day - 1, "plateau", reason)
    if drift_day is not None:
        return made(drift_day - 1, "drift", f"drift: {drift_words}")
    return made(
        last,
        "none",
        f"no plateau or drift within {last} days (the last day still bought "
        f"{rated[-1].survivors_per_1k_tokens:g} unique survivors per 1k tokens vs {base_rate:g} on day "
        f"{base.day}): more days may still pay",
    )


def analyse_session(
    *,
    sessions: SessionStore,
    log: LogStore,
    queue: ReviewQueue,
    embedder: Embedder,
    personas: Sequence[Persona],
    session_id: str,
    options: TuneOptions | None = None,
) -> TuneReport:
    """Per persona and day, and pooled over the session: yield, novelty, drift, flags and a depth.

    `personas` are every persona whose grounding the in-character score compares against (the registry);
    the session's own personas come from its saved config.
    """
    options = options or TuneOptions()
    row = sessions.get(session_id)
    cache = VectorCache(embedder)
    decisions = {item.idea.id: item.status for item in queue.list(session=session_id)}
    rows: Sequence[DayRow] = sessions.days(session_id)
    wanted = list(dict.fromkeys([*row.config.personas, *(r.persona for r in rows)]))
    centroids = grounding_centroids(cache, personas, log, extra_ids=wanted)

    ideas = log.entries(kind="idea", session=session_id)
    notebooks = log.entries(kind="notebook", session=session_id)
    day_ideas: dict[tuple[str, int], list[LogEntry]] = defaultdict(list)
    day_output: dict[tuple[str, int], list[str]] = defaultdict(list)
    for e in ideas:
        day_ideas[(e.persona, e.day)].append(e)
        day_output[(e.persona, e.day)].append(e.text)
    for e in notebooks:
        day_output[(e.persona, e.day)].append(e.text)
    novelty = novelty_by_day(log, day_ideas)
    literature = literature_by_day(log, day_ideas)
    pooled_novelty: dict[int, float] = {}
    for day in {d for _, d in day_ideas}:
        vals = [(novelty[k], len(day_ideas[k])) for k in day_ideas if k[1] == day and k in novelty]
        if vals:
            pooled_novelty[day] = sum(v * n for v, n in vals) / sum(n for _, n in vals)

    by_persona: dict[str, list[DayStats]] = {}
    for pid in wanted:
        days = [_counts(r, decisions) for r in rows if r.persona == pid]
        own = centroids.get(pid)
        others = [c for other, c in centroids.items() if other != pid]
        first: np.ndarray | None = None
        first_drift: float | None = None
        for d in days:
            d.novelty = rounded(novelty.get((pid, d.day)))
            d.literature_novelty = rounded(literature.get((pid, d.day)))
            texts = day_output.get((pid, d.day), [])
            out = centroid(cache.embed(texts)) if texts else None
            if out is None:
                continue
            if first is None:
                first = out
            d.drift_from_day1 = rounded(1.0 - float(out @ first))
            if own is not None:
                drift = 1.0 - float(out @ own)
                first_drift = drift if first_drift is None else first_drift
                d.drift_from_grounding = rounded(drift)
                d.drift_rise = rounded(drift - first_drift)
                d.in_character = rounded(in_character_score(out[None, :], own, others))
        _cumulative_bits(days)
        by_persona[pid] = days

    pooled = _pool(by_persona, pooled_novelty)
    pool_literature(pooled, literature, day_ideas)
    every_day = [d for days in by_persona.values() for d in days]
    return TuneReport(
        session=row.id,
        status=row.status,
        depth=row.config.depth,
        days_analysed=max((r.day for r in rows), default=0),
        embedder=getattr(embedder, "name", type(embedder).__name__),
        options=options,
        personas=[
            PersonaTune(
                persona=pid,
                days=days,
                epochs=epoch_bits(days),
                totals=_totals(days),
                recommendation=recommend(days, options),
            )
            for pid, days in by_persona.items()
        ],
        days=pooled,
        totals=_totals(every_day),
        recommendation=recommend(pooled, options, drift_days=every_day),
        diversity=session_diversity(sessions, log, session_id, {p.id: p.group for p in personas}),
    )


class Home(Protocol):
    """What `analyse` reads of a home: its stores, embedder and personas, as the composition root
    (`compose.services.Services`) holds them."""

    @property
    def db(self) -> Database: ...
    @property
    def log(self) -> LogStore: ...
    @property
    def queue(self) -> ReviewQueue: ...
    @property
    def embedder(self) -> Embedder: ...
    @property
    def personas(self) -> PersonaRegistry: ...


def analyse(services: Home, session_id: str, options: TuneOptions | None = None) -> TuneReport:
    """`analyse_session` over a home's stores."""
    return analyse_session(
        sessions=SessionStore(services.db),
        log=services.log,
        queue=services.queue,
        embedder=services.embedder,
        personas=services.personas.all(),
        session_id=session_id,
        options=options,
    )
