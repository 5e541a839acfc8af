"""One row per (pair, closed bar): the prediction, the risk verdict and, later, what it would have earned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class SignalEvent(Base):
    __tablename__ = "signal_events"
    __table_args__ = (
        UniqueConstraint("exchange", "symbol", "timeframe", "bar_dt"),
        # "Recent" lists are newest-id first, filtered by one of these: each index ends in id so the
        # database walks it backwards and stops after `limit` rows, with no sort.
        Index("ix_signal_events_created_at", "created_at"),
        Index("ix_signal_events_symbol_id", "symbol", "id"),
        Index("ix_signal_events_final_signal_id", "final_signal", "id"),
        Index("ix_signal_events_blocked_id", "blocked", "id"),
        # fill_forward_returns reads the oldest events still without a forward return: a partial
        # index holds just those, so every cycle need not scan the whole table.
        Index(
            "ix_signal_events_unfilled_id",
            "id",
            sqlite_where=text("forward_return IS NULL"),
            postgresql_where=text("forward_return IS NULL"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int]
    bar_dt: Mapped[datetime]  # open time of the last CLOSED bar the prediction used
    bar_close: Mapped[datetime]  # when that bar closed: the earliest moment the signal could exist
    price: Mapped[float]  # that bar's close
    raw_signal: Mapped[str] = mapped_column(String(4))
    final_signal: Mapped[str] = mapped_column(String(4))
    blocked: Mapped[bool]  # a raw BUY vetoed by the risk policy
    prob: Mapped[float]
    threshold: Mapped[float]
    model_run_id: Mapped[int | None] = mapped_column(ForeignKey("model_runs.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16))  # endpoint | scheduler | action
    note: Mapped[dict[str, Any]]  # risk metrics and reasons, explanation, headlines
    created_at: Mapped[datetime]
    forward_return: Mapped[float | None]  # after fees, filled once horizon_steps bars have passed
    forward_filled_at: Mapped[datetime | None]
