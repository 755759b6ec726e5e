"""What a night checks and loads before its first day: a present it may simulate, and the personas'
grounding writings in the log."""

from __future__ import annotations

from datetime import date, timedelta

from groundhog.core.errors import BadInput
from groundhog.core.records import stable_id, today
from groundhog.memory.store import LogStore
from groundhog.researchers.personas import Persona, corpus_chunks, corpus_files

FAR_FUTURE_DAYS = 366


def check_present(
    present: date, depth: int, drift_days: int, *, allow_far_future: bool, now: date | None = None
) -> None:
    """Simulate, don't predict: refuse a present (first or last day) more than a year past today."""
    now = now or today()
    last = present + timedelta(days=(depth - 1) * drift_days)
    if allow_far_future:
        return
    if present - now > timedelta(days=FAR_FUTURE_DAYS):
        raise BadInput(
            f"--present: {present} is more than a year after today ({now}); personas simulate the present, "
            "they do not predict the future (use --allow-far-future to force it)"
        )
    if last - now > timedelta(days=FAR_FUTURE_DAYS):
        raise BadInput(
            f"--drift-days: with depth {depth} the present drifts to {last}, more than a year after today ({now}); "
            "lower --drift-days or --depth, or use --allow-far-future"
        )


def ingest_corpus(log: LogStore, *personas: Persona) -> int:
    """Put personas' grounding writings into the log as `corpus` entries (idempotent): one lookup and
    one write for all of them, so a night of many personas does not start with one round trip each."""
    from groundhog.core.records import LogEntry

    entries = []
    for persona in personas:
        for path in corpus_files(persona):
            for n, chunk in enumerate(corpus_chunks(path)):
                entries.append(
                    LogEntry(
                        id=stable_id("corpus", persona.id, path.name, n),
                        persona=persona.id,
                        kind="corpus",
                        text=chunk,
                        importance=0.3,
                        meta={"source": path.name, "chunk": n},
                    )
                )
    if entries:
        existing = {e.id for e in log.get_many([e.id for e in entries])}
        fresh = [e for e in entries if e.id not in existing]
        if fresh:
            log.add(fresh)
    return len(entries)
