"""Where a queued idea came from, gathered from the log: what its persona read that morning, what it cites,
each version with the critique that led to the next one, and the notebook the persona wrote that day.

The day's notebook entry carries `context_ids`: the ids of the entries the wake-up context showed, in the
order shown. The labels the persona cited them by (N1, F1, I1, C1, G1, ...) are numbered per kind in that
order, as `loop.wake` numbers them; they are rebuilt here from that order. On a seminar day the notebook
also carries `seminar_ids`: the other personas' ideas the seminar showed, labelled S1, S2, ... in order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError

from groundhog.core.records import CritiqueResult, LogEntry, Parent, QueueItem, stable_id

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore

# As `loop.wake.LABEL_PREFIX` (review may not import the loop).
LABEL_PREFIX = {"notebook": "N", "feedback": "F", "idea": "I", "critique": "C", "corpus": "G"}


@dataclass
class ContextLine:
    entry_id: str
    label: str  # "?" for an entry no longer in the log
    entry: LogEntry | None


@dataclass
class Version:
    """One version of the idea (0 is the original) and the critique it got."""

    revision: int
    idea_id: str
    title: str
    text: str
    critique: CritiqueResult | None
    final: bool = False


@dataclass
class Provenance:
    item: QueueItem
    notebook: LogEntry | None = None
    context: list[ContextLine] = field(default_factory=list)
    cited: list[ContextLine] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    feedback: LogEntry | None = None  # the reviewer's decision as the persona will read it

    @property
    def thinking(self) -> str:
        return str(self.notebook.meta.get("thinking", "")) if self.notebook else ""

    @property
    def parents(self) -> list[tuple[Parent, ContextLine | None]]:
        """The other personas' ideas this one combines or refines, with their authors, each with its entry."""
        lines = {line.entry_id: line for line in self.cited}
        return [(parent, lines.get(parent.id)) for parent in self.item.idea.parents]

    @property
    def critiques(self) -> list[CritiqueResult]:
        """The final version's critic, then each cross critic: full reasoning and scores."""
        crit = self.item.critique
        return [crit, *crit.cross]


def _split_ids(value: object) -> list[str]:
    return [part for part in str(value or "").split(",") if part]


def context_lines(ids: list[str], entries: list[LogEntry], seminar: Collection[str] = ()) -> list[ContextLine]:
    """Labels by kind in the order the context showed the entries (the seminar's ideas: S1, S2, ...)."""
    found = {e.id: e for e in entries}
    counters: dict[str, int] = {}
    lines = []
    for entry_id in ids:
        entry = found.get(entry_id)
        label = "?"
        if entry is not None:
            prefix = "S" if entry_id in seminar else LABEL_PREFIX.get(entry.kind, "?")
            counters[prefix] = counters.get(prefix, 0) + 1
            label = f"{prefix}{counters[prefix]}"
        lines.append(ContextLine(entry_id, label, entry))
    return lines


def _parse_critique(entry: LogEntry | None) -> CritiqueResult | None:
    raw = entry.meta.get("critique_json") if entry else None
    if not raw:
        return None
    try:
        return CritiqueResult.model_validate_json(str(raw))
    except ValidationError:
        return None


def versions(item: QueueItem, log: LogStore) -> list[Version]:
    """Every version of the idea in revision order, the queued one last with its queued critique."""
    idea = item.idea
    root = idea.parent_id or idea.id
    same_day = log.entries(kind="idea", session=idea.session, persona=idea.persona, day=idea.day)
    found = [e for e in same_day if e.id == root or str(e.meta.get("parent_id", "")) == root]
    found = [e for e in found if e.id != idea.id]
    found.sort(key=lambda e: (int(e.meta.get("revision", 0) or 0), e.created_at))
    critiques = {e.id: e for e in log.get_many([stable_id(e.id, "critique") for e in found])}
    out = [
        Version(
            revision=int(e.meta.get("revision", 0) or 0),
            idea_id=e.id,
            title=str(e.meta.get("title", "")),
            text=e.text,
            critique=_parse_critique(critiques.get(stable_id(e.id, "critique"))),
        )
        for e in found
    ]
    out.append(Version(idea.revision, idea.id, idea.title, idea.text, item.critique, final=True))
    return out


def gather(item: QueueItem, log: LogStore) -> Provenance:
    """Everything the provenance panel shows, in a handful of log reads."""
    idea = item.idea
    notebook = log.get(stable_id(idea.session, idea.persona, idea.day, "notebook")) if idea.session else None
    if notebook is None:
        notebooks = log.entries(kind="notebook", session=idea.session, persona=idea.persona, day=idea.day)
        notebook = notebooks[-1] if notebooks else None
    ids = _split_ids(notebook.meta.get("context_ids")) if notebook else []
    wanted = list(dict.fromkeys([*ids, *idea.builds_on, stable_id(idea.id, "feedback")]))
    entries = log.get_many(wanted)
    context = context_lines(ids, entries, set(_split_ids(notebook.meta.get("seminar_ids")) if notebook else ()))
    labels = {line.entry_id: line.label for line in context}
    found = {e.id: e for e in entries}
    cited = [ContextLine(ref, labels.get(ref, "?"), found.get(ref)) for ref in idea.builds_on]
    return Provenance(
        item=item,
        notebook=notebook,
        context=context,
        cited=cited,
        versions=versions(item, log),
        feedback=found.get(stable_id(idea.id, "feedback")),
    )
