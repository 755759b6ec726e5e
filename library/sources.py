"""Papers from files: Markdown and text, PDF (pypdf), BibTeX, and JSON/JSONL exports of arXiv or OpenAlex
records (the starter library is such a JSONL). File text is untrusted: it is read, never run.

Each problem is one line naming the file (and the line or entry) and what is wrong; the rest still reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groundhog.library.papers import Paper, make_paper

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
SUFFIXES = (*TEXT_SUFFIXES, ".pdf", ".bib", ".bibtex", ".json", ".jsonl")
MAX_BYTES = 50_000_000


@dataclass
class Read:
    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, naming the file


def read_paths(paths: Iterable[Path]) -> Read:
    """Every paper in `paths` (files, or folders searched for the known suffixes)."""
    out = Read()
    for path in paths:
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not files:
                out.errors.append(f"{path}: no {', '.join(SUFFIXES)} files in this folder")
        else:
            files = [path]
        for f in files:
            got = read_file(f)
            out.papers += got.papers
            out.errors += got.errors
    return out


def read_file(path: Path) -> Read:
    suffix = path.suffix.lower()
    if not path.exists():
        return Read(errors=[f"{path}: no such file"])
    if suffix not in SUFFIXES:
        return Read(errors=[f"{path}: unknown format {suffix or '(no suffix)'}; expected one of {', '.join(SUFFIXES)}"])
    try:
        if path.stat().st_size > MAX_BYTES:
            return Read(errors=[f"{path}: larger than {MAX_BYTES // 1_000_000} MB"])
        if suffix == ".pdf":
            return Read(papers=[_pdf(path)])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return Read(errors=[f"{path}: not UTF-8 text"])
    except OSError as exc:
        return Read(errors=[f"{path}: cannot read ({exc.strerror or exc})"])
    except BadFile as exc:
        return Read(errors=[f"{path}: {exc}"])
    if suffix in TEXT_SUFFIXES:
        try:
            return Read(papers=[_text(path, text)])
        except BadFile as exc:
            return Read(errors=[f"{path}: {exc}"])
    if suffix in (".bib", ".bibtex"):
        return _bibtex(path, text)
    return _records(path, text, lines=suffix == ".jsonl")


class BadFile(ValueError):
    pass


# -- text and PDF -----------------------------------------------------------------------------------

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _text(path: Path, text: str) -> Paper:
    meta: dict[str, Any] = {}
    found = _FRONT.match(text)
    if found:
        import yaml

        try:
            loaded = yaml.safe_load(found.group(1))
        except yaml.YAMLError as exc:
            raise BadFile(f"front matter is not YAML ({str(exc).splitlines()[0]})") from exc
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[found.end() :]
    if not text.strip():
        raise BadFile("no text")
    title = str(meta.get("title") or "")
    first = next(line for line in text.splitlines() if line.strip())
    if (first.startswith("#") and first.lstrip("#").strip() in ("", title)) or not title:
        title = title or first.lstrip("#").strip()[:300]
        if first.startswith("#"):  # the heading is the title: not a passage of its own
            text = text.split(first, 1)[1]
    authors = meta.get("authors") or meta.get("author") or []
    return make_paper(
        title=title,
        authors=[str(a) for a in authors] if isinstance(authors, list) else [str(authors)],
        year=_year(meta.get("year")),
        abstract=str(meta.get("abstract") or meta.get("summary") or ""),
        text=text,
        url=str(meta.get("url") or ""),
        doi=str(meta.get("doi") or ""),
        arxiv=str(meta.get("arxiv") or ""),
        source=str(path),
    )


def _pdf(path: Path) -> Paper:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise BadFile("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except BadFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadFile(f"not a readable PDF ({type(exc).__name__}: {str(exc)[:120]})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise BadFile("the PDF has no text layer (a scan?)")
    title = str(info.title or "").strip() if info is not None else ""
    if not title:
        title = next(line for line in text.splitlines() if line.strip()).strip()[:300]
    author = str(info.author or "") if info is not None else ""
    return make_paper(
        title=title, authors=[a for a in re.split(r";| and ", author) if a.strip()], text=text, source=str(path)
    )


# -- BibTeX --------------------------------------------------------------------------------------------


def _bib_entries(text: str) -> Iterable[tuple[str, str, str]]:
    """(type, key, body) of each @entry, braces balanced by counting; @comment/@string/@preamble skipped."""
    pos = 0
    while (at := text.find("@", pos)) >= 0:
        head = re.match(r"@(\w+)\s*([{(])", text[at:])
        if not head:
            pos = at + 1
            continue
        kind, opener = head.group(1).lower(), head.group(2)
        closer = "}" if opener == "{" else ")"
        start = at + head.end()
        depth, i = 1, start
        while i < len(text) and depth:
            if text[i] == opener:
                depth += 1
            elif text[i] == closer:
                depth -= 1
            i += 1
        pos = i
        if kind in ("comment", "string", "preamble"):
            continue
        body = text[start : i - 1]
        key, _, rest = body.partition(",")
        yield kind, key.strip(), rest if depth == 0 else ""


def _bib_fields(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    i = 0
    while True:
        m = re.compile(r"\s*,?\s*([\w\-:]+)\s*=\s*").match(body, i)
        if not m:
            break
        name, i = m.group(1).lower(), m.end()
        if i < len(body) and body[i] == "{":
            depth, j = 0, i
            while j < len(body):
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                j += 1
                if depth == 0:
                    break
            value, i = body[i + 1 : j - 1], j
        elif i < len(body) and body[i] == '"':
            j = body.find('"', i + 1)
            j = len(body) if j < 0 else j
            value, i = body[i + 1 : j], j + 1
        else:
            m2 = re.compile(r"[^,]*").match(body, i)
            value, i = (m2.group(0) if m2 else ""), (m2.end() if m2 else len(body))
        fields[name] = " ".join(value.replace("{", "").replace("}", "").split())
    return fields


def _bibtex(path: Path, text: str) -> Read:
    out = Read()
    for n, (_kind, key, body) in enumerate(_bib_entries(text), start=1):
        f = _bib_fields(body)
        if not body or not f.get("title"):
            out.errors.append(f"{path}: entry {key or n}: no title (or unbalanced braces)")
            continue
        arxiv = f.get("eprint", "") if f.get("archiveprefix", "arxiv").lower() == "arxiv" else ""
        out.papers.append(
            make_paper(
                title=f["title"],
                authors=[a.strip() for a in f.get("author", "").split(" and ") if a.strip()],
                year=_year(f.get("year")),
                abstract=f.get("abstract", ""),
                url=f.get("url", ""),
                doi=f.get("doi", ""),
                arxiv=arxiv,
                source=str(path),
            )
        )
    if not out.papers and not out.errors:
        out.errors.append(f"{path}: no BibTeX entries")
    return out


# -- JSON records (arXiv, OpenAlex, the starter library) ----------------------------------------------


def _records(path: Path, text: str, *, lines: bool) -> Read:
    out = Read()
    items: list[tuple[str, Any]] = []
    if lines:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((f"line {n}", json.loads(line)))
            except ValueError as exc:
                out.errors.append(f"{path}: line {n}: not JSON ({exc})")
    else:
        try:
            value = json.loads(text)
        except ValueError as exc:
            return Read(errors=[f"{path}: not JSON ({exc})"])
        if isinstance(value, dict) and isinstance(value.get("results"), list):
            value = value["results"]  # an OpenAlex search page
        values = value if isinstance(value, list) else [value]
        items = [(f"record {n}", v) for n, v in enumerate(values, start=1)]
    for where, record in items:
        try:
            out.papers.append(from_record(record, source=str(path)))
        except (BadFile, ValidationError) as exc:
            why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            out.errors.append(f"{path}: {where}: {why}")
    if not items and not out.errors:
        out.errors.append(f"{path}: no records")
    return out


def _year(value: Any) -> int | None:
    found = re.search(r"\b(1[89]\d\d|2[01]\d\d)\b", str(value)) if value not in (None, "") else None
    return int(found.group(1)) if found else None


def _authors(value: Any) -> list[str]:
    if isinstance(value, str):
        return [a.strip() for a in re.split(r",| and ", value) if a.strip()]
    names = []
    for a in value or []:
        if isinstance(a, dict):
            a = a.get("display_name") or a.get("name") or (a.get("author") or {}).get("display_name") or ""
        if isinstance(a, str) and a.strip():
            names.append(a.strip())
    return names


def inverted_abstract(index: Any) -> str:
    """OpenAlex's `abstract_inverted_index` (word -> positions) back to text."""
    if not isinstance(index, dict):
        return ""
    at: dict[int, str] = {}
    for word, positions in index.items():
        for p in positions if isinstance(positions, list) else []:
            if isinstance(p, int):
                at[p] = str(word)
    return " ".join(at[p] for p in sorted(at))


def from_record(record: Any, *, source: str) -> Paper:
    """One arXiv, OpenAlex or starter record as a paper."""
    if not isinstance(record, dict):
        raise BadFile("not a JSON object")
    title = record.get("title") or record.get("display_name")
    if not isinstance(title, str) or not title.strip():
        raise BadFile("no title")
    rid = str(record.get("id") or "")
    authors = record.get("authors") or record.get("authorships") or record.get("author") or []
    abstract = (
        record.get("abstract") or record.get("summary") or inverted_abstract(record.get("abstract_inverted_index"))
    )
    url = record.get("url") or ((record.get("primary_location") or {}).get("landing_page_url") or "")
    if not url and rid.startswith("http"):
        url = rid
    year = record.get("year") or record.get("publication_year") or record.get("published") or record.get("update_date")
    arxiv = str(
        record.get("arxiv")
        or record.get("arxiv_id")
        or (rid if "arxiv" in rid.lower() or re.fullmatch(r"\d{4}\.\d{4,5}(v\d+)?", rid) else "")
    )
    return make_paper(
        title=title,
        authors=_authors(authors),
        year=_year(year),
        abstract=str(abstract or ""),
        text=str(record.get("text") or ""),
        url=str(url or ""),
        doi=str(record.get("doi") or ""),
        arxiv=arxiv,
        source=source,
    )
