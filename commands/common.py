"""What every command shares: options, error handling, wiring and rendering helpers."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from groundhog.core.errors import GroundhogError
from typer.core import TyperGroup

if TYPE_CHECKING:
    from groundhog.loop.services import Services


class GroundhogGroup(TyperGroup):
    """Turns GroundhogError into one line on stderr and an exit code (2 bad input, 1 failure)."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context
        try:
            return super().invoke(ctx)
        except GroundhogError as exc:
            if _debug():
                raise
            typer.echo(f"groundhog: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
            raise  # typer's own exits and usage errors (exit 2) render themselves
        except Exception as exc:  # anything unexpected: one line, unless --debug
            if _debug():
                raise
            detail = " ".join(str(exc).split())[:300]
            typer.echo(f"groundhog: error: {type(exc).__name__}: {detail} (rerun with --debug)", err=True)
            raise typer.Exit(1) from None


def _debug() -> bool:
    return os.environ.get("GROUNDHOG_DEBUG", "") not in ("", "0", "false")


HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="GROUNDHOG_HOME",
        metavar="DIR",
        help="Data directory (config groundhog.toml, log, queue). Default: a per-user data directory.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def sub_app(help_text: str) -> typer.Typer:
    return typer.Typer(cls=GroundhogGroup, help=help_text, no_args_is_help=True, rich_markup_mode=None)


def services(home: Path | None, **flags: Any) -> Services:
    from groundhog.core.settings import load_settings
    from groundhog.loop.services import Services

    return Services(load_settings(home, **flags))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def esc(text: object) -> str:
    """Model text is untrusted: escape rich markup before rendering it."""
    from rich.markup import escape

    return escape(str(text))


def parse_date(value: str | None, option: str = "--present") -> date | None:
    if value is None:
        return None
    from groundhog.core.errors import BadInput

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadInput(f"{option}: '{value}' is not a date (use YYYY-MM-DD)") from exc
