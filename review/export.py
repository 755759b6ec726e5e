"""Export queue items: a Markdown morning report for reading, JSON or JSONL for other tools.

Every field a model wrote (titles, summaries, the critic's reasoning) is untrusted: in Markdown it passes
through `escape_md`, so it shows as text and can never add a heading, a link or HTML to the report, and
its terminal controls show as `<U+001B>` (the report is read with `cat` too). JSON and JSONL keep the
exact text, with those characters as JSON escapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from groundhog.core.errors import BadInput
from groundhog.core.records import QUEUE_STATUSES, QueueItem, utcnow
from groundhog.core.text import json_safe, safe_text

FORMATS: tuple[str, ...] = ("md", "json", "jsonl")

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Characters that mean something in (GitHub-flavoured) Markdown wherever they appear.
_ALWAYS = set("\\`*_[]|~#")  # "#" too: trailing hashes would close a heading
# Characters that start a block (list, rule, setext underline) only at the start of a line.
_LINE_START = re.compile(r"^([+=-]|\d+(?=[.)]))")


def _escape_line(line: str) -> str:
    line = line.strip()
    out = []
    for char in line:
        if char in _HTML:
            out.append(_HTML[char])
        elif char in _ALWAYS:
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = "".join(out)
    match = _LINE_START.match(escaped)
    if match:
        token = match.group(1)
        # "12." -> "12\." ; "#" -> "\#"
        escaped = token + "\\" + escaped[len(token) :] if token[0].isdigit() else "\\" + escaped
    return escaped


def escape_md(text: str, *, inline: bool = False) -> str:
    """Make untrusted text inert in Markdown: HTML as entities, Markdown syntax backslash-escaped.

    Leading whitespace is dropped from each line (no indented code blocks); control characters and
    bidi overrides are made visible (`core.text.safe_text`, so ESC reads `&lt;U+001B&gt;`). With
    `inline`, all whitespace collapses to single spaces (titles, one-line fields); otherwise paragraph
    breaks are kept, with blank lines inside a paragraph dropped.
    """
    text = safe_text(text)
    if inline:
        return _escape_line(" ".join(text.split()))
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(
        "\n".join(_escape_line(line) for line in para.split("\n") if line.strip()) for para in paragraphs
    )


def scores_line(item: QueueItem) -> str:
    """The critic's rubric on one line, for the report and the review screen."""
    scores = item.critique.scores
    return "unscored" if scores is None else f"{scores.describe()} (mean {scores.mean:.2f})"


def _markdown_item(number: int, item: QueueItem) -> list[str]:
    idea, critique = item.idea, item.critique
    lines = [
        f"### {number}. {escape_md(idea.title, inline=True)}",
        "",
        f"- **Id:** {escape_md(idea.id, inline=True)}",
        f"- **Status:** {item.status}",
        f"- **Rank:** {item.rank_score:.3f} (novelty distance {item.novelty:.2f})",
        f"- **Scores:** {scores_line(item)}",
    ]
    if item.rating is not None:
        lines.append(f"- **Rating:** {item.rating:.0f} ± {item.rating_sigma or 0:.0f} ({item.matches} matches)")
    if item.decided and item.origin == "audit":
        lines.append("- **Origin:** audit item (the critic had rejected it)")
    if critique.critic:
        lines.append(f"- **Critic:** {escape_md(critique.critic, inline=True)}")
    for flag in critique.flags:
        lines.append(f"- **Flag {flag.name}:** {escape_md(flag.reason, inline=True)}")
    for paper in critique.prior_art[:3]:
        year = f" ({paper.year})" if paper.year else ""
        link = f" <{escape_md(paper.url, inline=True)}>" if paper.url else ""
        lines.append(
            f"- **Nearest prior work:** {escape_md(paper.title, inline=True)}{year}, similarity "
            f"{paper.similarity:.2f}{link}: {escape_md(paper.passage[:300], inline=True)}"
        )
    provenance = [
        f"session {escape_md(idea.session or '-', inline=True)}",
        f"day {idea.day}",
        f"present {idea.present.isoformat() if idea.present else '-'}",
        f"revision {idea.revision}",
    ]
    if idea.parent_id:
        provenance.append(f"revises {escape_md(idea.parent_id, inline=True)}")
    if idea.builds_on:
        provenance.append("builds on " + ", ".join(escape_md(b, inline=True) for b in idea.builds_on))
    if idea.parents:
        provenance.append(
            "parents "
            + ", ".join(f"{escape_md(p.id, inline=True)} by {escape_md(p.persona, inline=True)}" for p in idea.parents)
        )
    lines.append(f"- **Provenance:** {'; '.join(provenance)}")
    if item.decided_at is not None:
        by = f" by {escape_md(item.reviewer, inline=True)}" if item.reviewer else ""
        lines.append(f"- **Decided:** {item.decided_at.isoformat(timespec='seconds')}{by}")
    if item.note:
        lines.append(f"- **Reviewer note:** {escape_md(item.note, inline=True)}")
    if len(item.decisions) > 1:  # reviewers who may disagree: each one's own decision, oldest first
        for made in item.decisions:
            said = f": {escape_md(made.note, inline=True)}" if made.note else ""
            lines.append(
                f"- **Decision of {escape_md(made.reviewer, inline=True)}:** {made.status}, "
                f"{made.decided_at.isoformat(timespec='seconds')}{said}"
            )
    lines.append("")
    for label, text in (
        ("Summary", idea.summary),
        ("Rationale", idea.rationale),
        ("Critic's reasoning", critique.reasoning),
        ("Weakest point", critique.weakest_point),
    ):
        if text.strip():
            lines += [f"**{label}.**", "", escape_md(text), ""]
    return lines


def to_markdown(items: Sequence[QueueItem], *, generated_at: datetime | None = None) -> str:
    """A morning report: counts, then one section per persona with its ideas in the given order."""
    moment = generated_at or utcnow()
    counts = {status: 0 for status in QUEUE_STATUSES}
    for item in items:
        counts[item.status] += 1
    lines = [
        "# groundhog: ideas for review",
        "",
        f"Date: {moment.date().isoformat()}",
        "",
        f"{len(items)} ideas: " + ", ".join(f"{counts[s]} {s}" for s in QUEUE_STATUSES),
        "",
    ]
    by_persona: dict[str, list[QueueItem]] = {}
    for item in items:
        by_persona.setdefault(item.idea.persona, []).append(item)
    for persona in sorted(by_persona):
        group = by_persona[persona]
        name = escape_md(persona, inline=True) if persona else "(no persona)"
        lines += [f"## {name} ({len(group)})", ""]
        for number, item in enumerate(group, start=1):
            lines += _markdown_item(number, item)
    return "\n".join(lines).rstrip("\n") + "\n"


def to_record(item: QueueItem) -> dict[str, Any]:
    """One item as a plain JSON-ready object, with its id at the top."""
    return {
        "id": item.id,
        **item.model_dump(mode="json"),
        "literature_novelty": item.literature_novelty,
        "reviewer": item.reviewer,  # who made the latest decision (`status`); every one is in `decisions`
    }


def export(items: Sequence[QueueItem], fmt: str, *, generated_at: datetime | None = None) -> str:
    """Render items as 'md', 'json' (one list) or 'jsonl' (one object per line)."""
    if fmt == "md":
        return to_markdown(items, generated_at=generated_at)
    if fmt == "json":
        return json_safe(json.dumps([to_record(item) for item in items], indent=2, ensure_ascii=False)) + "\n"
    if fmt == "jsonl":
        return "".join(json_safe(json.dumps(to_record(item), ensure_ascii=False)) + "\n" for item in items)
    raise BadInput(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
