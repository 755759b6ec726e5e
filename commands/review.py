"""`groundhog review`: the interactive review, in the terminal (keyboard-driven) or, with --web, a page.

Every decision is recorded under a reviewer (`--reviewer`, else GROUNDHOG_REVIEWER, else the login
name); `--second-opinion` offers the ideas someone else decided, blind to their decision.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from groundhog.commands.common import HomeOpt, ReviewerOpt, console, echo, services
from groundhog.commands.queue import PersonaOpt, SessionOpt, persona_id

if TYPE_CHECKING:
    from groundhog.compose.services import Services


def _read_line(prompt: str) -> str | None:
    """One line from stdin, or None at the end of input or on Ctrl-C / Ctrl-D."""
    try:
        line = input(prompt)
    except (EOFError, KeyboardInterrupt):
        typer.echo("")
        return None
    if not sys.stdin.isatty():
        echo(line)  # piped keys show in the transcript, as typed ones do on a terminal
    return line


def _getchar() -> str:
    """One key press. cbreak mode set at once (not after flushing), so keys typed ahead are kept."""
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX terminal
        return typer.getchar()
    import select

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        raw = os.read(fd, 1)  # one key, even when several were typed ahead
        if raw == b"\x1b":  # an escape sequence (an arrow key): the rest comes with it
            while len(raw) < 8 and select.select([fd], [], [], 0.02)[0]:
                raw += os.read(fd, 1)
        elif raw and raw[0] >= 0xC0:  # the first byte of a multi-byte UTF-8 character
            raw += os.read(fd, 1 if raw[0] < 0xE0 else 2 if raw[0] < 0xF0 else 3)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if raw in (b"", b"\x04"):
        raise EOFError
    return raw.decode("utf-8", "replace")


def _read_key(prompt: str) -> str | None:
    """One key from the terminal, no Enter needed; None on Ctrl-C / Ctrl-D."""
    typer.echo(prompt, nl=False)
    try:
        key = _getchar()
    except (EOFError, KeyboardInterrupt):
        typer.echo("")
        return None
    typer.echo(key if key.isprintable() else "")  # the key typed shows, as it would with Enter
    return key


def review(
    session: SessionOpt = None,
    persona: PersonaOpt = None,
    reviewer: ReviewerOpt = None,
    second_opinion: Annotated[
        bool,
        typer.Option(
            "--second-opinion",
            help="Offer the ideas someone else decided and you have not, blind to their decision, note and "
            "name; yours is recorded beside theirs (`queue stats` compares you).",
        ),
    ] = False,
    home: HomeOpt = None,
    web: Annotated[bool, typer.Option("--web", help="Review in a local web page instead (keyboard-first).")] = False,
    host: Annotated[str, typer.Option("--host", help="With --web: the address (off loopback, warns).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="With --web: the port (0 picks a free one).")] = 8765,
    open_page: Annotated[bool, typer.Option("--open", help="With --web: open the page in a browser.")] = False,
) -> None:
    """Review queued ideas one at a time, best first (pending, then deferred ones).

    With --web, the same in a local web page (http://127.0.0.1:8765/ by default) until Ctrl-C.

    Keys (on a terminal a single key press; piped, one per line): a accept, r reject, d defer, n note,
    s skip, p provenance (the log entries the idea builds on), q quit. Piped, 'r too vague' rejects with
    that note. Each decision is saved as it is made, under your reviewer name, and written into the
    persona's log, so quitting half-way loses nothing. For scripts, use `groundhog queue decide`.

    Some ideas may be audit items, ideas the critic rejected, queued at random to measure it (see
    `groundhog queue stats`); the critic's verdict and the idea's origin show once you have decided.
    After the ideas come the personas' open questions: a answers one (piped, 'a your answer'), s skips.

    With --second-opinion, the ideas another reviewer decided and you have not, shown as if undecided;
    the questions are left for a normal review.
    """
    from groundhog.core.errors import BadInput
    from groundhog.core.reviewer import resolve_reviewer

    who = resolve_reviewer(reviewer)  # a bad name fails before anything is opened
    if web:
        if second_opinion:
            raise BadInput("--second-opinion: the terminal review only; the page shows every reviewer's decision")
        from groundhog.commands.web import serve

        serve(home, host=host, port=port, open_browser=open_page, session=session, persona=persona, reviewer=who)
        return
    from groundhog.review.feedback import record_decision
    from groundhog.review.opinions import second_opinion_items
    from groundhog.terminal.screen import ReviewScreen, review_items

    svc = services(home)
    try:
        chosen = persona_id(svc, persona)
        if second_opinion:
            items = second_opinion_items(svc.queue, who, session=session, persona=chosen)
            echo(f"Second opinions as {who}: {len(items)} ideas decided by someone else, their decisions hidden.")
        else:
            items = review_items(svc.queue, session=session, persona=chosen)
        screen = ReviewScreen(
            items,
            decide=lambda idea_id, word, note: record_decision(svc.queue, svc.log, idea_id, word, note, who),
            lookup=lambda ids: svc.log.get_many(ids),
            read=_read_line,
            console=console(),
            read_key=_read_key if sys.stdin.isatty() else None,
        )
        if not screen.run().quit and not second_opinion:
            _questions(svc, session, chosen)
    finally:
        svc.close()


def _questions(svc: Services, session: str | None, persona: str | None) -> None:
    """The personas' open questions, after the ideas."""
    from groundhog.review.questions import record_answer
    from groundhog.store.questions import QuestionStore
    from groundhog.terminal.questions import QuestionScreen

    store = QuestionStore(svc.db)
    questions = store.list(status="open", session=session, persona=persona)
    if questions:
        QuestionScreen(
            questions,
            answer=lambda qid, text: record_answer(store, svc.log, qid, text),
            queued={i.id: i for i in svc.queue.list(session=session)},
            read=_read_line,
            console=console(),
            read_key=_read_key if sys.stdin.isatty() else None,
        ).run()
