"""The interactive review screen: one queued idea at a time, best first, each decision saved as it is made.

Keys are read one at a time, without Enter, where the terminal allows it (`read_key`), and otherwise a
line at a time (the key, then Enter), so one screen works on a terminal, through a pipe and under a test
runner. Reading, deciding and looking up provenance are passed in, so the state
machine here knows nothing of stdin, SQLite or Chroma. Everything a model wrote is rendered as plain
text (rich `Text`, or escaped markup) with its terminal controls made visible (`core.text.safe_text`):
a title cannot restyle the screen, hide itself, clear the screen or write the clipboard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape as escape_markup
from rich.padding import Padding
from rich.text import Text

from groundhog.core.records import LogEntry, QueueItem
from groundhog.core.text import safe_text
from groundhog.review.export import scores_line
from groundhog.store.queue import ReviewQueue
from groundhog.terminal.prior_art import render_prior_art

Reader = Callable[[str], str | None]  # prompt -> one line, or None at the end of input
Decider = Callable[[str, str, str], QueueItem]  # (idea id, accept|reject|defer, note) -> the decided item
Lookup = Callable[[Sequence[str]], list[LogEntry]]  # log entry ids -> the entries found

KEYS: dict[str, str] = {
    "a": "accept",
    "r": "reject",
    "d": "defer",
    "n": "note",
    "s": "skip",
    "p": "provenance",
    "q": "quit",
    "?": "help",
}
DECISION_ACTIONS = ("accept", "reject", "defer")
KEY_LINE = "a accept · r reject · d defer · n note · s skip · p provenance · q quit · ? help"
PROMPT = "[a/r/d/n/s/p/q] > "
HELP = (
    "Type a key (on a terminal it acts at once; otherwise end it with Enter, and 'r too vague' rejects "
    "with the note 'too vague', same for a and d). "
    "'n' sets a note for the next decision on this idea (an empty note clears it). Every decision is "
    "saved at once, and fed back into the persona's log; 's' leaves the idea pending."
)


def escape(text: object, *, one_line: bool = False) -> str:
    """Untrusted text for rich markup: controls made visible, markup escaped."""
    return escape_markup(safe_text(text, one_line=one_line))


def _plain(text: str, *, one_line: bool = False) -> Text:
    """Untrusted text as rich Text (never parsed as markup), controls made visible."""
    return Text(safe_text(text, one_line=one_line))


def parse_action(line: str) -> tuple[str | None, str]:
    """A line as (action, rest): 'r not novel' -> ('reject', 'not novel'); unknown keys give None."""
    head, _, rest = line.strip().partition(" ")
    head = head.lower()
    if head in KEYS:
        return KEYS[head], rest.strip()
    if head in KEYS.values():
        return head, rest.strip()
    return None, line.strip()


def review_items(queue: ReviewQueue, *, session: str | None = None, persona: str | None = None) -> list[QueueItem]:
    """Pending ideas best first, then those deferred earlier (also best first)."""
    pending = queue.list(status="pending", session=session, persona=persona)
    deferred = queue.list(status="deferred", session=session, persona=persona)
    return pending + deferred


@dataclass
class ReviewResult:
    """What one sitting did; every decision in it is already on disk."""

    decided: dict[str, str] = field(default_factory=dict)  # idea id -> status
    skipped: list[str] = field(default_factory=list)
    left: int = 0  # ideas never reached (quit or end of input)
    quit: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for status in self.decided.values():
            out[status] = out.get(status, 0) + 1
        return out


def _body(console: Any, label: str, text: str) -> None:
    if text.strip():
        console.print(f"[bold]{label}[/bold]")
        console.print(Padding(_plain(text.strip()), (0, 0, 0, 2)))


def render_item(console: Any, item: QueueItem, *, counter: str | None = None) -> None:
    """The whole of one idea: what it says, how it scored, what the critic thought, where it came from."""
    idea, critique = item.idea, item.critique
    if counter:
        console.rule(counter)
    console.print(_plain(idea.title, one_line=True) if idea.title.strip() else Text("(untitled)"), style="bold")
    where = [
        f"id {escape(idea.id)}",
        f"persona {escape(idea.persona or '-')}",
        f"session {escape(idea.session or '-')}",
        f"day {idea.day}",
        f"present {idea.present.isoformat() if idea.present else '-'}",
    ]
    if idea.revision:
        where.append(f"revision {idea.revision}")
    console.print("[dim]" + " · ".join(where) + "[/dim]")
    status = f"status {item.status}"
    if item.decided_at is not None:
        by = f" by {escape(item.reviewer, one_line=True)}" if item.reviewer else ""
        status += f" (decided {item.decided_at.isoformat(timespec='seconds')}{by})"
    if item.note:
        status += f" · note: {escape(item.note, one_line=True)}"
    console.print(status)
    if len(item.decisions) > 1:
        for made in item.decisions:
            said = f": {escape(made.note, one_line=True)}" if made.note else ""
            when = made.decided_at.isoformat(timespec="seconds")
            console.print(f"  {escape(made.reviewer, one_line=True)} {made.status} ({when}){said}")
    if item.decided:
        console.print(origin_line(item))
    rank = f"rank {item.rank_score:.3f} (novelty distance {item.novelty:.2f})"
    if item.rating is not None:
        rank = f"rating {item.rating:.0f} ± {item.rating_sigma or 0:.0f} ({item.matches} matches) · " + rank
    console.print(f"{rank} · critic's scores: {scores_line(item)}")
    _body(console, "Summary", idea.summary)
    _body(console, "Rationale", idea.rationale)
    critic = f" in the voice of {escape(critique.critic)}" if critique.critic else ""
    # Until the decision, no verdict: the queue also holds audit items (ideas the critic rejected).
    verdict = f" ({critique.verdict})" if item.decided else ""
    _body(console, f"Critic's reasoning{critic}{verdict}", critique.reasoning)
    _body(console, "Weakest point", critique.weakest_point)
    for cross in critique.cross:
        said = f" ({cross.verdict})" if item.decided else ""
        _body(console, f"Cross-critique by {escape(cross.critic or '?')}{said}", cross.reasoning)
    for flag in critique.flags:
        console.print(f"[yellow]flag {flag.name}[/yellow]: {escape(flag.reason)}")
    named = next((f.ref for f in critique.flags if f.name == "prior_art"), None)
    render_prior_art(console, critique.prior_art, named=named)
    if idea.builds_on:
        console.print("Builds on: " + ", ".join(escape(ref) for ref in idea.builds_on))
    for parent in idea.parents:
        title = f": {escape(parent.title, one_line=True)}" if parent.title else ""
        console.print(f"Parent: {escape(parent.id)} by {escape(parent.persona)}{title}")
    if idea.parent_id:
        console.print(f"Revises: {escape(idea.parent_id)}")


def origin_line(item: QueueItem) -> str:
    """Said once the idea is decided: whether the critic had passed it or it was an audit item."""
    if item.origin == "audit":
        return (
            "[magenta]audit item[/magenta]: the critic had rejected this idea; it was queued at random "
            "to measure how often the critic rejects what you would keep"
        )
    return "survivor: the critic had passed this idea"


def provenance_ids(item: QueueItem) -> list[str]:
    """The log entries an idea came from: what it cites, and the version it revises."""
    ids = list(item.idea.builds_on)
    if item.idea.parent_id:
        ids.append(item.idea.parent_id)
    return list(dict.fromkeys(ids))


def render_provenance(console: Any, item: QueueItem, entries: Sequence[LogEntry]) -> None:
    ids = provenance_ids(item)
    if not ids:
        console.print("No provenance: this idea cites no earlier log entry.")
        return
    found = {e.id: e for e in entries}
    for ref in ids:
        entry = found.get(ref)
        if entry is None:
            console.print(f"[bold]{escape(ref)}[/bold]: not in the log")
            continue
        when = f"day {entry.day}" + (f", {entry.present.isoformat()}" if entry.present else "")
        parent = " · [bold]parent[/bold], by another persona" if ref in {p.id for p in item.idea.parents} else ""
        console.print(
            f"[bold]{escape(entry.kind)} {escape(entry.id)}[/bold]{parent} · {escape(entry.persona)} · "
            f"session {escape(entry.session or '-')} · {when}"
        )
        console.print(Padding(_plain(entry.text.strip()), (0, 0, 0, 2)))


class ReviewScreen:
    """A state machine over a fixed list of items: a position, and a note waiting for the next decision."""

    def __init__(
        self,
        items: Sequence[QueueItem],
        *,
        decide: Decider,
        lookup: Lookup,
        read: Reader,
        console: Any,
        read_key: Reader | None = None,
    ) -> None:
        self.items = list(items)
        self.decide = decide
        self.lookup = lookup
        self.read = read  # a line: notes, and the keys when there is no read_key
        self.read_key = read_key or read  # one key, without Enter, where the terminal allows it
        self.console = console
        self.position = 0
        self.note: str | None = None  # set with 'n'; None: keep the item's existing note
        self.result = ReviewResult()

    @property
    def current(self) -> QueueItem | None:
        return self.items[self.position] if self.position < len(self.items) else None

    @property
    def left(self) -> int:
        """Items not yet decided or skipped in this sitting, the current one included."""
        return len(self.items) - self.position

    def run(self) -> ReviewResult:
        """Show each item and act on keys until the list ends, 'q', or the input ends."""
        if not self.items:
            self.console.print("Nothing to review.")
            return self.result
        self.console.print(f"{len(self.items)} ideas to review. {HELP}")
        while (item := self.current) is not None:
            counter = f"{self.position + 1} of {len(self.items)} · {self.left} left"
            render_item(self.console, item, counter=counter)
            self.console.print(f"[dim]{KEY_LINE}[/dim]")
            if not self._act_on(item):
                self.result.quit = True
                break
        self.result.left = self.left
        self._summary()
        return self.result

    def _act_on(self, item: QueueItem) -> bool:
        """Read keys for one item until it is decided or skipped (True), or the sitting ends (False)."""
        while True:
            line = self.read_key(PROMPT)
            if line is None:
                return False
            action, rest = parse_action(line)
            if action is None:
                if line.strip():
                    self.console.print(f"Unknown key {escape(repr(line.strip()))}. {KEY_LINE}")
                continue
            if action == "quit":
                return False
            if action == "help":
                self.console.print(HELP)
            elif action == "provenance":
                render_provenance(self.console, item, self.lookup(provenance_ids(item)))
            elif action == "note":
                if not self._take_note(item, rest):
                    return False
            elif action == "skip":
                self.result.skipped.append(item.id)
                self.console.print("Skipped: still pending.")
                self._advance()
                return True
            else:
                self._apply(item, action, rest)
                return True

    def _take_note(self, item: QueueItem, given: str) -> bool:
        text: str | None = given
        if not given:
            now = self.note if self.note is not None else item.note
            if now:
                self.console.print(f"Current note: {escape(now)}")
            text = self.read("note (Enter to clear) > ")
        if text is None:
            return False
        self.note = text.strip()
        self.console.print(f"Note for the next decision: {escape(self.note)}" if self.note else "Note cleared.")
        return True

    def _apply(self, item: QueueItem, action: str, inline_note: str) -> None:
        note = inline_note or (self.note if self.note is not None else item.note)
        decided = self.decide(item.id, action, note)
        self.result.decided[decided.id] = decided.status
        said = f" with note: {escape(note)}" if note else ""
        self.console.print(f"[bold]{decided.status}[/bold]{said} (saved)")
        if decided.decided and decided.origin == "audit":
            self.console.print(origin_line(decided))
        self._advance()

    def _advance(self) -> None:
        self.position += 1
        self.note = None

    def _summary(self) -> None:
        counts = self.result.counts()
        made = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no decisions"
        text = f"Saved: {made}."
        if self.result.skipped:
            text += f" Skipped {len(self.result.skipped)}."
        if self.result.left:
            text += f" {self.result.left} not reached; run `groundhog review` again to continue."
        self.console.print(text)
