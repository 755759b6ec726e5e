"""Reading a model's reply: the answer without the reasoning, and the JSON object inside it."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


# strict=False: a literal newline or tab inside a string (which models write, and JSON forbids) is kept
# as text instead of making the whole object unreadable.
_DECODER = json.JSONDecoder(strict=False)
_THINK = re.compile(r"<(think|thinking|reasoning|reflection)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_THINK_END = re.compile(r"</(?:think|thinking|reasoning|reflection)>", re.IGNORECASE)


def content_text(message: Any) -> str:
    """A reply's text content blocks, joined (a reasoning block is not the answer)."""
    content = getattr(message, "content", message)
    if isinstance(content, list):
        content = "".join(
            b if isinstance(b, str) else str(b.get("text", "")) if b.get("type") == "text" else "" for b in content
        )
    return str(content)


def strip_reasoning(text: str) -> str:
    """`<think>...</think>` sections removed, and everything before a lone closing tag (servers that
    strip the opening one)."""
    text = _THINK.sub("", text)
    parts = _THINK_END.split(text)
    return parts[-1] if len(parts) > 1 else text


def reply_text(message: Any) -> str:
    """The answer part of a reply: its text blocks, without the reasoning."""
    return strip_reasoning(content_text(message))


def json_objects(text: str) -> list[Any]:
    """Every JSON object in a reply that may wrap it in prose or code fences: fenced blocks first."""
    found: list[Any] = []
    for chunk in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        start = chunk.find("{")
        while start != -1:
            try:
                value, end = _DECODER.raw_decode(chunk[start:])
            except ValueError:
                start = chunk.find("{", start + 1)
                continue
            if isinstance(value, dict):
                found.append(value)
            start = chunk.find("{", start + end)
    return found


def extract_json(text: str) -> Any:
    """The first JSON object in a reply."""
    found = json_objects(text)
    if not found:
        raise ValueError("no JSON object in the reply")
    return found[0]


def parse_reply(text: str, schema: type[T]) -> T:
    """The first JSON object in the reply that is a valid `schema`, looking first outside the reasoning,
    then in the text as it came (a JSON string may itself hold a tag like `</think>`: a grammar-bound
    model writes whatever its fields allow); else the first candidate's error."""
    answer = strip_reasoning(text)
    candidates = json_objects(answer) + (json_objects(text) if answer != text else [])
    if not candidates:
        raise ValueError("no JSON object in the reply")
    first: ValidationError | None = None
    for value in candidates:
        try:
            return schema.model_validate(value)
        except ValidationError as exc:
            first = first or exc
    assert first is not None
    raise first


def schema_for(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema: built once per model class (pydantic takes milliseconds), a fresh copy
    for each caller."""
    return json.loads(_schema_json(model))


@lru_cache(maxsize=256)
def _schema_json(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema())
