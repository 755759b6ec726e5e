"""Critique ideas that did not come from a session: the logic behind `groundhog critique`.

Ideas arrive as JSON Lines (`{"id", "title", "summary"}` plus optional fields). Every line is read
before anything runs, and judged on its own: a line that is not a JSON object, has no id, a field of the
wrong type or an id used before is one `BadLine` (its number and what is wrong), and the other lines
are still judged. An empty title or summary is no input error: the idea is flagged `degenerate`. Each
idea goes through the same `CritiqueStage` a session uses: the screens (the duplicate screen against
every earlier idea in the log and every earlier line of the same input), then the critic in one
persona's voice. There are no revision rounds here: the text under review is the reader's, not a
persona's to rewrite.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints, ValidationError

from groundhog.core.errors import BadInput, GroundhogError, ProviderError
from groundhog.core.interfaces import Embedder, PriorArtLookup
from groundhog.core.records import CritiqueResult, Flag, Idea, LogEntry, stable_id, today, utcnow
from groundhog.critique.critic import Thresholds
from groundhog.critique.entries import critique_entry, idea_entry
from groundhog.critique.screens import TextScreens
from groundhog.critique.stage import CritiqueStage, nearest_ideas

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore
    from groundhog.providers.client import ModelClient
    from groundhog.researchers.personas import Persona

SESSION = "critique"  # the session name recorded entries carry
CRITIC_ERROR = "error"  # the `critic` of a result whose critic could not be reached
DEFAULT_VOICE = "oversight-researcher"
NEIGHBOURS = 3  # earlier ideas fetched per duplicate check

NonEmpty = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]


class IdeaLine(BaseModel):
    """One input line. Unknown fields are allowed (and ignored) so exports of other tools can be fed in.
    Only the id is required; a missing or empty title or summary is for the degenerate screen."""

    model_config = ConfigDict(extra="ignore")

    id: NonEmpty
    title: StrictStr = ""
    summary: StrictStr = ""
    rationale: StrictStr = ""
    persona: StrictStr = ""


@dataclass(frozen=True)
class InputIdea:
    line: int
    spec: IdeaLine


@dataclass(frozen=True)
class BadLine:
    """A line that cannot be judged, and why, as `<source>: line N: ...`."""

    line: int
    message: str


@dataclass
class ParsedInput:
    """What a JSONL input held: the ideas to judge, and the lines that could not be, both in order."""

    ideas: list[InputIdea]
    bad: list[BadLine]


def log_id(given_id: str) -> str:
    """The log id of an idea critiqued from a file: the same given id always maps to the same entry."""
    return stable_id(SESSION, given_id)


# -- reading ------------------------------------------------------------------------------------------


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "?"
    msg = str(err["msg"])
    if err["type"] == "missing":
        msg = "is missing"
    elif err["type"] in ("string_too_short",):
        msg = "must not be empty"
    elif err["type"] == "string_type":
        msg = f"must be a string, not {_json_type(err.get('input'))}"
    more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    return f"field '{field}' {msg}{more}"


def _json_type(value: object) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return "null" if value is None else names.get(type(value), type(value).__name__)


def parse_ideas(lines: Iterable[str | bytes], source: str) -> ParsedInput:
    """Every line, each on its own: blank lines are skipped, a line that cannot be judged becomes a
    `BadLine` naming its number and field, and the others are kept in order. The first line of an id
    used twice is kept; the later one is bad. A line given as bytes that is not UTF-8 is bad alone."""
    parsed = ParsedInput([], [])
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        spec = _parse_line(raw)
        if isinstance(spec, IdeaLine) and spec.id in first_line:
            spec = f"field 'id' '{spec.id}' is already used on line {first_line[spec.id]}"
        if isinstance(spec, str):
            parsed.bad.append(BadLine(number, f"{source}: line {number}: {spec}"))
            continue
        first_line[spec.id] = number
        parsed.ideas.append(InputIdea(number, spec))
    return parsed


def _parse_line(raw: str | bytes) -> IdeaLine | str:
    """One line as an IdeaLine, or what is wrong with it."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)"
    try:
        data = json.loads(raw.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"
    if not isinstance(data, dict):
        return f"expected a JSON object, got {_json_type(data)}"
    try:
        return IdeaLine.model_validate(data)
    except ValidationError as exc:
        return _describe(exc)


def read_ideas(path: str) -> ParsedInput:
    """Ideas from a JSONL file, or from stdin when `path` is '-'. A file that cannot be read at all
    is BadInput; a bad line is only that line's problem (`ParsedInput.bad`)."""
    import sys
    from pathlib import Path

    # Split on newlines only: str.splitlines would also split inside a JSON string holding U+2028 or
    # U+0085, which JSON allows raw.
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:
            return parse_ideas(stream.read().split(b"\n"), "<stdin>")
        return parse_ideas(sys.stdin.read().split("\n"), "<stdin>")
    file = Path(path).expanduser()
    try:
        raw = file.read_bytes()
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise BadInput(f"{path}: is a folder, not a file") from exc
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_ideas(raw.split(b"\n"), path)


# -- critiquing ---------------------------------------------------------------------------------------


@dataclass
class Reviewed:
    """One input idea and what the stage decided about it."""

    line: int
    given_id: str
    idea: Idea
    result: CritiqueResult

    def as_json(self) -> dict[str, Any]:
        r = self.result
        dup = next((f.ref for f in r.flags if f.name == "duplicate"), None)
        return {
            "id": self.given_id,
            "verdict": r.verdict,
            "flags": [f.name for f in r.flags],
            "reasons": {f.name: f.reason for f in r.flags},
            "duplicate_of": dup,
            "scores": r.scores.model_dump() if r.scores else {},
            "reasoning": r.reasoning,
            "weakest_point": r.weakest_point,
            "manipulative": r.manipulative,
            "critic": r.critic,
            "log_id": self.idea.id,
            "prior_art": [p.model_dump() for p in r.prior_art],
            "prior_art_paper": next((f.ref for f in r.flags if f.name == "prior_art"), None),
        }


def empty_fields(idea: Idea) -> Flag | None:
    """The degenerate flag of an idea with an empty title or summary: not an input error (the line is
    well formed), but nothing a critic should be asked to judge."""
    empty = [name for name, text in (("title", idea.title), ("summary", idea.summary)) if not text.strip()]
    if not empty:
        return None
    return Flag(name="degenerate", reason=f"empty {' and '.join(empty)}: nothing to judge")


class _CriticOff:
    """Stands in for the chat model under --no-critic, so the screens run without loading a model."""

    async def astructured(self, *args: object, **kwargs: object) -> Any:
        raise GroundhogError("the critic is switched off (--no-critic)")


class BatchCritique:
    """The critique stage over a batch of ideas, against the log. Every dependency is passed in."""

    def __init__(
        self,
        *,
        log: LogStore,
        embedder: Embedder,
        critic_model: ModelClient | None,
        thresholds: Thresholds,
        duplicate_threshold: float = 0.8,
        screens: TextScreens | None = None,
        present: date | None = None,
        prior_art: PriorArtLookup | None = None,
        judge_manipulation: bool = False,
    ) -> None:
        self.log = log
        self.present = present or today()
        self._own: set[str] = set()
        self.critic_on = critic_model is not None
        model = critic_model if critic_model is not None else cast("ModelClient", _CriticOff())
        self.stage = CritiqueStage(
            embedder=embedder,
            nearest=self._nearest,
            critic_model=model,
            author_model=model,  # never called: no revision rounds here
            thresholds=thresholds,
            revisions=0,
            duplicate_threshold=duplicate_threshold,
            screens=screens,
            prior_art=prior_art,
            judge_manipulation=judge_manipulation,
        )

    def _nearest(self, vector: Sequence[float]) -> list[tuple[str, str, float]]:
        """Earlier ideas in the log, leaving out this input's own lines as recorded by an earlier run:
        critiquing a file again gives the same answers (its earlier lines are still checked, in memory)."""
        return nearest_ideas(self.log, vector, NEIGHBOURS, exclude=self._own)

    def idea(self, item: InputIdea, author: Persona | None) -> Idea:
        s = item.spec
        return Idea(
            id=log_id(s.id),
            title=s.title,
            summary=s.summary,
            rationale=s.rationale.strip(),
            persona=author.id if author else "",
            session=SESSION,
            present=self.present,
        )

    async def _one(self, item: InputIdea, voice: Persona, author: Persona | None) -> Reviewed:
        idea = self.idea(item, author)
        empty = empty_fields(idea)
        if self.critic_on and empty is None:
            try:
                outcome = await self.stage.review(idea, voice, present=self.present)
                result = outcome.verdict
            except ProviderError as exc:
                # After its retries the critic is unreachable: this line fails with the reason, the rest go on.
                result = CritiqueResult(  # the screens had passed it: only the critic is missing
                    idea_id=idea.id,
                    verdict="fail",
                    critic=CRITIC_ERROR,
                    reasoning=f"the critic failed: {exc}",
                    prior_art=self.stage.papers(idea.id),
                )
        else:
            flags, _ = self.stage.screen(idea)
            if empty is not None:  # one degenerate flag: the empty field is the reason that matters
                flags = [empty, *(f for f in flags if f.name != "degenerate")]
            result = CritiqueResult(
                idea_id=idea.id,
                verdict="fail" if flags else "pass",
                flags=flags,
                critic="screens" if flags else "",
                prior_art=self.stage.papers(idea.id),
            )
        return Reviewed(item.line, item.spec.id, idea, result)

    def run(
        self,
        items: Sequence[InputIdea],
        voice_for: Callable[[InputIdea], tuple[Persona, Persona | None]],
    ) -> list[Reviewed]:
        """Review in input order, one at a time, so a later line is checked against the earlier ones."""
        self._own = {log_id(item.spec.id) for item in items}

        async def main() -> list[Reviewed]:
            out = []
            for item in items:
                voice, author = voice_for(item)
                out.append(await self._one(item, voice, author))
            return out

        return asyncio.run(main())

    def record(self, reviewed: Sequence[Reviewed]) -> int:
        """Write each idea and its critique to the log (session `critique`). Ids derive from the given
        ids, so recording the same ideas again overwrites rather than duplicates. Under --no-critic an
        idea the screens let through is recorded as passing, with no scores."""
        now = utcnow()
        entries: list[LogEntry] = []
        for r in reviewed:
            entries += [idea_entry(r.idea, r.result, now, given_id=r.given_id), critique_entry(r.idea, r.result, now)]
        self.log.add(entries)
        return len(reviewed)
