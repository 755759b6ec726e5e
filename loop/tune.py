"""Tuning the loop depth: what each extra day bought, how far the output drifted, and a recommended depth.

Every extra day costs tokens. Past some depth the personas repeat themselves (new unique survivors per
token plateau) or drift away from who they are (their output moves off their grounding text, towards
another persona's). `analyse_session` measures both from the stores a session left behind;
`run_sweep` runs fresh sessions at several depths so they can be compared directly.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, field_serializer

from core.errors import BadInput
from core.interfaces import Embedder
from core.records import FLAG_NAMES, LogEntry, selection_bits
from loop.events import EventSink, ignore
from loop.sessions import DayRow, SessionStore, bits_json

if TYPE_CHECKING:
    from loop.services import Services
    from memory.store import LogStore
    from researchers.personas import Persona
    from review.queue import ReviewQueue

DEFAULT_PLATEAU_FRACTION = 0.25
DEFAULT_MAX_DRIFT = 0.15
SESSION = "*"  # the `persona` of the rows that pool every persona of a session

Cause = Literal["plateau", "drift", "none", "no-survivors", "no-data"]


def _r(value: float | None, digits: int = 4) -> float | None:
    """Rounded for the report; + 0.0 turns a rounded -0.0 into 0.0."""
    return None if value is None else round(float(value), digits) + 0.0


# -- records ------------------------------------------------------------------------------------


class TuneOptions(BaseModel):
    """When more days stop paying: the plateau fraction and the drift bound."""

    plateau_fraction: float = Field(default=DEFAULT_PLATEAU_FRACTION, gt=0, le=1)
    max_drift: float = Field(default=DEFAULT_MAX_DRIFT, gt=0, le=2)


class DayStats(BaseModel):
    """One day of one persona (or, with persona "*", of every persona together)."""

    persona: str
    day: int
    status: Literal["done", "failed"] = "done"
    generated: int = 0
    unique: int = 0  # not flagged `duplicate`
    surviving: int = 0  # passed the screens and the critic
    unique_surviving: int = 0
    accepted: int = 0  # human decisions on this day's survivors
    rejected: int = 0
    tokens: int = 0
    survivors_per_1k_tokens: float | None = None  # the marginal yield of this extra day
    novelty: float | None = None  # mean distance of the day's ideas to the nearest earlier idea
    drift_from_grounding: float | None = None  # 1 - cos(day output, grounding centroid)
    drift_from_day1: float | None = None  # 1 - cos(day output, day-1 output)
    drift_rise: float | None = None  # drift_from_grounding minus day 1's: what the bound applies to
    in_character: float | None = None  # cos to own grounding minus max cos to any other persona's
    flags: dict[str, int] = Field(default_factory=dict)
    flag_rates: dict[str, float] = Field(default_factory=dict)
    cumulative_bits: float = 0.0  # log2(generated / surviving) over days 1..day

    @field_serializer("cumulative_bits")
    def _bits(self, value: float) -> float | str:
        return bits_json(value)

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected


class Recommendation(BaseModel):
    """A depth and why, in words."""

    depth: int
    cause: Cause
    reason: str
    plateau_day: int | None = None  # first day of the plateau (yield stays below the fraction from here)
    drift_day: int | None = None  # first day whose drift rise crossed the bound
    drift_persona: str | None = None


class TuneTotals(BaseModel):
    """Sums over days (of one persona, or of all)."""

    generated: int = 0
    unique: int = 0
    surviving: int = 0
    unique_surviving: int = 0
    accepted: int = 0
    rejected: int = 0
    tokens: int = 0
    survivors_per_1k_tokens: float | None = None
    selection_bits: float = 0.0
    acceptance_rate: float | None = None  # accepted / decided, where a human decided

    @field_serializer("selection_bits")
    def _bits(self, value: float) -> float | str:
        return bits_json(value)


class PersonaTune(BaseModel):
    persona: str
    days: list[DayStats]
    totals: TuneTotals
    recommendation: Recommendation


class TuneReport(BaseModel):
    """What `groundhog tune --json` prints for one session."""

    session: str
    status: str
    depth: int  # configured depth
    days_analysed: int  # highest day with a row
    embedder: str
    options: TuneOptions
    personas: list[PersonaTune]
    days: list[DayStats]  # every persona pooled, per day
    totals: TuneTotals
    recommendation: Recommendation


# -- vectors ------------------------------------------------------------------------------------


def unit(vector: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=float)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def centroid(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray | None:
    """The unit-length mean: one direction for a body of text (None for no text)."""
    m = np.asarray(vectors, dtype=float)
    if m.size == 0:
        return None
    return unit(m.reshape(len(m), -1).mean(axis=0))


def in_character_score(
    text_vectors: Sequence[Sequence[float]] | np.ndarray,
    own_centroid: Sequence[float] | np.ndarray,
    other_centroids: Iterable[Sequence[float] | np.ndarray],
) -> float | None:
    """Cosine of the text's centroid to its own persona's grounding minus the best cosine to any other's.

    Positive: the text sounds more like its own persona than like anyone else. A similarity to one's own
    grounding alone says little (every persona writes about alignment); the margin over the nearest other
    persona is what shows the voice. None when there is no text or no other persona to compare with.
    """
    text = centroid(text_vectors)
    others = [unit(c) for c in other_centroids]
    if text is None or not others:
        return None
    own = float(text @ unit(own_centroid))
    return own - max(float(text @ o) for o in others)


class VectorCache:
    """Embeds each distinct text once, in batches."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            for text, vector in zip(chunk, self.embedder.embed(chunk), strict=True):
                self._vectors[text] = unit(vector)
        if not texts:
            return np.zeros((0, 0))
        return np.stack([self._vectors[t] for t in texts])


def grounding_texts(persona: Persona) -> list[str]:
    """The persona's corpus files, chunked as the loop ingests them; empty when it has none."""
    from researchers.personas import chunk_text, corpus_files

    try:
        files = corpus_files(persona)
    except BadInput:
        return []
    return [chunk for path in files for chunk in chunk_text(path.read_text(encoding="utf-8"))]


def grounding_centroids(
    embedder: Embedder | VectorCache,
    personas: Sequence[Persona],
    log: LogStore | None = None,
    extra_ids: Iterable[str] = (),
) -> dict[str, np.ndarray]:
    """Each persona's grounding centroid: its `corpus` entries in the log, else its corpus files.

    `extra_ids` are personas known only from the log (a user persona since removed): log entries only.
    """
    cache = embedder if isinstance(embedder, VectorCache) else VectorCache(embedder)
    logged: dict[str, list[str]] = defaultdict(list)
    if log is not None:
        for e in log.entries(kind="corpus"):
            logged[e.persona].append(e.text)
    out: dict[str, np.ndarray] = {}
    by_id = {p.id: p for p in personas}
    for pid in list(by_id) + [i for i in extra_ids if i not in by_id]:
        texts = logged.get(pid) or (grounding_texts(by_id[pid]) if pid in by_id else [])
        found = centroid(cache.embed(texts)) if texts else None
        if found is not None:
            out[pid] = found
    return out


# -- analysis -----------------------------------------------------------------------------------


def _per_1k(survivors: int, tokens: int) -> float | None:
    return _r(1000.0 * survivors / tokens) if tokens > 0 else None


def _rates(flags: Mapping[str, int], generated: int) -> dict[str, float]:
    return {k: round(v / generated, 4) for k, v in flags.items()} if generated else {}


def _counts(row: DayRow, decisions: Mapping[str, str]) -> DayStats:
    ideas: list[dict[str, Any]] = list(row.summary.get("ideas", []))
    flags = dict.fromkeys(FLAG_NAMES, 0)
    tokens = row.prompt_tokens + row.completion_tokens
    stats = DayStats(persona=row.persona, day=row.day, status=row.status, tokens=tokens)
    for idea in ideas:
        names = set(idea.get("flags", []))
        for name in names & set(FLAG_NAMES):
            flags[name] += 1
        duplicate = "duplicate" in names
        passed = idea.get("verdict") == "pass"
        stats.generated += 1
        stats.unique += not duplicate
        stats.surviving += passed
        stats.unique_surviving += passed and not duplicate
        status = decisions.get(str(idea.get("final_id", "")))
        stats.accepted += status == "accepted"
        stats.rejected += status == "rejected"
    stats.flags = flags
    stats.flag_rates = _rates(flags, stats.generated)
    stats.survivors_per_1k_tokens = _per_1k(stats.unique_surviving, stats.tokens)
    return stats


NEIGHBOURS = 16


def _novelty(log: LogStore, days: Mapping[tuple[str, int], list[LogEntry]]) -> dict[tuple[str, int], float]:
    """Mean over a day's ideas of 1 - cosine to the nearest idea written before that day (any session).

    Uses the log's own index (its embedder and stored vectors), so the cost grows with the session, not
    with the whole history. When none of the k nearest is earlier, the nearest earlier idea is at least
    as far as the k-th, and that bound is used.
    """
    out: dict[tuple[str, int], float] = {}
    for key, entries in days.items():
        if not entries:
            continue
        start = min(e.created_at for e in entries)
        distances = []
        for vector in log.embedder.embed([e.text for e in entries]):
            hits = log.nearest(vector, k=NEIGHBOURS, kind="idea")
            earlier = [sim for e, sim in hits if e.created_at < start]
            if earlier:
                distances.append(1.0 - max(earlier))
            elif len(hits) == NEIGHBOURS:
                distances.append(1.0 - min(sim for _, sim in hits))
        if distances:
            out[key] = max(0.0, float(np.mean(distances)))
    return out


def _cumulative_bits(days: list[DayStats]) -> None:
    generated = surviving = 0
    for d in days:
        generated += d.generated
        surviving += d.surviving
        d.cumulative_bits = selection_bits(generated, surviving)


def _totals(days: Sequence[DayStats]) -> TuneTotals:
    t = TuneTotals(
        generated=sum(d.generated for d in days),
        unique=sum(d.unique for d in days),
        surviving=sum(d.surviving for d in days),
        unique_surviving=sum(d.unique_surviving for d in days),
        accepted=sum(d.accepted for d in days),
        rejected=sum(d.rejected for d in days),
        tokens=sum(d.tokens for d in days),
    )
    t.survivors_per_1k_tokens = _per_1k(t.unique_surviving, t.tokens)
    t.selection_bits = selection_bits(t.generated, t.surviving)
    decided = t.accepted + t.rejected
    t.acceptance_rate = _r(t.accepted / decided) if decided else None
    return t


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return _r(sum(present) / len(present)) if present else None


_COUNTS = ("generated", "unique", "surviving", "unique_surviving", "accepted", "rejected", "tokens")


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
        s.novelty = _r(novelty.get(day))
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
    novelty = _novelty(log, day_ideas)
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
            d.novelty = _r(novelty.get((pid, d.day)))
            texts = day_output.get((pid, d.day), [])
            out = centroid(cache.embed(texts)) if texts else None
            if out is None:
                continue
            if first is None:
                first = out
            d.drift_from_day1 = _r(1.0 - float(out @ first))
            if own is not None:
                drift = 1.0 - float(out @ own)
                first_drift = drift if first_drift is None else first_drift
                d.drift_from_grounding = _r(drift)
                d.drift_rise = _r(drift - first_drift)
                d.in_character = _r(in_character_score(out[None, :], own, others))
        _cumulative_bits(days)
        by_persona[pid] = days

    pooled = _pool(by_persona, pooled_novelty)
    every_day = [d for days in by_persona.values() for d in days]
    return TuneReport(
        session=row.id,
        status=row.status,
        depth=row.config.depth,
        days_analysed=max((r.day for r in rows), default=0),
        embedder=getattr(embedder, "name", type(embedder).__name__),
        options=options,
        personas=[
            PersonaTune(persona=pid, days=days, totals=_totals(days), recommendation=recommend(days, options))
            for pid, days in by_persona.items()
        ],
        days=pooled,
        totals=_totals(every_day),
        recommendation=recommend(pooled, options, drift_days=every_day),
    )


def analyse(services: Services, session_id: str, options: TuneOptions | None = None) -> TuneReport:
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


# -- the sweep ----------------------------------------------------------------------------------


class SweepRun(BaseModel):
    """One fresh session of the sweep, summed up."""

    depth: int
    session: str
    home: str
    status: str  # the session's status, or "skipped" when the budget was spent before it started
    reason: str
    days_done: int = 0  # highest day any persona finished
    generated: int = 0
    unique_surviving: int = 0
    tokens: int = 0
    survivors_per_1k_tokens: float | None = None
    recommendation: Recommendation | None = None
    report: TuneReport | None = None


class SweepReport(BaseModel):
    """What `groundhog tune --sweep --json` prints."""

    base: str
    depths: list[int]
    personas: list[str]
    runs: list[SweepRun]
    best_depth: int | None  # the depth with the most unique survivors per 1k tokens
    summary: str


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


def sweep_home(home: Path, name: str) -> Path:
    return home / "sweeps" / name


def sweep_services(parent: Services, name: str) -> Services:
    """A home of its own for one sweep session, sharing the parent's models, embedder and personas.

    Each depth starts from nothing but the personas' grounding: in the parent's log a deeper run would
    wake with the shallower runs' notebooks and see their ideas as duplicates, which biases the comparison.
    """
    from loop.services import Services

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
    from loop.babble import make_runner, new_config, run_session

    options = options or TuneOptions()
    depths = sorted(set(depths))
    loop = parent.settings.loop
    max_tokens = max_tokens if max_tokens is not None else loop.max_tokens
    hours = hours if hours is not None else loop.hours
    planned = []
    for depth in depths:
        name = f"{base}-sweep-d{depth}"
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


# -- the figure ---------------------------------------------------------------------------------

_PANELS = (
    ("survivors_per_1k_tokens", "new unique survivors / 1k tokens"),
    ("novelty", "novelty (distance to earlier ideas)"),
    ("drift_from_grounding", "drift from grounding (day 1, dashed)"),
    ("in_character", "in-character score"),
)


def plot_report(report: TuneReport, path: Path) -> Path:
    """Four panels, one line per persona; the recommended depth as a dotted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, (field, title) in zip(axes.flat, _PANELS, strict=True):
        for p in report.personas:
            xs = [d.day for d in p.days if getattr(d, field) is not None]
            ys = [getattr(d, field) for d in p.days if getattr(d, field) is not None]
            (line,) = ax.plot(xs, ys, marker="o", label=p.persona)
            if field == "drift_from_grounding":
                x1 = [d.day for d in p.days if d.drift_from_day1 is not None]
                y1 = [d.drift_from_day1 for d in p.days if d.drift_from_day1 is not None]
                ax.plot(x1, y1, linestyle="--", color=line.get_color(), alpha=0.6)
        if field == "survivors_per_1k_tokens":
            xs = [d.day for d in report.days if d.survivors_per_1k_tokens is not None]
            ys = [d.survivors_per_1k_tokens for d in report.days if d.survivors_per_1k_tokens is not None]
            ax.plot(xs, ys, color="black", linewidth=2, label="all personas")
        if field == "in_character":
            ax.axhline(0.0, color="grey", linewidth=0.8)
        if report.recommendation.depth > 0:
            depth = report.recommendation.depth
            ax.axvline(depth, color="grey", linestyle=":", linewidth=1.2, label=f"recommended ({depth})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("day (loop depth)")
    axes.flat[0].legend(fontsize=8)
    rec = report.recommendation
    fig.suptitle(f"{report.session}: recommended depth {rec.depth} ({rec.cause})", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sweep(sweep: SweepReport, path: Path) -> Path:
    """Unique survivors and survivors per 1k tokens against depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    runs = [r for r in sweep.runs if r.status != "skipped"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([r.depth for r in runs], [r.unique_surviving for r in runs], marker="o")
    left.set_title("unique survivors", fontsize=10)
    rated = [r for r in runs if r.survivors_per_1k_tokens is not None]
    right.plot([r.depth for r in rated], [r.survivors_per_1k_tokens for r in rated], marker="o")
    right.set_title("unique survivors / 1k tokens", fontsize=10)
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("depth (days)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"sweep {sweep.base}: {sweep.summary}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
