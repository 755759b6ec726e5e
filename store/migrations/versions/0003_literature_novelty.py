"""The queue keeps each idea's distance to the library (`literature_novelty`, 1 - cosine similarity to
its nearest paper; NULL when there was no library), so the queue can be sorted and filtered by it. Rows
queued before are filled in from the critique each carries (they have no nearest papers: NULL).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

REAL: sa.REAL[float] = sa.REAL().with_variant(sa.DOUBLE_PRECISION(), "postgresql")


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("queue")}
    if "literature_novelty" in columns:  # a database stamped back to an earlier revision already has it
        return
    with op.batch_alter_table("queue") as batch:
        batch.add_column(sa.Column("literature_novelty", REAL, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue") as batch:
        batch.drop_column("literature_novelty")
