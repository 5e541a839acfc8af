"""Daily reports: one row per (UTC day, language) with its HTML file's path, size and sha256.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 08:15:35.437456
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import myassistant.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("job_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_run_id"],
            ["job_runs.id"],
            name=op.f("fk_reports_job_run_id_job_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("date", "lang", name=op.f("uq_reports_date_lang")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_created_at")
    op.drop_table("reports")
