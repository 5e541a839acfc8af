"""Dependency aliases for routes: settings, database and a request-scoped session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from myassistant.core.config import Settings
from myassistant.core.db import Database

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ROW_ID = 2**63 - 1  # BIGINT; larger ids cannot exist, and SQLite would overflow on them
MAX_INT32 = 2**31 - 1


# Trivial dependencies are `async def`: a plain `def` would cost each request a hop to the threadpool.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request; reads do not take SQLite's write lock."""
    database: Database = request.app.state.db
    with database.session(write=request.method not in SAFE_METHODS) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": commit before the response is sent, so a failed commit is never reported as success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="row id")]
