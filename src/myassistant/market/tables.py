"""Prices (one row per instrument and bar) and the watchlist with its dated snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Double, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class Instrument(Base):
    """One (exchange, symbol, timeframe) series; prices refer to it by id instead of repeating strings."""

    __tablename__ = "instruments"
    __table_args__ = (UniqueConstraint("exchange", "symbol", "timeframe"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]


class Price(Base):
    """A closed OHLCV bar; `ts` is the bar's open time in epoch milliseconds (UTC).

    Keyed by (instrument_id, ts) and, on SQLite, stored WITHOUT ROWID so the key is the table:
    bulk upserts and range reads touch one B-tree.
    """

    __tablename__ = "prices"
    __table_args__ = {"sqlite_with_rowid": False}

    instrument_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    open: Mapped[float] = mapped_column(Double)
    high: Mapped[float] = mapped_column(Double)
    low: Mapped[float] = mapped_column(Double)
    close: Mapped[float] = mapped_column(Double)
    volume: Mapped[float] = mapped_column(Double)


class PriceBlock(Base):
    """A read cache on SQLite: a full run of 4096 consecutive bars of a series, packed for numpy.

    Derived from `prices` (the source of truth): written only for blocks whose every bar is stored,
    which can then never gain a row, so the copy stays exact; reads verify the row count.
    """

    __tablename__ = "price_blocks"
    __table_args__ = {"sqlite_with_rowid": False}

    instrument_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    block_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    bars: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class WatchlistEntry(Base):
    """A pair the jobs work on; `source` is manual or discover; timeframe/horizon override the defaults."""

    __tablename__ = "watchlist"
    __table_args__ = (UniqueConstraint("exchange", "symbol"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    horizon_steps: Mapped[int | None]
    quote_volume_24h: Mapped[float | None] = mapped_column(Double)
    meta: Mapped[dict[str, Any]]
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WatchlistSnapshot(Base):
    """The whole watchlist as it stood after a discovery or a manual change: the universe at a date."""

    __tablename__ = "watchlist_snapshots"
    __table_args__ = (Index("ix_watchlist_snapshots_taken_at", "taken_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    taken_at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]]
    entries: Mapped[list[Any]]
