"""The personas' questions in the terminal review: after the ideas, each open question with the ideas of
the day it was asked; `a` answers it (the answer goes into the persona's log), `s` skips, `q` quits.

As in `review.screen`, reading and answering are passed in, and every model-written word is shown
through `core.text.safe_text` (escaped rich markup), so a question cannot restyle or clear the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from groundhog.core.records import QueueItem
from groundhog.store.questions import Question
from groundhog.terminal.screen import Reader, escape

Answerer = Callable[[str, str], Question]  # (question id, answer) -> the answered question
PROMPT = "[a/s/q] > "
KEY_LINE = "a answer · s skip · q quit"


def render_question(console: Any, q: Question, queued: Mapping[str, QueueItem]) -> None:
    """Who asked, when, the question, and the ideas of that day (with where each stands in the queue)."""
    console.rule(f"{escape(q.persona)} asks · session {escape(q.session)} day {q.day} · {escape(q.id)}")
    console.print(f"[bold]{escape(q.question)}[/bold]")
    for idea in q.ideas:
        item = queued.get(str(idea.get("id", "")))
        where = f", {item.status}" if item is not None else ", not queued"
        title, idea_id = escape(idea.get("title", ""), one_line=True), escape(idea.get("id", ""))
        console.print(f"  that day: {title} [dim]({idea_id}{where})[/dim]")
    if q.status == "answered":
        console.print(f"Your answer: {escape(q.answer)}")


class QuestionScreen:
    def __init__(
        self,
        questions: Sequence[Question],
        *,
        answer: Answerer,
        queued: Mapping[str, QueueItem],
        read: Reader,
        console: Any,
        read_key: Reader | None = None,
    ) -> None:
        self.questions = list(questions)
        self.answer = answer
        self.queued = queued
        self.read = read
        self.read_key = read_key or read
        self.console = console
        self.answered: list[str] = []

    def run(self) -> list[str]:
        """The ids answered in this sitting (each already saved)."""
        if not self.questions:
            return self.answered
        n = len(self.questions)
        self.console.print(
            f"{n} question{'s' if n != 1 else ''} from the personas. Your answer goes into the asking persona's "
            "log; it reads it at its next wake-up. Piped, 'a your answer' answers in one line."
        )
        for q in self.questions:
            render_question(self.console, q, self.queued)
            self.console.print(f"[dim]{KEY_LINE}[/dim]")
            if not self._one(q):
                break
        return self.answered

    def _one(self, q: Question) -> bool:
        while True:
            line = self.read_key(PROMPT)
            if line is None:
                return False
            head, _, rest = line.strip().partition(" ")
            head = head.lower()
            if head in ("q", "quit"):
                return False
            if head in ("s", "skip"):
                self.console.print("Skipped: still open.")
                return True
            if head in ("a", "answer"):
                text = rest.strip() or (self.read("answer (Enter to skip) > ") or "").strip()
                if not text:
                    self.console.print("No answer given: still open.")
                    return True
                done = self.answer(q.id, text)
                self.answered.append(done.id)
                self.console.print(f"[bold]answered[/bold] (saved): {escape(done.answer)}")
                return True
            if line.strip():
                self.console.print(f"Unknown key {escape(repr(line.strip()))}. {KEY_LINE}")
