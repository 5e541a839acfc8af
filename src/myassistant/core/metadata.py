"""Imports every domain's tables so `Base.metadata` is complete (Alembic, tests)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from myassistant.core.db import Base

TABLE_MODULES = (
    "myassistant.core.tables",
    "myassistant.jobs.tables",
    "myassistant.memory.tables",
    "myassistant.ml.tables",
    "myassistant.signals.tables",
    "myassistant.trading.tables",
)


def load_all_tables() -> MetaData:
    """Register every table module and return the shared metadata."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata


# Tables that exist in the database but not in the ORM (full-text indexes, their shadow tables).
UNMANAGED_TABLE_PREFIXES: tuple[str, ...] = ("alembic_version",)


def include_in_migrations(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic filter: ignore objects the ORM does not own."""
    if type_ == "table" and reflected and compare_to is None and name:
        return not name.startswith(UNMANAGED_TABLE_PREFIXES)
    return True
