"""What a chat request asks for: the structured-output schema, read from the request's structure, and the
data its prompt carries (the persona speaking, the idea under judgment), read in this one place.

The scripted doubles pick their reply by the schema's name, never by the prompt's wording, so a reworded
prompt cannot silently change what a test exercises. The name is the pydantic model's (`ModelClient` sends it as
the `json_schema` name and pydantic writes it as the schema's `title`), in each structured-output mode:

- ``json_schema``: ``response_format.json_schema.name`` (or the schema's ``title``);
- ``json_object`` with a schema (llama.cpp's spelling): ``response_format.schema.title``;
- plain prompting: the schema ``ModelClient`` embeds, as one line of JSON, at the end of its instruction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class UnknownSchema(AssertionError):
    """A double was asked for a schema it has no reply for: a test that needs one must script it."""

    def __init__(self, double: str, name: str | None) -> None:
        self.schema = name
        what = f"schema {name!r}" if name else "a reply without a schema"
        super().__init__(f"{double} has no reply for {what}")


def _embedded_schema(text: str) -> dict[str, Any] | None:
    """The JSON schema on the last line of a prompt-mode message, if there is one."""
    last = text.rstrip().rsplit("\n", 1)[-1].strip()
    if not last.startswith("{"):
        return None
    try:
        value = json.loads(last)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "properties" in value else None


def requested_schema(response_format: Any, texts: Sequence[str] = ()) -> dict[str, Any] | None:
    """The JSON schema a request asks for, its ``title`` the schema's name; None without one. `texts` are
    the request's messages, for plain prompting (the newest first to be searched: a repair comes after)."""
    if isinstance(response_format, dict):
        inner = response_format.get("json_schema")
        if isinstance(inner, dict) and isinstance(inner.get("schema"), dict):
            schema: dict[str, Any] = inner["schema"]
            return {**schema, "title": inner.get("name") or schema.get("title")}
        if isinstance(response_format.get("schema"), dict):
            return dict(response_format["schema"])
    for text in reversed(texts):
        if (embedded := _embedded_schema(text)) is not None:
            return embedded
    return None


def schema_name(response_format: Any, texts: Sequence[str] = ()) -> str | None:
    """The name of the schema a request asks for (``BabbleOutput``, ``CriticOutput``...), or None."""
    schema = requested_schema(response_format, texts)
    title = schema.get("title") if schema else None
    return title if isinstance(title, str) else None


def body_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """`requested_schema` of an OpenAI chat request body."""
    texts = [m.get("content") for m in body.get("messages") or [] if isinstance(m, dict)]
    return requested_schema(body.get("response_format"), [t for t in texts if isinstance(t, str)])


CRITIC_SCHEMAS = ("CriticOutput", "CriticJudgment", "CriticPriorArt", "CriticJudgmentPriorArt")
_PAPER = re.compile(r"^\[(P\d+)\] (.*?)(?:, (\d{4}))? \(similarity ([\d.]+)\):", re.M)
_PERSONA = re.compile(r"You are ([^,\n]+), an AI-alignment researcher")
_TITLE = re.compile(r"Title: (.*)")
_AUTHOR = re.compile(r"The idea, by (.*?):")


@dataclass(frozen=True)
class ChatRequest:
    """One chat request as fields: its schema, and the template data filled into its prompt."""

    schema: str | None
    persona: str | None  # the name of the persona whose frame the system message is
    prompt: str  # the request message (a repair, if any, comes after it)
    title: str | None  # the first idea's title (the one judged, revised or compared first)
    author: str | None  # a critic's request: the idea's author, "you" for the persona's own
    papers: tuple[tuple[str, str, float], ...] = ()  # a critic shown prior art: (label, title, similarity)

    @property
    def critic(self) -> bool:
        return self.schema in CRITIC_SCHEMAS

    @property
    def cross(self) -> bool:
        """A critic judging another persona's idea (the cross critic)."""
        return self.critic and self.author not in (None, "you")

    @property
    def idea_author(self) -> str | None:
        """Whose idea a critic judges: the named author, or the persona itself."""
        return self.author if self.cross else self.persona


def read_request(texts: Sequence[str], response_format: Any = None) -> ChatRequest:
    """`texts` are the request's messages in order, the system message first."""
    persona = _PERSONA.search(texts[0]) if texts else None
    prompt = texts[1] if len(texts) > 1 else (texts[0] if texts else "")
    title, author = _TITLE.search(prompt), _AUTHOR.search(prompt)
    return ChatRequest(
        schema=schema_name(response_format, texts),
        persona=persona.group(1).strip() if persona else None,
        prompt=prompt,
        title=title.group(1) if title else None,
        author=author.group(1) if author else None,
        papers=tuple((m.group(1), m.group(2), float(m.group(4))) for m in _PAPER.finditer(prompt)),
    )


def chat_request(messages: Sequence[Any], kwargs: dict[str, Any]) -> ChatRequest:
    """`read_request` of a LangChain call (its messages and keyword arguments)."""
    return read_request([str(m.content) for m in messages], kwargs.get("response_format"))


def body_request(body: dict[str, Any]) -> ChatRequest:
    """`read_request` of an OpenAI chat request body."""
    texts = [m.get("content") for m in body.get("messages") or [] if isinstance(m, dict)]
    return read_request([t for t in texts if isinstance(t, str)], body.get("response_format"))
