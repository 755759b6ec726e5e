"""The critic's part of the prior-art check: the nearest papers in its prompt, and its answer read back.
Proximity is information, not a verdict: an idea fails as prior art only when the critic says a paper
already did it and names one of the papers it was shown."""

from __future__ import annotations

from collections.abc import Sequence

from groundhog.core.records import Flag, PriorArt
from groundhog.critique.critic import CriticOutput
from groundhog.researchers.prompts import prompts

PASSAGE_CHARS = 400


def shown(papers: Sequence[PriorArt]) -> list[PriorArt]:
    """The papers the critic is asked about: those at or above the calibrated bar."""
    return [p for p in papers if p.above]


def papers_prompt(papers: Sequence[PriorArt]) -> str:
    lines = []
    for n, p in enumerate(papers, start=1):
        year = f", {p.year}" if p.year else ""
        passage = p.passage if len(p.passage) <= PASSAGE_CHARS else p.passage[: PASSAGE_CHARS - 1] + "…"
        lines.append(f"[P{n}] {p.title}{year} (similarity {p.similarity:.2f}): {passage}")
    return prompts()["prior_art"]["user"].format(papers="\n".join(lines))


def named(papers: Sequence[PriorArt], name: str) -> PriorArt | None:
    """The paper the critic named: a label (P1), a paper id, or (part of) a title."""
    key = " ".join(name.strip().strip("[]().").split()).lower()
    if not key:
        return None
    if key.startswith("p") and key[1:].isdigit() and 1 <= int(key[1:]) <= len(papers):
        return papers[int(key[1:]) - 1]
    for p in papers:
        title = p.title.lower()
        if key == p.paper_id.lower() or key in title or (len(title) >= 12 and title in key):
            return p
    return None


def prior_art_flag(out: CriticOutput, papers: Sequence[PriorArt], critic: str) -> tuple[Flag | None, str]:
    """The `prior_art` flag when the critic says the idea is done and names a paper it was shown; else
    None, with a note when it said done without naming one (the idea is then judged on its scores)."""
    if not getattr(out, "already_done", False):
        return None, ""
    name = str(getattr(out, "prior_art_paper", "") or "")
    paper = named(papers, name)
    if paper is None:
        return None, f"(the critic said the idea is already done but named no paper it was shown: {name[:80]!r})"
    year = f", {paper.year}" if paper.year else ""
    why = f"already done in {paper.title!r}{year} (similarity {paper.similarity:.2f}), says the critic ({critic})"
    return Flag(name="prior_art", reason=why, ref=paper.paper_id), ""
