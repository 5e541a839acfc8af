"""The complete `Base.metadata` (Alembic, tests): every `myassistant.<package>.tables` module, found by
walking the package, so the core names no domain and a new domain's tables are picked up as they land.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from sqlalchemy import MetaData

import myassistant
from myassistant.core.db import Base

# Objects that exist in the database but not in the ORM (full-text tables and their shadow tables,
# full-text indexes, generated search columns), by name prefix; a domain adds its own with
# `register_unmanaged` when its tables module is imported.
_UNMANAGED_PREFIXES: list[str] = ["alembic_version"]


def register_unmanaged(*prefixes: str) -> None:
    """Tell migrations to leave alone database objects whose names start with one of `prefixes`."""
    _UNMANAGED_PREFIXES.extend(prefix for prefix in prefixes if prefix not in _UNMANAGED_PREFIXES)


def table_modules() -> list[str]:
    """Every package's `tables` module, in a stable order (found on disk: no package is imported)."""
    found = []
    for package in pkgutil.iter_modules(myassistant.__path__):
        if not package.ispkg:
            continue
        folders = [str(Path(root) / package.name) for root in myassistant.__path__]
        if any(module.name == "tables" for module in pkgutil.iter_modules(folders)):
            found.append(f"{myassistant.__name__}.{package.name}.tables")
    return sorted(found)


def load_all_tables() -> MetaData:
    """Register every table module and return the shared metadata."""
    for module in table_modules():
        importlib.import_module(module)
    return Base.metadata


def include_in_migrations(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic filter: ignore objects the ORM does not own."""
    if type_ in ("table", "index", "column") and reflected and compare_to is None and name:
        return not name.startswith(tuple(_UNMANAGED_PREFIXES))
    return True
