"""Judging again the ideas a critic left unjudged (its reply could not be read after the repair).

The idea and every earlier version are in the log; the stage judges the latest version again, with the
revision rounds it has left, and the new verdicts are upserted over the old entries (same ids). A
survivor joins the queue as it would have on its day, and so does a rejection the audit draw picks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from groundhog.core.records import LogEntry, QueueItem, Usage, utcnow
from groundhog.critique.audit import audited
from groundhog.critique.entries import critique_entry, idea_entry, idea_of
from groundhog.critique.stage import CritiqueStage
from groundhog.memory.store import LogStore
from groundhog.researchers.personas import Persona
from groundhog.store.queue import ReviewQueue, rank_score


@dataclass
class Rejudged:
    judged: int = 0
    passed: int = 0
    still_unjudged: int = 0
    usage: Usage = field(default_factory=Usage)
    by_day: dict[tuple[str, int], Usage] = field(default_factory=dict)  # (persona, day) -> tokens spent
    judged_ids: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (persona, day) -> ids


def unjudged_ideas(log: LogStore, session: str) -> list[LogEntry]:
    """The session's ideas whose latest verdict is unjudged, oldest first (only those are read: a night of
    thousands of persona-days asks this at its start and its end)."""
    return log.entries(kind="idea", session=session, meta={"verdict": "unjudged"})


async def rejudge_session(
    *,
    session: str,
    log: LogStore,
    queue: ReviewQueue,
    personas: Mapping[str, Persona],
    stage_for: Callable[[Persona], CritiqueStage],
) -> Rejudged:
    """Judge every unjudged idea of the session again; ideas of personas not given are left as they are."""
    report = Rejudged()
    todo = await asyncio.to_thread(unjudged_ideas, log, session)
    ideas = [e for e in todo if e.persona in personas and "idea_json" in e.meta]

    async def one(entry: LogEntry) -> None:
        latest = idea_of(entry)
        chain = [latest]
        while chain[0].parent_id and chain[0].revision > 0:  # the earlier versions, for the lineage
            parents = [e for e in await asyncio.to_thread(log.get_many, [chain[0].parent_id]) if "idea_json" in e.meta]
            if not parents:
                break
            chain.insert(0, idea_of(parents[0]))
        author = personas[entry.persona]
        stage = stage_for(author)
        outcome = await stage.rejudge(chain, author, present=latest.present or utcnow().date())
        now = utcnow()
        entries: list[LogEntry] = []
        for idea, crit in zip(outcome.versions, outcome.results, strict=False):
            entries += [idea_entry(idea, crit, now), critique_entry(idea, crit, now)]
        await asyncio.to_thread(log.add, entries)
        report.usage = report.usage + outcome.usage
        key = (entry.persona, entry.day)
        report.by_day[key] = report.by_day.get(key, Usage()) + outcome.usage
        if outcome.verdict.verdict == "unjudged":
            report.still_unjudged += 1
            return
        report.judged += 1
        report.judged_ids.setdefault(key, []).append(entry.id)
        report.passed += outcome.passed
        if outcome.passed or audited(outcome.verdict, outcome.final.id, stage.thresholds.audit_fraction):
            item = QueueItem(
                idea=outcome.final,
                critique=outcome.verdict,
                novelty=outcome.novelty,
                rank_score=rank_score(outcome.verdict, outcome.novelty),
                origin="survivor" if outcome.passed else "audit",  # audit: a sample of the critic's rejections
            )
            queue.add(item)  # the connection belongs to this thread: a quick insert, on the loop

    await asyncio.gather(*(one(e) for e in ideas))
    return report
