"""A paper of the library and its stable id: the same paper, from any file or source, gets the same id."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from groundhog.core.records import stable_id

_ARXIV = re.compile(r"(?:arxiv[:/ ]|abs/|pdf/)?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.I)


class Paper(BaseModel):
    """Bibliographic facts and text. `text` is the body (a PDF's pages, a post); `abstract` the summary."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str = Field(min_length=1)
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    abstract: str = ""
    text: str = ""
    url: str = ""
    doi: str = ""
    arxiv: str = ""
    source: str = ""  # the file it came from, "starter", "openalex" or "arxiv"

    @property
    def link(self) -> str:
        if self.url:
            return self.url
        if self.arxiv:
            return f"https://arxiv.org/abs/{self.arxiv}"
        return f"https://doi.org/{self.doi}" if self.doi else ""

    def document(self) -> str:
        """The text that is chunked and embedded: abstract and body (the title alone when there is neither).
        The title is left out of the embedded text: measured on the calibration data, it pulls a paper's
        vector toward its name and away from what the paper did (library/bars.py)."""
        body = "\n\n".join(part.strip() for part in (self.abstract, self.text) if part.strip())
        return body or self.title


def arxiv_id(value: str) -> str:
    """The bare arXiv id in an id, URL or `arXiv:` reference ("" when there is none), version dropped."""
    found = _ARXIV.search(value.strip()) if value else None
    return found.group(1) if found else ""


def normalise_doi(value: str) -> str:
    doi = value.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
        if doi.lower().startswith(prefix):
            doi = doi[len(prefix) :]
    return doi.lower()


def title_key(title: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", title.lower()).split())


def paper_id(*, title: str, arxiv: str = "", doi: str = "", year: int | None = None) -> str:
    """arXiv id first, then DOI, then the normalised title (with the year): stable across sources."""
    if arxiv:
        return f"arxiv:{arxiv}"
    if doi:
        return f"doi:{doi}"
    return "paper:" + stable_id(title_key(title), year or "")


def make_paper(
    *,
    title: str,
    authors: list[str] | None = None,
    year: int | None = None,
    abstract: str = "",
    text: str = "",
    url: str = "",
    doi: str = "",
    arxiv: str = "",
    source: str = "",
) -> Paper:
    """A paper with its id derived from its facts (an arXiv id found in the URL counts)."""
    title = " ".join(title.split())
    arx = arxiv_id(arxiv) or (arxiv_id(url) if "arxiv.org" in url else "")
    d = normalise_doi(doi)
    return Paper(
        id=paper_id(title=title, arxiv=arx, doi=d, year=year),
        title=title,
        authors=[a.strip() for a in authors or [] if a.strip()],
        year=year,
        abstract=abstract.strip(),
        text=text,
        url=url.strip(),
        doi=d,
        arxiv=arx,
        source=source,
    )
