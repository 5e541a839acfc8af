"""The assistant's journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class MemoryNote(Base):
    __tablename__ = "memory_notes"
    __table_args__ = (Index("ix_memory_notes_symbol_created_at", "symbol", "created_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[Any]]
    symbol: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
