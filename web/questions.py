"""The review page's questions: what the personas asked, with the ideas of their day, and the answers.
These run on the page's worker thread, over the stores it owns (see `review.web`)."""

from __future__ import annotations

from typing import Any

from groundhog.core.errors import BadInput
from groundhog.review.questions import record_answer
from groundhog.web.filters import Filters, choices

SHOW = ("open", "answered", "all")


def show_of(value: str) -> str:
    value = value or "open"
    if value not in SHOW:
        raise BadInput(f"show: unknown value '{value}' (choose from {', '.join(SHOW)})")
    return value


def questions_view(stores: Any, filters: Filters, show: str) -> dict[str, Any]:
    everything = stores.queue.list()
    found = stores.questions.list(
        status=None if show == "all" else show, session=filters.session or None, persona=filters.persona or None
    )
    said, stores.flash[:] = list(stores.flash), []
    return {
        "questions": found,
        "queued": {i.id: i for i in everything},
        "show": show,
        "open_questions": stores.questions.count_open(),
        "flash": said,
        **choices(everything),
    }


def answer(stores: Any, qid: str, text: str) -> None:
    done = record_answer(stores.questions, stores.log, qid, text)
    stores.say(f"Answered {done.persona}'s question; it reads your answer at its next wake-up.")
