"""PostgreSQL: the JSON columns become JSONB (the text they held is parsed once, `USING col::jsonb`).

SQLite keeps them as text, which is how SQLAlchemy's JSON type stores them there: nothing to do. The
trigger that files a day's question writes `questions.context` as JSONB from here on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_COLUMNS: dict[str, dict[str, str | None]] = {  # table -> column -> its default
    "queue": {"builds_on": "[]", "flags": "[]", "critique": None},
    "sessions": {"config": None},
    "days": {"summary": "{}"},
    "epochs": {"undecided": "[]"},
    "tournaments": {"ideas": "[]"},
    "questions": {"context": "{}"},
}

FUNCTION = """CREATE OR REPLACE FUNCTION groundhog_days_question() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE q jsonb := NEW.summary -> 'question';
BEGIN
    IF q IS NOT NULL AND q ->> 'id' IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM questions WHERE id = q ->> 'id' AND status = 'answered'
    ) THEN
        INSERT INTO questions (id, session, persona, day, present, question, context, asked_at)
        VALUES (q ->> 'id', NEW.session, NEW.persona, NEW.day, NEW.present, q ->> 'text',
                COALESCE(q -> 'context', '{}'::jsonb), NEW.finished_at)
        ON CONFLICT (id) DO UPDATE SET session = EXCLUDED.session, persona = EXCLUDED.persona,
            day = EXCLUDED.day, present = EXCLUDED.present, question = EXCLUDED.question,
            context = EXCLUDED.context, asked_at = EXCLUDED.asked_at, status = 'open',
            answer = '', answered_at = NULL;
    END IF;
    RETURN NEW;
END
$fn$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in JSON_COLUMNS.items():
        for column, default in columns.items():
            if default is not None:
                op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb")
            if default is not None:
                op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT '{default}'::jsonb")
    op.execute(FUNCTION)


def downgrade() -> None:
    raise NotImplementedError("JSONB columns are not turned back into text")
