"""Log entries as Chroma rows and back: the metadata an entry is stored with, the entry a row reads
as, and the `where` filters the store asks with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from groundhog.core.records import LogEntry

_META_PREFIX = "m_"  # an entry's own meta keys, apart from the store's columns


def meta_field(name: str) -> str:
    """The store's column for an entry's own meta key `name` (to filter on it)."""
    return _META_PREFIX + name


def to_metadata(e: LogEntry) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "persona": e.persona,
        "session": e.session,
        "day": e.day,
        "kind": e.kind,
        "importance": float(e.importance),
        "created_at": e.created_at.isoformat(),
        "created_ts": e.created_at.timestamp(),
        "present": e.present.isoformat() if e.present else "",
    }
    for key, value in e.meta.items():
        meta[_META_PREFIX + key] = value
    return meta


def from_chroma(entry_id: str, document: str | None, meta: dict[str, Any]) -> LogEntry:
    extra = {k[len(_META_PREFIX) :]: v for k, v in meta.items() if k.startswith(_META_PREFIX)}
    present = meta.get("present") or None
    return LogEntry(
        id=entry_id,
        persona=str(meta.get("persona", "")),
        session=str(meta.get("session", "")),
        day=int(meta.get("day", 0)),
        kind=meta.get("kind", "notebook"),
        text=document or "",
        importance=float(meta.get("importance", 0.5)),
        created_at=datetime.fromisoformat(str(meta["created_at"])),
        present=date.fromisoformat(str(present)) if present else None,
        meta=extra,
    )


def where_of(**filters: Any) -> dict[str, Any] | None:
    """Chroma `where` from keyword filters; a list value means "any of"; None values are skipped."""
    clauses: list[dict[str, Any]] = []
    for key, value in filters.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set):
            values = list(value)
            clauses.append({key: {"$in": values}} if len(values) != 1 else {key: values[0]})
        else:
            clauses.append({key: value})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def ideas_among(
    ids: Sequence[str],
    metas: Sequence[dict[str, Any] | None],
    distances: Sequence[float],
    k: int,
    keep: Callable[[LogEntry], bool] | None,
) -> list[tuple[LogEntry, float]]:
    """The first k ideas of a query's hits that `keep` accepts, as (entry without text, similarity)."""
    found: list[tuple[LogEntry, float]] = []
    for i, m, dist in zip(ids, metas, distances, strict=True):
        if (m or {}).get("kind") != "idea":
            continue
        e = from_chroma(i, None, m or {})
        if keep is None or keep(e):
            found.append((e, 1.0 - float(dist)))
            if len(found) == k:
                break
    return found
