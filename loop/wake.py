"""Wake-up: what a persona reads each morning. Only the log, retrieved and fitted to a budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from groundhog.core.records import LogEntry
from groundhog.core.settings import RetrievalSettings
from groundhog.memory.store import LogStore
from groundhog.researchers.personas import Persona

LABEL_PREFIX = {"notebook": "N", "feedback": "F", "idea": "I", "critique": "C", "corpus": "G"}
HEADINGS = {
    "notebook": "Your latest notes",
    "feedback": "What the human reviewer said",
    "relevant": "Earlier work relevant to your agenda",
    "corpus": "From your own writing",
}
ENTRY_CHARS = 600


@dataclass
class WakeContext:
    """The notebook as the persona reads it, with labels it can cite and the ids behind them."""

    text: str
    labels: dict[str, str] = field(default_factory=dict)  # label -> entry id

    @property
    def entry_ids(self) -> list[str]:
        return list(self.labels.values())

    def resolve(self, refs: Sequence[str]) -> tuple[list[str], list[str]]:
        """Map cited labels (or ids) to entry ids; anything not in the context is rejected."""
        by_id = set(self.labels.values())
        ok: list[str] = []
        bad: list[str] = []
        for ref in refs:
            key = ref.strip().strip("[]").upper()
            if key in self.labels:
                ok.append(self.labels[key])
            elif ref.strip() in by_id:
                ok.append(ref.strip())
            else:
                bad.append(ref)
        return list(dict.fromkeys(ok)), bad


def _describe(e: LogEntry) -> str:
    when = f"day {e.day}" + (f", {e.present.isoformat()}" if e.present else "")
    kind = {"idea": f"idea ({e.meta.get('verdict', 'unjudged')})", "corpus": "your writing"}.get(
        e.kind, e.kind
    )
    text = " ".join(e.text.split())
    if len(text) > ENTRY_CHARS:
        text = text[: ENTRY_CHARS - 1] + "…"
    return f"({kind}, {when}) {text}"


def build_wake_context(
    log: LogStore,
    persona: Persona,
    *,
    budget_chars: int,
    weights: RetrievalSettings | None = None,
    shared_kinds: Sequence[str] = (),
) -> WakeContext:
    """Latest notes first, then reviewer feedback, then relevant earlier work, then grounding excerpts.

    Each section draws only from this persona's entries unless its kind is shared on purpose.
    """

    def owner(kind: str) -> str | None:
        return None if kind in shared_kinds else persona.id

    latest_notes = log.recent(persona.id, kind="notebook", limit=2)  # always the persona's own
    feedback = log.recent(owner("feedback"), kind="feedback", limit=4)
    query = persona.focus
    if latest_notes:
        query += "\n" + latest_notes[0].text
    seen = {e.id for e in latest_notes + feedback}
    relevant_kinds = ["idea", "notebook", "critique"]
    relevant = [
        s.entry
        for s in log.retrieve(
            query, persona=persona.id, kind=relevant_kinds, weights=weights, k=6, exclude_ids=seen
        )
    ]
    shared_relevant = [k for k in relevant_kinds if k in shared_kinds]
    if shared_relevant:
        relevant += [e for e, _ in log.search(query, k=4, kind=shared_relevant) if e.persona != persona.id]
    seen |= {e.id for e in relevant}
    grounding = [
        e
        for e, _ in log.search(persona.focus, k=2, persona=owner("corpus"), kind="corpus")
        if e.id not in seen
    ]

    sections = [
        ("notebook", latest_notes),
        ("feedback", feedback),
        ("relevant", relevant),
        ("corpus", grounding),
    ]
    lines: list[str] = []
    labels: dict[str, str] = {}
    counters: dict[str, int] = {}
    used = 0
    for heading, entries in sections:
        block: list[str] = []
        for e in entries:
            prefix = LABEL_PREFIX[e.kind]
            counters[prefix] = counters.get(prefix, 0) + 1
            label = f"{prefix}{counters[prefix]}"
            line = f"[{label}] {_describe(e)}"
            if used + len(line) > budget_chars:
                break
            used += len(line) + 1
            block.append(line)
            labels[label] = e.id
        if block:
            lines.append(f"{HEADINGS[heading]}:")
            lines.extend(block)
    if not lines:
        lines = ["(empty: this is your first day; nothing has been written yet)"]
    return WakeContext(text="\n".join(lines), labels=labels)
