"""A persona's grounding writings: which files they are, and how they are cut into passages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from groundhog.core.errors import BadInput
from groundhog.researchers.model import CORPUS_SUFFIXES, Persona


def corpus_paths(folder: Path) -> list[Path]:
    """The writings below `folder` (Markdown, text, PDF), hidden ones left out, in a stable order."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in CORPUS_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def corpus_files(persona: Persona) -> list[Path]:
    """The persona's grounding writings (Markdown, text and PDF under its corpus folder), in a stable order."""
    folder = persona.corpus_dir()
    if folder is None:
        return []
    if not folder.is_dir():
        raise BadInput(f"persona '{persona.id}': corpus folder not found: {folder}")
    return corpus_paths(folder)


def read_writing(path: Path) -> str:
    """The text of one writing: a Markdown or text file as it is, a PDF's text layer read by the library's
    reader (pypdf). A PDF that cannot be read (encrypted, a scan, broken) gives no text: it grounds
    nothing, and `personas draft`, which reads the same files, names it."""
    if path.suffix.lower() != ".pdf":  # .md, .markdown, .txt
        return path.read_text(encoding="utf-8")
    from groundhog.library.sources import read_file

    got = read_file(path)
    return "\n\n".join(paper.text for paper in got.papers)


def corpus_chunks(path: Path) -> list[str]:
    """One writing cut into the passages that ground a persona (`chunk_text`), as the night ingests them."""
    return chunk_text(read_writing(path))


def _split_long(paragraph: str, max_chars: int) -> Iterator[str]:
    """Break a paragraph that is too long at sentence ends, then between words."""
    for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
        if len(sentence) <= max_chars:
            yield sentence
            continue
        line = ""
        for word in sentence.split():
            while len(word) > max_chars:  # a single word longer than a chunk: the one forced cut
                if line:
                    yield line
                    line = ""
                yield word[:max_chars]
                word = word[max_chars:]
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= max_chars:
                line += " " + word
            else:
                yield line
                line = word
        if line:
            yield line


def _pieces(text: str, max_chars: int) -> Iterator[tuple[str, str]]:
    """(separator, piece) pairs: paragraphs, or parts of a paragraph too long to be one chunk."""
    for raw in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        paragraph = raw.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            yield "\n\n", paragraph
            continue
        for index, part in enumerate(_split_long(paragraph, max_chars)):
            yield ("\n\n" if index == 0 else " "), part


def _tail(text: str, limit: int) -> str:
    """The last words of `text` that fit in `limit` characters, cut only between words."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text.strip()
    start = len(text) - limit
    if not text[start - 1].isspace():
        match = re.search(r"\s", text[start:])
        if match is None:
            return ""
        start += match.start()
    return text[start:].strip()


def chunk_text(text: str, max_chars: int = 1200, overlap: int = 150) -> list[str]:
    """Split writing into chunks of at most `max_chars` for embedding, on paragraph breaks where possible.

    Each chunk after the first starts with up to `overlap` characters from the end of the previous one, so
    an idea that straddles a boundary is still retrievable. Cuts fall between words, except inside a single
    word longer than `max_chars`.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    if not 0 <= overlap < max_chars:
        raise ValueError("overlap must be at least 0 and less than max_chars")
    chunks: list[str] = []
    current = ""
    for separator, piece in _pieces(text, max_chars):
        if not current:
            current = piece
        elif len(current) + len(separator) + len(piece) <= max_chars:
            current += separator + piece
        else:
            chunks.append(current)
            tail = _tail(current, min(overlap, max_chars - len(piece) - len(separator)))
            current = tail + separator + piece if tail else piece
    if current:
        chunks.append(current)
    return chunks
