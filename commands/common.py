"""What every command shares: options, error handling, wiring and rendering helpers."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from groundhog.core.errors import GroundhogError
from groundhog.core.text import json_safe, safe_text

if TYPE_CHECKING:
    from pydantic import BaseModel

    from groundhog.compose.services import Services


class GroundhogGroup(TyperGroup):
    """Turns GroundhogError into one line on stderr and an exit code (2 bad input, 1 failure)."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context
        try:
            return super().invoke(ctx)
        except GroundhogError as exc:
            if _debug():
                raise
            echo(f"groundhog: error: {exc}", err=True)  # errors quote file and model text
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
            raise  # typer's own exits and usage errors (exit 2) render themselves
        except Exception as exc:  # anything unexpected: one line, unless --debug
            if _debug():
                raise
            detail = safe_text(exc, one_line=True)[:300]
            echo(f"groundhog: error: {type(exc).__name__}: {detail} (rerun with --debug)", err=True)
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
ReviewerOpt = Annotated[
    str | None,
    typer.Option(
        "--reviewer",
        metavar="NAME",
        help="Who is deciding: recorded with each decision. Default: env GROUNDHOG_REVIEWER, else your login name.",
        show_default=False,
    ),
]


def setting_option(model: type[BaseModel], name: str, *param_decls: str, metavar: str | None = None) -> Any:
    """A typer option for the settings field `model.name`: its help text, shown default and bounds come
    from the field, so the flag never restates them. The flag's own default stays None ("not given"), so
    groundhog.toml and GROUNDHOG_* still apply when it is left out."""
    field = model.model_fields[name]
    if field.description is None:
        raise TypeError(f"{model.__name__}.{name}: a setting behind a flag needs a description")
    # annotated_types' Ge(ge=1), Le(le=10), Gt(gt=0): each bound is an attribute named after its class
    bounds = {type(m).__name__.lower(): getattr(m, type(m).__name__.lower(), None) for m in field.metadata}
    help_text = field.description
    default = field.get_default(call_default_factory=True)
    if not (default is None or default is False or default == []):  # "no limit" and "off" go unsaid
        help_text += f" Default {default}."
    if "gt" in bounds:  # click's ranges take an open bound, typer's options do not: shown, checked by the model
        help_text += f"  [x>{bounds['gt']}]"
    return typer.Option(
        *param_decls,
        metavar=metavar,
        help=help_text,
        show_default=False,
        min=_number(bounds.get("ge")),
        max=_number(bounds.get("le")),
    )


def _number(value: object) -> int | float | None:
    return value if isinstance(value, int | float) else None


def loop_option(name: str, *param_decls: str, metavar: str | None = None) -> Any:
    """`setting_option` for a field of `LoopSettings` (the `loop` table)."""
    from groundhog.core.settings import LoopSettings

    return setting_option(LoopSettings, name, *param_decls, metavar=metavar)


def critique_option(name: str, *param_decls: str, metavar: str | None = None) -> Any:
    """`setting_option` for a field of `CritiqueSettings` (the `critique` table)."""
    from groundhog.core.settings import CritiqueSettings

    return setting_option(CritiqueSettings, name, *param_decls, metavar=metavar)


def sub_app(help_text: str) -> typer.Typer:
    return typer.Typer(cls=GroundhogGroup, help=help_text, no_args_is_help=True, rich_markup_mode=None)


def services(home: Path | None, **flags: Any) -> Services:
    from groundhog.compose.services import Services
    from groundhog.core.settings import load_settings

    return Services(load_settings(home, **flags))


# -- rendering: model text, persona files and imported ideas are untrusted ------------------------------
# Every human-facing line goes through `core.text.safe_text`: `esc` for rich markup, `echo` for plain
# lines, and the console's render hook as a net under both. JSON keeps the exact text (`json_safe`).


def print_json(data: Any) -> None:
    sys.stdout.write(json_safe(json.dumps(data, indent=2, default=str, ensure_ascii=False)) + "\n")


def echo(message: object, *, err: bool = False) -> None:
    """typer.echo for text that may quote a file or a model: controls made visible."""
    typer.echo(safe_text(message), err=err)


class _SafeRenderable:
    """Renders another renderable and makes visible any control character left in its text. Rich's
    own control segments (cursor moves of a live display) pass untouched, and styles are applied
    after this, so colours still work."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment

        for seg in console.render(self.inner, options):
            if seg.control or not seg.text:
                yield seg
            else:
                yield Segment(safe_text(seg.text), seg.style, seg.control)


def safe_renderable(renderable: Any) -> Any:
    """A renderable drawn through the sanitizer: for a live display, which renders outside print."""
    return _SafeRenderable(renderable)


def _safe_hook() -> Any:
    from rich.console import RenderHook

    class SafeHook(RenderHook):
        def process_renderables(self, renderables: list[Any]) -> list[Any]:
            return [_SafeRenderable(r) for r in renderables]

    return SafeHook()


def console(**options: Any) -> Any:
    """A rich console whose every print is sanitized. Callers still escape model text with `esc`
    (markup, and the layout then measures the visible form); the hook is the net for anything missed.
    `options` go to rich's Console (tests pass a file and force_terminal)."""
    from rich.console import Console

    out = Console(highlight=False, **options)
    out.push_render_hook(_safe_hook())
    return out


def esc(text: object, *, one_line: bool = False) -> str:
    """Untrusted text for rich markup: controls made visible (`core.text.safe_text`), markup escaped.
    `one_line` folds newlines and runs of whitespace into single spaces (titles, table cells)."""
    from rich.markup import escape

    return escape(safe_text(text, one_line=one_line))


def plain(text: object, *, one_line: bool = False, style: str = "") -> Any:
    """Untrusted text as a rich Text (never parsed as markup), controls made visible."""
    from rich.text import Text

    return Text(safe_text(text, one_line=one_line), style=style)


def parse_date(value: str | None, option: str = "--present") -> date | None:
    if value is None:
        return None
    from groundhog.core.errors import BadInput

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadInput(f"{option}: '{value}' is not a date (use YYYY-MM-DD)") from exc


def proportion(p: Any) -> str:
    """A `review.stats.Proportion` as "0.25 [0.14, 0.40] (10/40)": the estimate, its 95% interval, the counts."""
    if p.estimate is None:
        return "- (none decided)"
    return f"{p.estimate:.2f} [{p.low:.2f}, {p.high:.2f}] ({p.successes}/{p.trials})"
