"""Tables owned by the core: typed configuration documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import Base


class ConfigDoc(Base):
    """One named configuration (risk policy, notify config, ...) as validated JSON."""

    __tablename__ = "config_docs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    version: Mapped[int]
    updated_at: Mapped[datetime]
