"""Homes as the release before Alembic made them, built from its frozen schema (tests/data/): the SQLite
migrations it ran (`migrations_v6.py`, a copy of its core/migrations.py) and the PostgreSQL SQL its
translation produced (`schema_v6_postgresql.sql`), with rows of every table written as that code wrote
them (JSON as text, timestamps as ISO text)."""

from __future__ import annotations

import json
import runpy
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
APPLICATION_ID = 0x47524448
T = "2026-11-23T06:00:00.000000+00:00"

CRITIQUE = {
    "idea_id": "idea0001",
    "verdict": "pass",
    "flags": [],
    "scores": {"novelty": 7, "feasibility": 6, "relevance": 8, "clarity": 7},
    "reasoning": "holds up",
    "weakest_point": "scale",
    "critic": "fake",
}


def legacy_migrations() -> list[tuple[int, str]]:
    return list(runpy.run_path(str(DATA / "migrations_v6.py"))["MIGRATIONS"])


def sqlite_home(path: Path, version: int = 6) -> Path:
    """A groundhog.db at `user_version` = version, as the earlier code's open left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        for number, script in legacy_migrations()[:version]:
            conn.executescript(
                f"BEGIN IMMEDIATE; {script}; PRAGMA application_id = {APPLICATION_ID}; "
                f"PRAGMA user_version = {number}; COMMIT;"
            )
    return path


def postgres_schema_sql() -> str:
    return (DATA / "schema_v6_postgresql.sql").read_text()


# One row of every table: (table, columns and values), in an order the foreign keys accept.
ROWS: list[tuple[str, dict[str, Any]]] = [
    (
        "sessions",
        {
            "id": "old",
            "created_at": T,
            "updated_at": T,
            "status": "completed",
            "reason": "all 1 days done",
            "config": None,
            "elapsed_s": 12.5,
        },
    ),
    (
        "queue",
        {
            "idea_id": "idea0001",
            "session": "old",
            "persona": "doomimir",
            "day": 1,
            "present": "2026-11-23",
            "title": "Old idea",
            "summary": "kept whole",
            "rationale": "why",
            "builds_on": json.dumps(["x1"]),
            "revision": 0,
            "parent_id": None,
            "score_novelty": 7,
            "score_feasibility": 6,
            "score_relevance": 8,
            "score_clarity": 7,
            "novelty": 0.4,
            "rank_score": 0.6,
            "reasoning": "holds up",
            "weakest_point": "scale",
            "critic": "fake",
            "flags": "[]",
            "critique": json.dumps(CRITIQUE),
            "status": "accepted",
            "note": "good",
            "queued_at": T,
            "decided_at": T,
            "origin": "survivor",
        },
    ),
    (
        "queue",
        {
            "idea_id": "idea0002",
            "session": "old",
            "persona": "doomimir",
            "day": 1,
            "present": "2026-11-23",
            "title": "Second",
            "summary": "s",
            "rationale": "",
            "builds_on": "[]",
            "revision": 0,
            "parent_id": None,
            "score_novelty": None,
            "score_feasibility": None,
            "score_relevance": None,
            "score_clarity": None,
            "novelty": 0.1,
            "rank_score": 0.2,
            "reasoning": "",
            "weakest_point": "",
            "critic": "fake",
            "flags": "[]",
            "critique": json.dumps({**CRITIQUE, "idea_id": "idea0002", "scores": None}),
            "status": "pending",
            "note": "",
            "queued_at": T,
            "decided_at": None,
            "origin": "audit",
        },
    ),
    (
        "days",
        {
            "session": "old",
            "persona": "doomimir",
            "day": 1,
            "status": "done",
            "present": "2026-11-23",
            "summary": json.dumps({"notebook_id": "nb1", "entry_ids": ["e1", "e2"], "ideas": []}),
            "generated": 3,
            "surviving": 1,
            "prompt_tokens": 100,
            "completion_tokens": 50,
            "error": "",
            "finished_at": T,
            "drafts": 4,
            "attempts": 1,
            "epoch": 1,
        },
    ),
    (
        "epochs",
        {
            "session": "old",
            "persona": "doomimir",
            "epoch": 1,
            "last_day": 1,
            "cause": "review-every",
            "reason": "--review-every 1",
            "status": "reviewed",
            "paused_at": T,
            "closed_at": T,
            "undecided": "[]",
        },
    ),
    (
        "pairwise_judgements",
        {
            "idea_a": "idea0001",
            "idea_b": "idea0002",
            "winner": "a",
            "judge": "human",
            "source": "web",
            "note": "clearer",
            "created_at": T,
        },
    ),
    ("ratings", {"idea_id": "idea0001", "rating": 1550.0, "sigma": 80.0, "matches": 1, "updated_at": T}),
    (
        "tournaments",
        {
            "id": "t1",
            "session": "old",
            "ideas": json.dumps(["idea0001", "idea0002"]),
            "matches": 2,
            "max_tokens": None,
            "both_orders": 1,
            "judge": "fake",
            "status": "completed",
            "reason": "",
            "calls": 3,
            "failed": 1,
            "prompt_tokens": 30,
            "completion_tokens": 9,
            "created_at": T,
            "updated_at": T,
        },
    ),
    (
        "questions",
        {
            "id": "q1",
            "session": "old",
            "persona": "doomimir",
            "day": 1,
            "present": "2026-11-23",
            "question": "Which one?",
            "context": json.dumps({"ideas": [{"id": "idea0001", "title": "Old"}]}),
            "status": "answered",
            "answer": "the first",
            "asked_at": T,
            "answered_at": T,
        },
    ),
]


def rows(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """ROWS with the session's saved config (a SessionConfig as the earlier code dumped it)."""
    out = []
    for table, values in ROWS:
        if table == "sessions":
            values = {**values, "config": json.dumps(config)}
        out.append((table, values))
    return out


def insert_sql(table: str, values: dict[str, Any], placeholder: str) -> str:
    marks = ", ".join(placeholder for _ in values)
    return f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})"
