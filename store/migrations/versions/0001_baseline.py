"""The schema as groundhog's first database code left it (SQLite `user_version` 6, PostgreSQL
`schema_version` 6): the baseline every later revision builds on.

A home made before Alembic managed the schema is recognised at that version and stamped with this
revision (store/migrate.py), so its rows stay as they are. Written out table by table, never from the
declared tables in store/schema.py, so changing those later cannot rewrite history. JSON columns are
TEXT here, as they were; revision 0002 makes them JSONB on PostgreSQL.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

INT: sa.Integer = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
REAL: sa.REAL[float] = sa.REAL().with_variant(sa.DOUBLE_PRECISION(), "postgresql")


def _text(value: str = "") -> sa.TextClause:
    return sa.text(f"'{value}'")


def _zero(value: int = 0) -> sa.TextClause:
    return sa.text(str(value))


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


SQLITE_TRIGGER = """CREATE TRIGGER days_question AFTER INSERT ON days
WHEN NEW.summary ->> '$.question.id' IS NOT NULL BEGIN
    INSERT OR REPLACE INTO questions (id, session, persona, day, present, question, context, asked_at)
    SELECT q ->> 'id', NEW.session, NEW.persona, NEW.day, NEW.present, q ->> 'text',
        COALESCE(q -> 'context', '{}'), NEW.finished_at FROM (SELECT NEW.summary -> '$.question' AS q)
    WHERE NOT EXISTS (SELECT 1 FROM questions WHERE id = q ->> 'id' AND status = 'answered');
END"""

# PostgreSQL has no INSERT OR REPLACE: the day commit deletes a redone day's row and inserts it again,
# and the trigger files the day's question (unless already answered) with the day row, in its transaction.
POSTGRES_FUNCTION = """CREATE FUNCTION groundhog_days_question() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE q jsonb := NEW.summary::jsonb -> 'question';
BEGIN
    IF q IS NOT NULL AND q ->> 'id' IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM questions WHERE id = q ->> 'id' AND status = 'answered'
    ) THEN
        INSERT INTO questions (id, session, persona, day, present, question, context, asked_at)
        VALUES (q ->> 'id', NEW.session, NEW.persona, NEW.day, NEW.present, q ->> 'text',
                COALESCE((q -> 'context')::text, '{}'), NEW.finished_at)
        ON CONFLICT (id) DO UPDATE SET session = EXCLUDED.session, persona = EXCLUDED.persona,
            day = EXCLUDED.day, present = EXCLUDED.present, question = EXCLUDED.question,
            context = EXCLUDED.context, asked_at = EXCLUDED.asked_at, status = 'open',
            answer = '', answered_at = NULL;
    END IF;
    RETURN NEW;
END
$fn$"""
POSTGRES_TRIGGER = """CREATE TRIGGER days_question AFTER INSERT OR UPDATE OF finished_at ON days
    FOR EACH ROW EXECUTE FUNCTION groundhog_days_question()"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # the version the first code kept; store/migrate.py moves it past what that code knows
        op.create_table(
            "schema_version",
            sa.Column("one", INT, sa.CheckConstraint("one = 1"), primary_key=True, server_default=_zero(1)),
            sa.Column("version", INT, nullable=False),
            sa.Column("application", sa.Text, nullable=False, server_default=_text("groundhog")),
        )
        op.execute("INSERT INTO schema_version (version) VALUES (6)")
    op.create_table(
        "queue",
        sa.Column("idea_id", sa.Text, primary_key=True),
        sa.Column("session", sa.Text, nullable=False, server_default=_text()),
        sa.Column("persona", sa.Text, nullable=False, server_default=_text()),
        sa.Column("day", INT, nullable=False, server_default=_zero()),
        sa.Column("present", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("rationale", sa.Text, nullable=False, server_default=_text()),
        sa.Column("builds_on", sa.Text, nullable=False, server_default=_text("[]")),
        sa.Column("revision", INT, nullable=False, server_default=_zero()),
        sa.Column("parent_id", sa.Text),
        sa.Column("score_novelty", INT),
        sa.Column("score_feasibility", INT),
        sa.Column("score_relevance", INT),
        sa.Column("score_clarity", INT),
        sa.Column("novelty", REAL, nullable=False, server_default=_zero()),
        sa.Column("rank_score", REAL, nullable=False, server_default=_zero()),
        sa.Column("reasoning", sa.Text, nullable=False, server_default=_text()),
        sa.Column("weakest_point", sa.Text, nullable=False, server_default=_text()),
        sa.Column("critic", sa.Text, nullable=False, server_default=_text()),
        sa.Column("flags", sa.Text, nullable=False, server_default=_text("[]")),
        sa.Column("critique", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=_text("pending")),
        sa.Column("note", sa.Text, nullable=False, server_default=_text()),
        sa.Column("queued_at", sa.Text, nullable=False),
        sa.Column("decided_at", sa.Text),
        sa.Column("origin", sa.Text, nullable=False, server_default=_text("survivor")),
        sa.CheckConstraint(_in("status", "pending", "accepted", "rejected", "deferred"), name="queue_status_check"),
        sa.CheckConstraint(_in("origin", "survivor", "audit"), name="queue_origin_check"),
    )
    op.create_index("queue_status_rank", "queue", ["status", "rank_score"])
    op.create_index("queue_session", "queue", ["session"])
    op.create_index("queue_persona", "queue", ["persona"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=_text()),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("elapsed_s", REAL, nullable=False, server_default=_zero()),
        sa.CheckConstraint(
            _in(
                "status", "running", "interrupted", "awaiting-review", "completed", "completed-with-failures", "failed"
            ),
            name="sessions_status_check",
        ),
    )
    op.create_table(
        "days",
        sa.Column("session", sa.Text, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("persona", sa.Text, nullable=False),
        sa.Column("day", INT, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("present", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=_text("{}")),
        sa.Column("generated", INT, nullable=False, server_default=_zero()),
        sa.Column("surviving", INT, nullable=False, server_default=_zero()),
        sa.Column("prompt_tokens", INT, nullable=False, server_default=_zero()),
        sa.Column("completion_tokens", INT, nullable=False, server_default=_zero()),
        sa.Column("error", sa.Text, nullable=False, server_default=_text()),
        sa.Column("finished_at", sa.Text, nullable=False),
        sa.Column("drafts", INT, nullable=False, server_default=_zero()),
        sa.Column("attempts", INT, nullable=False, server_default=_zero(1)),
        sa.Column("epoch", INT, nullable=False, server_default=_zero(1)),
        sa.PrimaryKeyConstraint("session", "persona", "day"),
        sa.CheckConstraint(_in("status", "done", "failed"), name="days_status_check"),
    )
    op.create_table(
        "pairwise_judgements",
        sa.Column("id", INT, sa.Identity(), primary_key=True),
        sa.Column("idea_a", sa.Text, sa.ForeignKey("queue.idea_id"), nullable=False),
        sa.Column("idea_b", sa.Text, sa.ForeignKey("queue.idea_id"), nullable=False),
        sa.Column("winner", sa.Text, nullable=False),
        sa.Column("judge", sa.Text, nullable=False, server_default=_text("human")),
        sa.Column("source", sa.Text, nullable=False, server_default=_text()),
        sa.Column("note", sa.Text, nullable=False, server_default=_text()),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.CheckConstraint(_in("winner", "a", "b", "tie"), name="pairwise_judgements_winner_check"),
        sa.CheckConstraint("idea_a <> idea_b", name="pairwise_judgements_check"),
        sqlite_autoincrement=True,
    )
    op.create_index("pairwise_judgements_a", "pairwise_judgements", ["idea_a"])
    op.create_index("pairwise_judgements_b", "pairwise_judgements", ["idea_b"])
    op.create_table(
        "epochs",
        sa.Column("session", sa.Text, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("persona", sa.Text, nullable=False),
        sa.Column("epoch", INT, nullable=False),
        sa.Column("last_day", INT, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=_text()),
        sa.Column("status", sa.Text, nullable=False, server_default=_text("waiting")),
        sa.Column("paused_at", sa.Text, nullable=False),
        sa.Column("closed_at", sa.Text),
        sa.Column("undecided", sa.Text, nullable=False, server_default=_text("[]")),
        sa.PrimaryKeyConstraint("session", "persona", "epoch"),
        sa.CheckConstraint(_in("cause", "review-every", "selection-bits"), name="epochs_cause_check"),
        sa.CheckConstraint(_in("status", "waiting", "reviewed", "resumed-without-review"), name="epochs_status_check"),
    )
    op.create_table(
        "ratings",
        sa.Column("idea_id", sa.Text, sa.ForeignKey("queue.idea_id"), primary_key=True),
        sa.Column("rating", REAL, nullable=False),
        sa.Column("sigma", REAL, nullable=False),
        sa.Column("matches", INT, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "tournaments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("session", sa.Text, nullable=False, server_default=_text()),
        sa.Column("ideas", sa.Text, nullable=False, server_default=_text("[]")),
        sa.Column("matches", INT, nullable=False),
        sa.Column("max_tokens", INT),
        sa.Column("both_orders", INT, nullable=False, server_default=_zero()),
        sa.Column("judge", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=_text()),
        sa.Column("calls", INT, nullable=False, server_default=_zero()),
        sa.Column("failed", INT, nullable=False, server_default=_zero()),
        sa.Column("prompt_tokens", INT, nullable=False, server_default=_zero()),
        sa.Column("completion_tokens", INT, nullable=False, server_default=_zero()),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("session", sa.Text, nullable=False),
        sa.Column("persona", sa.Text, nullable=False),
        sa.Column("day", INT, nullable=False),
        sa.Column("present", sa.Text),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False, server_default=_text("{}")),
        sa.Column("status", sa.Text, nullable=False, server_default=_text("open")),
        sa.Column("answer", sa.Text, nullable=False, server_default=_text()),
        sa.Column("asked_at", sa.Text, nullable=False),
        sa.Column("answered_at", sa.Text),
        sa.CheckConstraint(_in("status", "open", "answered"), name="questions_status_check"),
    )
    op.create_index("questions_persona", "questions", ["persona", "status"])
    if postgres:
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: move the database aside instead")
