"""Reading replies as strong and chatty models write them: reasoning first, fences, prose around JSON."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel, ValidationError

from groundhog.providers.parsing import parse_reply, reply_text


class Answer(BaseModel):
    title: str
    score: int


def test_a_think_block_is_not_the_answer_even_when_it_holds_a_valid_object() -> None:
    text = '<think>maybe {"title": "decoy", "score": 1}? no.</think>\n{"title": "real", "score": 9}'
    assert parse_reply(reply_text(AIMessage(content=text)), Answer) == Answer(title="real", score=9)


def test_a_lone_closing_tag_drops_the_reasoning_before_it() -> None:
    text = 'thinking {"title": "decoy", "score": 1}</think>{"title": "real", "score": 2}'
    assert parse_reply(reply_text(AIMessage(content=text)), Answer).title == "real"


def test_reasoning_content_blocks_are_skipped() -> None:
    blocks = [
        {"type": "reasoning", "text": '{"title": "decoy", "score": 1}'},
        {"type": "text", "text": 'Here: {"title": "real", "score": 3}'},
    ]
    assert parse_reply(reply_text(AIMessage(content=blocks)), Answer).title == "real"


def test_the_first_object_that_fits_the_schema_wins_over_earlier_prose_objects() -> None:
    text = 'An example {"format": "json"} first. ```json\n{"title": "fenced", "score": 4}\n``` then {oops}'
    assert parse_reply(text, Answer).title == "fenced"
    assert parse_reply('I mean {"note": 1} and {"title": "inline", "score": 5}.', Answer).title == "inline"


def test_no_fitting_object_reports_the_first_ones_error() -> None:
    with pytest.raises(ValidationError, match="title"):
        parse_reply('{"score": 1}', Answer)
    with pytest.raises(ValueError, match="no JSON object"):
        parse_reply("no braces", Answer)


def test_a_tag_inside_a_json_string_does_not_hide_the_object() -> None:
    """A grammar-bound model writes what its fields allow: a closing tag inside a string is content."""

    class Babble(BaseModel):
        thinking: str
        ideas: list[Answer]

    text = '{"thinking": "I wrote </think> and <reasoning>", "ideas": [{"title": "nested", "score": 1}]}'
    parsed = parse_reply(text, Babble)
    assert parsed.thinking.startswith("I wrote") and parsed.ideas[0].title == "nested"


def test_a_raw_newline_inside_a_string_keeps_the_object_readable() -> None:
    parsed = parse_reply('{"title": "two\nlines\tand a tab", "score": 3}', Answer)
    assert parsed.title == "two\nlines\tand a tab"
