"""How an idea and its critique are written into the log: one shape for sessions and `groundhog critique`."""

from __future__ import annotations

from datetime import datetime

from groundhog.core.records import CritiqueResult, Idea, LogEntry, MetaValue, stable_id


def critique_text(idea: Idea, crit: CritiqueResult) -> str:
    """The critique as a persona reads it in a later notebook."""
    if crit.flags:
        return "Screened out: " + "; ".join(f"{f.name}: {f.reason}" for f in crit.flags)
    if not crit.critic:
        return f"'{idea.title}' passed the screens; the critic was not run."
    if crit.scores is None:
        return f"Critique of '{idea.title}' ({crit.verdict}). {crit.reasoning}"
    text = f"Critique of '{idea.title}' ({crit.verdict}; {crit.scores.describe()}). {crit.reasoning}"
    text += f" Weakest point: {crit.weakest_point}"
    for cross in crit.cross:
        text += f"\nCross-critique by {cross.critic} ({cross.verdict}): {cross.reasoning}"
    return text


def idea_entry(idea: Idea, crit: CritiqueResult, now: datetime, **extra: MetaValue) -> LogEntry:
    """The idea itself (every version), kept whatever its fate so the duplicate screen sees it."""
    return LogEntry(
        id=idea.id,
        persona=idea.persona,
        session=idea.session,
        day=idea.day,
        kind="idea",
        text=idea.text,
        importance=0.6 if crit.verdict == "pass" else 0.4,
        created_at=now,
        present=idea.present,
        meta={
            "title": idea.title,
            "verdict": crit.verdict,
            "flags": ",".join(f.name for f in crit.flags),
            "revision": idea.revision,
            "parent_id": idea.parent_id or "",
            "builds_on": ",".join(idea.builds_on),
            "idea_json": idea.model_dump_json(),  # the idea whole, to judge it again if it is left unjudged
            **extra,
        },
    )


def idea_of(entry: LogEntry) -> Idea:
    """The idea an `idea_entry` was written from."""
    return Idea.model_validate_json(str(entry.meta["idea_json"]))


def critique_entry(idea: Idea, crit: CritiqueResult, now: datetime) -> LogEntry:
    return LogEntry(
        id=stable_id(idea.id, "critique"),
        persona=idea.persona,
        session=idea.session,
        day=idea.day,
        kind="critique",
        text=critique_text(idea, crit),
        importance=0.5,
        created_at=now,
        present=idea.present,
        meta={
            "idea_id": idea.id,
            "verdict": crit.verdict,
            "flags": ",".join(f.name for f in crit.flags),
            "critic": crit.critic,
            "critique_json": crit.model_dump_json(),
        },
    )
