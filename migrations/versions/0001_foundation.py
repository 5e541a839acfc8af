"""Foundation: config docs, job runs, memory notes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:42:04.658539
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import myassistant.core.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_docs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_config_docs")),
    )
    op.create_table(
        "job_runs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("started_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stats", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_job_started_at", ["job", "started_at"], unique=False)

    op.create_table(
        "memory_notes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_notes")),
    )
    with op.batch_alter_table("memory_notes", schema=None) as batch_op:
        batch_op.create_index("ix_memory_notes_symbol_created_at", ["symbol", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("memory_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_memory_notes_symbol_created_at")

    op.drop_table("memory_notes")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_job_started_at")

    op.drop_table("job_runs")
    op.drop_table("config_docs")
