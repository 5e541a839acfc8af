"""The paper account: the orders ledger plus the incremental state it can always be rebuilt into."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class PaperAccount(Base):
    __tablename__ = "paper_account"
    __table_args__ = (
        # At most one open account: `reset` closes it and opens a new one.
        Index(
            "uq_paper_account_open",
            "status",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(8))  # open | closed
    quote: Mapped[str] = mapped_column(String(16))
    initial_cash: Mapped[Decimal]
    cash: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    fees_paid: Mapped[Decimal]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class PaperPosition(Base):
    __tablename__ = "paper_positions"
    __table_args__ = (UniqueConstraint("account_id", "exchange", "symbol"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_account.id", ondelete="CASCADE"))
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int]
    qty: Mapped[Decimal]
    avg_price: Mapped[Decimal]  # quantity-weighted fill price of the buys, slippage included
    cost_basis: Mapped[Decimal]  # cash spent on the open quantity, fees included
    opened_at: Mapped[datetime]
    opened_bar_dt: Mapped[datetime]  # the signal bar of the first buy: exits count bars from it
    updated_at: Mapped[datetime]


class PaperOrder(Base):
    """The ledger: every fill, in order. Cash and positions are a fold over these rows."""

    __tablename__ = "paper_orders"
    __table_args__ = (
        UniqueConstraint("signal_event_id"),  # at most one order per signal event (NULLs are distinct)
        Index("ix_paper_orders_account_id_id", "account_id", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_account.id", ondelete="CASCADE"))
    signal_event_id: Mapped[int | None] = mapped_column(ForeignKey("signal_events.id", ondelete="SET NULL"))
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int]
    side: Mapped[str] = mapped_column(String(4))  # buy | sell
    reason: Mapped[str] = mapped_column(
        String(24)
    )  # signal | manual_close | exit_horizon | take_profit | ...
    qty: Mapped[Decimal]
    price: Mapped[Decimal]  # the market price the fill was based on (the bar close)
    fill_price: Mapped[Decimal]
    notional: Mapped[Decimal]
    fee: Mapped[Decimal]
    cash_delta: Mapped[Decimal]
    realized_pnl: Mapped[Decimal | None]
    bar_dt: Mapped[datetime]  # the bar whose close priced the fill
    created_at: Mapped[datetime]
