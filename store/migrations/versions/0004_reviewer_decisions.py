"""Every reviewer's decision is kept: table `decisions`, one row per (idea, reviewer), so two reviewers can
decide the same idea and be compared. The queue row keeps the latest decision, as before.

Each decision already made (a queue row that is not pending) moves in as a decision of the reviewer
`unknown`, with its status, note and time (a row without a time, which the code never wrote, takes the
time it was queued), so nothing decided is lost and the queue rows stay as they are.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LEGACY_REVIEWER = "unknown"  # as core/reviewer.py's LEGACY; written out so later changes cannot rewrite this

COPY = sa.text(
    "INSERT INTO decisions (idea_id, reviewer, status, note, decided_at) "
    "SELECT q.idea_id, :reviewer, q.status, q.note, COALESCE(q.decided_at, q.queued_at) FROM queue q "
    "WHERE q.status <> 'pending' AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.idea_id = q.idea_id)"
)


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("decisions"):  # a database stamped back already has it
        op.create_table(
            "decisions",
            sa.Column("idea_id", sa.Text, sa.ForeignKey("queue.idea_id"), nullable=False),
            sa.Column("reviewer", sa.Text, nullable=False),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("note", sa.Text, nullable=False, server_default=sa.text("''")),
            sa.Column("decided_at", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("idea_id", "reviewer"),
            sa.CheckConstraint("status IN ('accepted', 'rejected', 'deferred')", name="decisions_status_check"),
        )
        op.create_index("decisions_reviewer", "decisions", ["reviewer"])
    op.get_bind().execute(COPY, {"reviewer": LEGACY_REVIEWER})


def downgrade() -> None:
    op.drop_index("decisions_reviewer", table_name="decisions")
    op.drop_table("decisions")
