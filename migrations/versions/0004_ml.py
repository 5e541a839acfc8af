"""Models: training runs, active models per pair, promotion audit trail.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25 17:02:00.677234
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import myassistant.core.db

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_runs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("horizon_steps", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("data_start", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data_end", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("model_kind", sa.String(length=16), nullable=True),
        sa.Column("features", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("test_auc", sa.Float(), nullable=True),
        sa.Column("test_return", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("model_file", sa.String(length=255), nullable=True),
        sa.Column("meta_file", sa.String(length=255), nullable=True),
        sa.Column("model_sha256", sa.String(length=64), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_runs")),
    )
    with op.batch_alter_table("model_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_runs_pair_created_at",
            ["exchange", "symbol", "timeframe", "horizon_steps", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_model_runs_timeframe_horizon_created_at",
            ["timeframe", "horizon_steps", "created_at"],
            unique=False,
        )

    op.create_table(
        "active_models",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("horizon_steps", sa.Integer(), nullable=False),
        sa.Column("pinned_run_id", sa.BigInteger(), nullable=True),
        sa.Column("pinned_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("promoted_run_id", sa.BigInteger(), nullable=True),
        sa.Column("promoted_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pinned_run_id"], ["model_runs.id"], name=op.f("fk_active_models_pinned_run_id_model_runs")
        ),
        sa.ForeignKeyConstraint(
            ["promoted_run_id"], ["model_runs.id"], name=op.f("fk_active_models_promoted_run_id_model_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_active_models")),
        sa.UniqueConstraint(
            "exchange",
            "symbol",
            "timeframe",
            "horizon_steps",
            name=op.f("uq_active_models_exchange_symbol_timeframe_horizon_steps"),
        ),
    )
    op.create_table(
        "model_promotions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("horizon_steps", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("previous_run_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["previous_run_id"],
            ["model_runs.id"],
            name=op.f("fk_model_promotions_previous_run_id_model_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["model_runs.id"], name=op.f("fk_model_promotions_run_id_model_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_promotions")),
    )
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_promotions_pair_created_at",
            ["exchange", "symbol", "timeframe", "horizon_steps", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.drop_index("ix_model_promotions_pair_created_at")

    op.drop_table("model_promotions")
    op.drop_table("active_models")
    with op.batch_alter_table("model_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_model_runs_timeframe_horizon_created_at")
        batch_op.drop_index("ix_model_runs_pair_created_at")

    op.drop_table("model_runs")
