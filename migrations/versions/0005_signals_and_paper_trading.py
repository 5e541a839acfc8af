"""Signal events and the paper broker: account, positions, orders ledger.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:31:45.337695
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import myassistant.core.db

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_account",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("quote", sa.String(length=16), nullable=False),
        sa.Column("initial_cash", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("cash", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("realized_pnl", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("fees_paid", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("opened_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_account")),
    )
    with op.batch_alter_table("paper_account", schema=None) as batch_op:
        batch_op.create_index(
            "uq_paper_account_open",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "paper_positions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("horizon_steps", sa.Integer(), nullable=False),
        sa.Column("qty", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("avg_price", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("cost_basis", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("opened_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_bar_dt", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_account.id"],
            name=op.f("fk_paper_positions_account_id_paper_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_positions")),
        sa.UniqueConstraint(
            "account_id", "exchange", "symbol", name=op.f("uq_paper_positions_account_id_exchange_symbol")
        ),
    )
    op.create_table(
        "signal_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("horizon_steps", sa.Integer(), nullable=False),
        sa.Column("bar_dt", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("bar_close", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("raw_signal", sa.String(length=4), nullable=False),
        sa.Column("final_signal", sa.String(length=4), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("prob", sa.Double(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("model_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("forward_return", sa.Double(), nullable=True),
        sa.Column("forward_filled_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_run_id"],
            ["model_runs.id"],
            name=op.f("fk_signal_events_model_run_id_model_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_events")),
        sa.UniqueConstraint(
            "exchange",
            "symbol",
            "timeframe",
            "bar_dt",
            name=op.f("uq_signal_events_exchange_symbol_timeframe_bar_dt"),
        ),
    )
    with op.batch_alter_table("signal_events", schema=None) as batch_op:
        batch_op.create_index("ix_signal_events_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_signal_events_symbol_id", ["symbol", "id"], unique=False)
        batch_op.create_index("ix_signal_events_final_signal_id", ["final_signal", "id"], unique=False)
        batch_op.create_index("ix_signal_events_blocked_id", ["blocked", "id"], unique=False)

    op.create_table(
        "paper_orders",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signal_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("horizon_steps", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("qty", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("price", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("fill_price", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("notional", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("fee", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("cash_delta", myassistant.core.db.ExactDecimal(length=64), nullable=False),
        sa.Column("realized_pnl", myassistant.core.db.ExactDecimal(length=64), nullable=True),
        sa.Column("bar_dt", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_account.id"],
            name=op.f("fk_paper_orders_account_id_paper_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signal_event_id"],
            ["signal_events.id"],
            name=op.f("fk_paper_orders_signal_event_id_signal_events"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_orders")),
        sa.UniqueConstraint("signal_event_id", name=op.f("uq_paper_orders_signal_event_id")),
    )
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.create_index("ix_paper_orders_account_id_id", ["account_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_orders_account_id_id")

    op.drop_table("paper_orders")
    with op.batch_alter_table("signal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_signal_events_symbol_id")
        batch_op.drop_index("ix_signal_events_final_signal_id")
        batch_op.drop_index("ix_signal_events_blocked_id")
        batch_op.drop_index("ix_signal_events_created_at")

    op.drop_table("signal_events")
    op.drop_table("paper_positions")
    with op.batch_alter_table("paper_account", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_paper_account_open",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.drop_table("paper_account")
