"""Critique ideas that did not come from a session: the logic behind `groundhog critique`.

Ideas arrive as JSON Lines (`{"id", "title", "summary"}` plus optional fields). Every line is checked
before anything runs, so a typo on line 900 does not waste 899 critic calls. Each idea then goes through
the same `CritiqueStage` a session uses: the screens (the duplicate screen against every earlier idea in
the log and every earlier line of the same input), then the critic in one persona's voice. There are no
revision rounds here: the text under review is the reader's, not a persona's to rewrite.
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
from groundhog.core.interfaces import Embedder
from groundhog.core.records import CritiqueResult, Idea, LogEntry, stable_id, today, utcnow
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
    """One input line. Unknown fields are allowed (and ignored) so exports of other tools can be fed in."""

    model_config = ConfigDict(extra="ignore")

    id: NonEmpty
    title: NonEmpty
    summary: NonEmpty
    rationale: StrictStr = ""
    persona: StrictStr = ""


@dataclass(frozen=True)
class InputIdea:
    line: int
    spec: IdeaLine


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
        msg = f"must be a string, not {type(err.get('input')).__name__}"
    return f"field '{field}' {msg}"


def parse_ideas(lines: Iterable[str], source: str) -> list[InputIdea]:
    """Check every line first. Blank lines are skipped; the first problem is reported with its line
    number and field, with a count of any further bad lines."""
    ideas: list[InputIdea] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{source}: line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{source}: line {number}: expected a JSON object, got {type(data).__name__}")
            continue
        try:
            spec = IdeaLine.model_validate(data)
        except ValidationError as exc:
            problems.append(f"{source}: line {number}: {_describe(exc)}")
            continue
        if spec.id in first_line:
            again = f"field 'id' {spec.id!r} is already used on line {first_line[spec.id]}"
            problems.append(f"{source}: line {number}: {again}")
            continue
        first_line[spec.id] = number
        ideas.append(InputIdea(number, spec))
    if problems:
        more = f" (and {len(problems) - 1} more bad line(s))" if len(problems) > 1 else ""
        raise BadInput(problems[0] + more)
    return ideas


def read_ideas(path: str) -> list[InputIdea]:
    """Ideas from a JSONL file, or from stdin when `path` is '-'."""
    import sys
    from pathlib import Path

    if path == "-":
        return parse_ideas(sys.stdin.read().splitlines(), "<stdin>")
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_ideas(text.splitlines(), path)


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
            "critic": r.critic,
            "log_id": self.idea.id,
        }


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
        if self.critic_on:
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
                )
        else:
            flags, _ = self.stage.screen(idea)
            result = CritiqueResult(
                idea_id=idea.id,
                verdict="fail" if flags else "pass",
                flags=flags,
                critic="screens" if flags else "",
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
