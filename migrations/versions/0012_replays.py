"""The replays table (SPEC §19).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import myassistant.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replays",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("metrics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_run_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replays")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("replays", schema=None) as batch_op:
        batch_op.create_index("ix_replays_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("replays", schema=None) as batch_op:
        batch_op.drop_index("ix_replays_created_at")
    op.drop_table("replays")
