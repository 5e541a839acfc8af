"""The replays table: one row per replay, its parameters, metrics and status; results are parquet files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class Replay(Base):
    """A replay of the decision loop; its curve, trades, decisions and vetoes are files in
    `<ARTIFACTS_DIR>/replays/<id>/`."""

    __tablename__ = "replays"
    __table_args__ = (Index("ix_replays_created_at", "created_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    mode: Mapped[str] = mapped_column(String(16))  # walk_forward | fixed
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    job_run_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
