"""A partial index on the signal events still waiting for their forward return.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signal_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signal_events_unfilled_id",
            ["id"],
            unique=False,
            sqlite_where=sa.text("forward_return IS NULL"),
            postgresql_where=sa.text("forward_return IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("signal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_signal_events_unfilled_id")
