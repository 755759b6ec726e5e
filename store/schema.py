"""Every table of the groundhog database, declared once, for SQLite and PostgreSQL alike.

The code reads and writes through these; the migrations (store/migrations/versions/) build them, and
tests/test_store_schema.py checks that what the migrations build is what is declared here. Timestamps
are ISO 8601 text (UTC, microseconds where the order matters), as they always were, so text order is
time order on both databases. JSON columns are JSON (SQLite: text; PostgreSQL: JSONB).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TextClause,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

INT: Integer = Integer().with_variant(BigInteger(), "postgresql")
REAL: Double[float] = Double()
JSON_DOC: JSON = JSON().with_variant(JSONB(), "postgresql")

SESSION_STATUSES = ("running", "interrupted", "awaiting-review", "completed", "completed-with-failures", "failed")


def _check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


def _empty(value: str = "") -> TextClause:
    return text(f"'{value}'")


queue = Table(
    "queue",
    metadata,
    Column("idea_id", Text, primary_key=True),
    Column("session", Text, nullable=False, server_default=_empty()),
    Column("persona", Text, nullable=False, server_default=_empty()),
    Column("day", INT, nullable=False, server_default=text("0")),
    Column("present", Text),  # ISO date the persona lived in
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("rationale", Text, nullable=False, server_default=_empty()),
    Column("builds_on", JSON_DOC, nullable=False, server_default=_empty("[]")),  # idea ids
    Column("revision", INT, nullable=False, server_default=text("0")),
    Column("parent_id", Text),
    Column("score_novelty", INT),  # critic rubric, 1-10; NULL when unscored
    Column("score_feasibility", INT),
    Column("score_relevance", INT),
    Column("score_clarity", INT),
    Column("novelty", REAL, nullable=False, server_default=text("0")),  # to the nearest earlier idea, 0..1
    Column("literature_novelty", REAL),  # to the nearest paper of the library, 0..1; NULL without one
    Column("rank_score", REAL, nullable=False, server_default=text("0")),  # best first
    Column("reasoning", Text, nullable=False, server_default=_empty()),
    Column("weakest_point", Text, nullable=False, server_default=_empty()),
    Column("critic", Text, nullable=False, server_default=_empty()),
    Column("flags", JSON_DOC, nullable=False, server_default=_empty("[]")),  # Flag objects
    Column("critique", JSON_DOC, nullable=False),  # the full CritiqueResult
    Column("status", Text, nullable=False, server_default=_empty("pending")),
    Column("note", Text, nullable=False, server_default=_empty()),
    Column("queued_at", Text, nullable=False),
    Column("decided_at", Text),
    Column("origin", Text, nullable=False, server_default=_empty("survivor")),  # audit: a rejected sample
    _check("status", ("pending", "accepted", "rejected", "deferred"), "queue_status_check"),
    _check("origin", ("survivor", "audit"), "queue_origin_check"),
    Index("queue_status_rank", "status", "rank_score"),
    Index("queue_session", "session"),
    Index("queue_persona", "persona"),
)

decisions = Table(
    "decisions",  # every reviewer's own decision on a queued idea; the queue row keeps the latest of them
    metadata,
    Column("idea_id", Text, ForeignKey("queue.idea_id"), nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=_empty()),
    Column("decided_at", Text, nullable=False),
    PrimaryKeyConstraint("idea_id", "reviewer"),
    _check("status", ("accepted", "rejected", "deferred"), "decisions_status_check"),
    Index("decisions_reviewer", "reviewer"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=_empty()),
    Column("config", JSON_DOC, nullable=False),  # the SessionConfig (never a key)
    Column("elapsed_s", REAL, nullable=False, server_default=text("0")),  # wall time over all runs
    _check("status", SESSION_STATUSES, "sessions_status_check"),
)

days = Table(
    "days",
    metadata,
    Column("session", Text, ForeignKey("sessions.id"), nullable=False),
    Column("persona", Text, nullable=False),
    Column("day", INT, nullable=False),
    Column("status", Text, nullable=False),
    Column("present", Text, nullable=False),
    Column("summary", JSON_DOC, nullable=False, server_default=_empty("{}")),  # context ids, ideas, verdicts
    Column("generated", INT, nullable=False, server_default=text("0")),
    Column("surviving", INT, nullable=False, server_default=text("0")),
    Column("prompt_tokens", INT, nullable=False, server_default=text("0")),
    Column("completion_tokens", INT, nullable=False, server_default=text("0")),
    Column("error", Text, nullable=False, server_default=_empty()),
    Column("finished_at", Text, nullable=False),
    Column("drafts", INT, nullable=False, server_default=text("0")),  # every version of every idea
    Column("attempts", INT, nullable=False, server_default=text("1")),  # tries of this day so far
    Column("epoch", INT, nullable=False, server_default=text("1")),  # the review epoch it ran in
    PrimaryKeyConstraint("session", "persona", "day"),
    _check("status", ("done", "failed"), "days_status_check"),
)

pairwise_judgements = Table(
    "pairwise_judgements",  # "which of these two is better?", for ranking
    metadata,
    Column("id", INT, primary_key=True, autoincrement=True),
    Column("idea_a", Text, ForeignKey("queue.idea_id"), nullable=False),
    Column("idea_b", Text, ForeignKey("queue.idea_id"), nullable=False),
    Column("winner", Text, nullable=False),
    Column("judge", Text, nullable=False, server_default=_empty("human")),  # the reviewer, or a model
    Column("source", Text, nullable=False, server_default=_empty()),  # e.g. 'web', 'rank:<id>'
    Column("note", Text, nullable=False, server_default=_empty()),
    Column("created_at", Text, nullable=False),
    _check("winner", ("a", "b", "tie"), "pairwise_judgements_winner_check"),
    CheckConstraint("idea_a <> idea_b", name="pairwise_judgements_check"),
    Index("pairwise_judgements_a", "idea_a"),
    Index("pairwise_judgements_b", "idea_b"),
    sqlite_autoincrement=True,
)

epochs = Table(
    "epochs",  # one row per pause for review
    metadata,
    Column("session", Text, ForeignKey("sessions.id"), nullable=False),
    Column("persona", Text, nullable=False),
    Column("epoch", INT, nullable=False),  # the epoch this pause ends: 1, 2, ...
    Column("last_day", INT, nullable=False),  # the persona paused after this day
    Column("cause", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=_empty()),
    Column("status", Text, nullable=False, server_default=_empty("waiting")),
    Column("paused_at", Text, nullable=False),
    Column("closed_at", Text),  # when the next epoch started
    Column("undecided", JSON_DOC, nullable=False, server_default=_empty("[]")),  # ids pending at --no-wait
    PrimaryKeyConstraint("session", "persona", "epoch"),
    _check("cause", ("review-every", "selection-bits"), "epochs_cause_check"),
    _check("status", ("waiting", "reviewed", "resumed-without-review"), "epochs_status_check"),
)

ratings = Table(
    "ratings",  # Bradley-Terry ratings from pairwise judgements
    metadata,
    Column("idea_id", Text, ForeignKey("queue.idea_id"), primary_key=True),
    Column("rating", REAL, nullable=False),  # Elo-scale points
    Column("sigma", REAL, nullable=False),  # its standard error
    Column("matches", INT, nullable=False),
    Column("updated_at", Text, nullable=False),
)

tournaments = Table(
    "tournaments",  # `groundhog rank` runs, resumable
    metadata,
    Column("id", Text, primary_key=True),
    Column("session", Text, nullable=False, server_default=_empty()),
    Column("ideas", JSON_DOC, nullable=False, server_default=_empty("[]")),
    Column("matches", INT, nullable=False),
    Column("max_tokens", INT),
    Column("both_orders", INT, nullable=False, server_default=text("0")),
    Column("judge", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=_empty()),
    Column("calls", INT, nullable=False, server_default=text("0")),
    Column("failed", INT, nullable=False, server_default=text("0")),
    Column("prompt_tokens", INT, nullable=False, server_default=text("0")),
    Column("completion_tokens", INT, nullable=False, server_default=text("0")),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

questions = Table(
    "questions",  # what a persona asked the real researcher
    metadata,
    Column("id", Text, primary_key=True),
    Column("session", Text, nullable=False),
    Column("persona", Text, nullable=False),
    Column("day", INT, nullable=False),
    Column("present", Text),
    Column("question", Text, nullable=False),
    Column("context", JSON_DOC, nullable=False, server_default=_empty("{}")),  # the day's ideas, notebook id
    Column("status", Text, nullable=False, server_default=_empty("open")),
    Column("answer", Text, nullable=False, server_default=_empty()),
    Column("asked_at", Text, nullable=False),
    Column("answered_at", Text),
    _check("status", ("open", "answered"), "questions_status_check"),
    Index("questions_persona", "persona", "status"),
)
