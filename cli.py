"""The `groundhog` command line. It only parses, wires and renders: the work happens in the packages
it calls, which are imported inside the commands so `groundhog --help` stays instant."""

from __future__ import annotations

import gc
import os
from typing import Annotated

import typer

from groundhog.commands import babble, basics, critique, library, personas, questions, queue, rank, review, tune
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
app.add_typer(library.app, name="library")
app.command()(babble.babble)
app.add_typer(babble.sessions_app, name="sessions")
app.add_typer(basics.log_app, name="log")
app.command()(tune.tune)
app.command()(critique.critique)
app.add_typer(queue.app, name="queue")
app.command()(review.review)
app.command()(rank.rank)
app.add_typer(questions.app, name="questions")


def main() -> None:
    """Run the command; its exit status is the process's, through a normal interpreter exit.

    Before the exit every object left is frozen out of the garbage collector (`gc.freeze`): the
    interpreter's final collections would otherwise walk the whole heap a night leaves behind, 2.5-3.5 s
    after a two-persona `babble` on an endpoint here, against 0.2 s frozen. Objects are still released
    and exit handlers still run (closing the store's server, flushing logs); only those passes go.
    """
    try:
        app()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
