"""`groundhog questions list|answer`: what the personas asked the real researcher, and the answers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from groundhog.commands.common import HomeOpt, JsonOpt, console, esc, print_json, services, sub_app

app = sub_app(
    "Questions the personas asked you (at most one per persona and day, in their notebook step). Your "
    "answer goes into that persona's log as feedback, and it reads it at its next wake-up."
)

IdArg = Annotated[str, typer.Argument(help="Question id, or a unique prefix of at least 4 characters.")]


def record(q: Any) -> dict[str, Any]:
    return q.model_dump(mode="json")


@app.command("list")
def list_(
    status: Annotated[str, typer.Option("--status", help="open, answered or all.")] = "open",
    session: Annotated[str | None, typer.Option("--session", help="Only this session's questions.")] = None,
    persona: Annotated[str | None, typer.Option("--persona", help="Only this persona's questions.")] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the questions (open ones by default), oldest first, each with the ideas of its day."""
    from groundhog.core.errors import BadInput
    from groundhog.store.questions import QuestionStore

    if status not in ("open", "answered", "all"):
        raise BadInput(f"--status: unknown status '{status}' (choose from open, answered, all)")
    svc = services(home)
    try:
        found = QuestionStore(svc.db).list(status=None if status == "all" else status, session=session, persona=persona)
        queued = {i.id: i for i in svc.queue.list(session=session)} if found else {}
    finally:
        svc.close()
    if as_json:
        print_json([record(q) for q in found])
        return
    if not found:
        console().print("No questions." if status != "open" else "No open questions.")
        return
    from groundhog.terminal.questions import render_question

    out = console()
    for q in found:
        render_question(out, q, queued)


@app.command()
def answer(
    question_id: IdArg,
    text: Annotated[str, typer.Argument(metavar="ANSWER", help="Your answer; the persona reads it next morning.")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question. The answer is written into the persona's log as feedback (answering again
    replaces it) and read at its next wake-up like a note on a decided idea."""
    from groundhog.review.questions import record_answer
    from groundhog.store.questions import QuestionStore

    svc = services(home)
    try:
        store = QuestionStore(svc.db)
        store.get(question_id)  # an unknown id fails before the log is opened
        done = record_answer(store, svc.log, question_id, text)
    finally:
        svc.close()
    if as_json:
        print_json(record(done))
        return
    console().print(f"answered {esc(done.id)} ({esc(done.persona)}): {esc(done.answer)}")
