"""Market: instruments, prices (WITHOUT ROWID on SQLite) with packed read blocks, watchlist, snapshots.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 17:26:38.830192
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import myassistant.core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
        sa.UniqueConstraint(
            "exchange", "symbol", "timeframe", name=op.f("uq_instruments_exchange_symbol_timeframe")
        ),
    )
    op.create_table(
        "watchlist",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=True),
        sa.Column("horizon_steps", sa.Integer(), nullable=True),
        sa.Column("quote_volume_24h", sa.Double(), nullable=True),
        sa.Column("meta", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("added_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist")),
        sa.UniqueConstraint("exchange", "symbol", name=op.f("uq_watchlist_exchange_symbol")),
    )
    op.create_table(
        "watchlist_snapshots",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("taken_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("entries", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_snapshots")),
    )
    with op.batch_alter_table("watchlist_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_watchlist_snapshots_taken_at", ["taken_at"], unique=False)

    op.create_table(
        "price_blocks",
        sa.Column("instrument_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("bars", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_price_blocks_instrument_id_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instrument_id", "block_start", name=op.f("pk_price_blocks")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "prices",
        sa.Column("instrument_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("open", sa.Double(), nullable=False),
        sa.Column("high", sa.Double(), nullable=False),
        sa.Column("low", sa.Double(), nullable=False),
        sa.Column("close", sa.Double(), nullable=False),
        sa.Column("volume", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_prices_instrument_id_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instrument_id", "ts", name=op.f("pk_prices")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("prices")
    op.drop_table("price_blocks")
    with op.batch_alter_table("watchlist_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_watchlist_snapshots_taken_at")

    op.drop_table("watchlist_snapshots")
    op.drop_table("watchlist")
    op.drop_table("instruments")
