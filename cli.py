"""The `groundhog` command line. It only parses, wires and renders: the work happens in the packages
it calls, which are imported inside the commands so `groundhog --help` stays instant."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated

import typer

from groundhog.commands import babble, basics, critique, personas, questions, queue, rank, tune
from groundhog.commands.common import GroundhogGroup

HELP = """Simulated alignment researchers on a groundhog-day loop.

Evening: `groundhog babble` starts a session of simulated researchers who relive the same day, each
morning reading only the notebook their earlier selves wrote. Morning: `groundhog review` walks the ideas
that survived their self-critique, best first, and answers the questions the personas asked. `groundhog
rank` orders the queue by a pairwise tournament; `groundhog queue stats` measures the critic against
your decisions; `groundhog tune` shows how many loop days were worth it.
"""

app = typer.Typer(
    cls=GroundhogGroup,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    if debug:
        os.environ["GROUNDHOG_DEBUG"] = "1"


app.command()(basics.doctor)
app.add_typer(personas.app, name="personas")
app.command()(babble.babble)
app.add_typer(babble.sessions_app, name="sessions")
app.add_typer(basics.log_app, name="log")
app.command()(tune.tune)
app.command()(critique.critique)
app.add_typer(queue.app, name="queue")
app.command()(queue.review)
app.command()(rank.rank)
app.add_typer(questions.app, name="questions")


def main() -> None:
    """Run the command, then leave without the interpreter's teardown.

    By the time a command returns, what it opened is closed or flushed (the SQLite commits, the log's
    writes, the progress stream, which is line-buffered). What is left is Python dismantling a large
    module graph and native libraries one object at a time: about 0.8 s after a `babble` on an endpoint
    (bench/concurrency.py), paid by every command. The exit handlers still run (flushing logs, closing
    a Ray connection); only that teardown is skipped. A crash or --debug traceback exits normally.
    """
    try:
        app()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # a message instead of a status: what Python would print, and status 1
            sys.stderr.write(f"{exc.code}\n")
            code = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
