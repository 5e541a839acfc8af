"""Model registry tables: every training attempt, each pair's chosen model, and the promotion audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class ModelRun(Base):
    """One training attempt, successful or not; files are named relative to `<ARTIFACTS_DIR>/models`."""

    __tablename__ = "model_runs"
    __table_args__ = (
        Index(
            "ix_model_runs_pair_created_at", "exchange", "symbol", "timeframe", "horizon_steps", "created_at"
        ),
        Index("ix_model_runs_timeframe_horizon_created_at", "timeframe", "horizon_steps", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # succeeded | failed
    error: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    data_start: Mapped[datetime | None]
    data_end: Mapped[datetime | None]
    rows: Mapped[int | None] = mapped_column(Integer)
    model_kind: Mapped[str | None] = mapped_column(String(16))
    features: Mapped[list[Any]]
    threshold: Mapped[float | None] = mapped_column(Float)
    test_auc: Mapped[float | None] = mapped_column(Float)
    test_return: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]]
    model_file: Mapped[str | None] = mapped_column(String(255))
    meta_file: Mapped[str | None] = mapped_column(String(255))
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]


class ActiveModel(Base):
    """A pair's model choice: an optional manual pin and the run that last passed the promotion gate."""

    __tablename__ = "active_models"
    __table_args__ = (UniqueConstraint("exchange", "symbol", "timeframe", "horizon_steps"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int] = mapped_column(Integer)
    pinned_run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("model_runs.id"))
    pinned_at: Mapped[datetime | None]
    promoted_run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("model_runs.id"))
    promoted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class ModelPromotion(Base):
    """The audit trail: every promotion, refusal, pin, unpin and rollback, with its reason."""

    __tablename__ = "model_promotions"
    __table_args__ = (
        Index(
            "ix_model_promotions_pair_created_at",
            "exchange",
            "symbol",
            "timeframe",
            "horizon_steps",
            "created_at",
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # promoted | refused | pinned | unpinned | rolled_back
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("model_runs.id"))
    previous_run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("model_runs.id"))
    reason: Mapped[str] = mapped_column(Text)
    # the figures a promotion decision compared (shared rows or each run's own test), when it compared
    comparison: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class DatasetArtifact(Base):
    """A dataset stored as a parquet file under `<ARTIFACTS_DIR>/datasets`, with what it holds."""

    __tablename__ = "datasets"
    __table_args__ = (
        Index(
            "ix_datasets_pair_created_at", "exchange", "symbol", "timeframe", "horizon_steps", "created_at"
        ),
        Index("ix_datasets_created_at", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    horizon_steps: Mapped[int] = mapped_column(Integer)
    data_start: Mapped[datetime]
    data_end: Mapped[datetime]
    rows: Mapped[int] = mapped_column(Integer)
    labelled_rows: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[Any]]
    class_balance: Mapped[dict[str, Any]]
    params: Mapped[dict[str, Any]]  # costs, warm-up bars, news history start, articles used
    path: Mapped[str] = mapped_column(String(255), unique=True)  # relative to ARTIFACTS_DIR, POSIX
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
