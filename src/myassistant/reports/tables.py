"""The daily reports: one row per (day, language) pointing at its HTML file under ARTIFACTS_DIR."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("date", "lang"),  # a rebuild replaces the day's file and row
        Index("ix_reports_created_at", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    date: Mapped[date]  # the UTC day the report covers
    lang: Mapped[str] = mapped_column(String(2))
    path: Mapped[str] = mapped_column(String(255))  # relative to ARTIFACTS_DIR, POSIX
    size: Mapped[int] = mapped_column(BigInteger)  # bytes
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
