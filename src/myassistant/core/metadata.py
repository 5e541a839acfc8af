"""Imports every domain's tables so `Base.metadata` is complete (Alembic, tests)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from myassistant.core.db import Base
from myassistant.news.tables import FTS_COLUMN, FTS_INDEX, FTS_TABLE

TABLE_MODULES = (
    "myassistant.core.tables",
    "myassistant.jobs.tables",
    "myassistant.memory.tables",
    "myassistant.ml.tables",
    "myassistant.news.tables",
    "myassistant.market.tables",
    "myassistant.signals.tables",
    "myassistant.trading.tables",
    "myassistant.notify.tables",
    "myassistant.reports.tables",
)


def load_all_tables() -> MetaData:
    """Register every table module and return the shared metadata."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata


# Objects that exist in the database but not in the ORM (full-text tables and their shadow tables,
# full-text indexes, generated search columns), by name prefix; tables, indexes and columns alike.
UNMANAGED_TABLE_PREFIXES: tuple[str, ...] = (
    "alembic_version",
    FTS_TABLE,  # news: SQLite FTS5 table + shadow tables
    FTS_INDEX,  # news: PostgreSQL GIN index on the tsvector column
    FTS_COLUMN,  # news: PostgreSQL generated tsvector column
)


def include_in_migrations(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic filter: ignore objects the ORM does not own."""
    if type_ in ("table", "index", "column") and reflected and compare_to is None and name:
        return not name.startswith(UNMANAGED_TABLE_PREFIXES)
    return True
