"""Wake-up: what a persona reads each morning. Only the log, retrieved and fitted to a budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from groundhog.core.records import LogEntry, Parent
from groundhog.core.settings import RetrievalSettings
from groundhog.memory.store import LogStore
from groundhog.researchers.personas import Persona

LABEL_PREFIX = {"notebook": "N", "feedback": "F", "idea": "I", "critique": "C", "corpus": "G"}
SECTION_PREFIX = {"literature": "P", "seminar": "S"}  # sections labelled by what they are, not by kind
HEADINGS = {
    "notebook": "Your latest notes",
    "feedback": "What the human reviewer said",
    "seminar": "The seminar: tonight's best ideas of other researchers (cite their S labels to build on them)",
    "relevant": "Earlier work relevant to your agenda",
    "corpus": "From your own writing",
    "literature": "Published work relevant to your agenda (papers you have read)",
}
CHARS_PER_TOKEN = 4  # an estimate good enough for budgeting English text (no tokenizer for endpoints)
ENTRY_CHARS_MIN = 600  # a small window still shows this much of each entry
FIRST_PICKS = {
    "notebook": 2,
    "feedback": 4,
    "seminar": 3,
    "relevant": 6,
    "corpus": 2,
    "literature": 2,
}  # the most valuable, taken first


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


@dataclass
class WakeContext:
    """The notebook as the persona reads it, with labels it can cite and the ids behind them."""

    text: str
    labels: dict[str, str] = field(default_factory=dict)  # label -> entry id
    parents: dict[str, Parent] = field(default_factory=dict)  # entry id -> the seminar's idea and its author
    tokens: int = 0  # estimated tokens of `text`
    budget_tokens: int = 0  # what the model's window left for it

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


def _describe(e: LogEntry, max_chars: int, *, seminar: bool = False) -> str:
    when = f"day {e.day}" + (f", {e.present.isoformat()}" if e.present else "")
    kind = {"idea": f"idea ({e.meta.get('verdict', 'unjudged')})", "corpus": "your writing"}.get(e.kind, e.kind)
    if "paper" in e.meta:  # a library passage: its paper, not a day of the persona's
        year = e.meta.get("year")
        return _clip(f"(paper: {e.meta['paper']}{f', {year}' if year else ''}) ", e.text, max_chars)
    if seminar:  # another persona's queued idea
        said = f", critic mean {e.meta['mean']}" if "mean" in e.meta else ""
        said += ", accepted by the reviewer" if e.meta.get("accepted") else ""
        return _clip(f"(idea by {e.persona}, {when}{said}) ", e.text, max_chars)
    return _clip(f"({kind}, {when}) ", e.text, max_chars)


def _clip(head: str, text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return head + text


def literature(log: LogStore, query: str, k: int) -> list[LogEntry]:
    """The library passages nearest `query`, one per paper, as entries the wake-up lists (id: the paper's)."""
    if getattr(log, "client", None) is None:  # a stand-in log without a store
        return []
    from groundhog.library.store import library_beside

    return [
        LogEntry(
            id=p.paper.id,
            persona="",
            kind="corpus",
            text=p.text,
            meta={"paper": p.paper.title, **({"year": p.paper.year} if p.paper.year else {})},
        )
        for p in library_beside(log).search(query, k)
    ]


@dataclass(frozen=True)
class Newest:
    """Ids of the newest notebook and feedback entries, newest first."""

    notebook_ids: list[str]
    feedback_ids: list[str]
    work_ids: list[str] | None = None  # the newest ideas, critiques and notes; None: list the log


def wake_reach(budget_tokens: int) -> int:
    """How many candidates are worth fetching: about one per 150 tokens of room, within bounds."""
    return max(1, min(budget_tokens // 150, 200))


def newest_limits(budget_tokens: int) -> tuple[int, int]:
    """How many of the newest notes and of the newest feedback entries the wake-up looks at."""
    reach = wake_reach(budget_tokens)
    return max(2, reach // 4), max(4, reach // 3)


def work_limit(budget_tokens: int, weights: RetrievalSettings | None) -> int:
    """How many of the newest entries the relevance retrieval weighs by recency."""
    return max((weights or RetrievalSettings()).candidates, wake_reach(budget_tokens))


def build_wake_context(
    log: LogStore,
    persona: Persona,
    *,
    budget_tokens: int,
    weights: RetrievalSettings | None = None,
    shared_kinds: Sequence[str] = (),
    newest: Newest | None = None,
    seminar: Sequence[LogEntry] = (),
) -> WakeContext:
    """Latest notes, reviewer feedback, relevant earlier work and grounding excerpts, fitted to
    `budget_tokens`: the most valuable of each section first (the newest notes and feedback, the best
    retrieved work), then, while room is left, more of each. A small window gets excerpts of a few
    entries; a large one the whole relevant notebook, each entry in full.

    Each section draws only from this persona's entries unless its kind is shared on purpose.
    `newest` names the newest notebook and feedback entries (from the SQLite tables); without it they
    are found by listing the persona's entries in the log. `seminar`: other personas' ideas to show
    on a seminar day (loop/seminar.py), labelled S1, S2, ...
    """

    def owner(kind: str) -> str | None:
        return None if kind in shared_kinds else persona.id

    budget_chars = budget_tokens * CHARS_PER_TOKEN
    reach = wake_reach(budget_tokens)
    entry_chars = max(ENTRY_CHARS_MIN, budget_chars // 8)
    n_notes, n_feedback = newest_limits(budget_tokens)
    if newest is not None:  # both in one call to the store
        note_ids, feedback_ids = newest.notebook_ids[:n_notes], newest.feedback_ids[:n_feedback]
        found = {e.id: e for e in log.get_many(list(dict.fromkeys(note_ids + feedback_ids)))}
        notes = [found[i] for i in note_ids if i in found]
        feedback = [found[i] for i in feedback_ids if i in found]
    else:
        notes = log.recent(persona.id, kind="notebook", limit=n_notes)  # always the persona's own
        feedback = log.recent(owner("feedback"), kind="feedback", limit=n_feedback)
    query = persona.focus
    if notes:
        query += "\n" + notes[0].text
    seen = {e.id for e in [*notes, *feedback, *seminar]}
    relevant_kinds = ["idea", "notebook", "critique"]
    w = weights or RetrievalSettings()
    w = w.model_copy(update={"candidates": work_limit(budget_tokens, w)})
    k_grounding = max(2, reach // 4)
    near = grounded = None
    if owner("corpus") == persona.id:  # the relevant work and the grounding: one query to the index
        near, grounded = log.search_together(
            [(query, w.candidates, relevant_kinds), (persona.focus, k_grounding, "corpus")], persona=persona.id
        )
    relevant = [
        s.entry
        for s in log.retrieve(
            query,
            persona=persona.id,
            kind=relevant_kinds,
            weights=w,
            k=max(6, reach),
            exclude_ids=seen,
            recent_ids=newest.work_ids if newest is not None else None,
            near=near,
        )
    ]
    shared_relevant = [k for k in relevant_kinds if k in shared_kinds]
    if shared_relevant:
        relevant += [
            e for e, _ in log.search(query, k=max(4, reach // 2), kind=shared_relevant) if e.persona != persona.id
        ]
    seen |= {e.id for e in relevant}
    if grounded is None:
        grounded = log.search(persona.focus, k=k_grounding, persona=owner("corpus"), kind="corpus")
    grounding = [e for e, _ in grounded if e.id not in seen]
    papers = literature(log, query, k_grounding)  # the agenda and yesterday's note
    sections = {
        "notebook": notes,
        "feedback": feedback,
        "seminar": list(seminar),
        "relevant": relevant,
        "corpus": grounding,
        "literature": papers,
    }

    # Pick in order of value: each section's first picks, then the rest, section by section.
    chosen: dict[str, list[LogEntry]] = {name: [] for name in sections}
    used = 0
    for first in (True, False):
        for name, entries in sections.items():
            start, stop = (0, FIRST_PICKS[name]) if first else (FIRST_PICKS[name], len(entries))
            for e in entries[start:stop]:
                cost = len(_describe(e, entry_chars, seminar=name == "seminar")) + 8  # the label and the newline
                if used + cost > budget_chars:
                    break
                used += cost
                chosen[name].append(e)

    lines: list[str] = []
    labels: dict[str, str] = {}
    parents: dict[str, Parent] = {}
    counters: dict[str, int] = {}
    for name, entries in chosen.items():
        if not entries:
            continue
        lines.append(f"{HEADINGS[name]}:")
        for e in entries:
            prefix = SECTION_PREFIX.get(name) or LABEL_PREFIX[e.kind]
            counters[prefix] = counters.get(prefix, 0) + 1
            label = f"{prefix}{counters[prefix]}"
            lines.append(f"[{label}] {_describe(e, entry_chars, seminar=name == 'seminar')}")
            labels[label] = e.id
            if name == "seminar":
                parents[e.id] = Parent(id=e.id, persona=e.persona, title=str(e.meta.get("title", "")))
    if not lines:
        lines = ["(empty: this is your first day; nothing has been written yet)"]
    text = "\n".join(lines)
    return WakeContext(
        text=text, labels=labels, parents=parents, tokens=estimate_tokens(text), budget_tokens=budget_tokens
    )
