"""Engine, session factory, the declarative base and shared column types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.types import TypeEngine

from myassistant.core.clock import ensure_utc

SQLITE_BUSY_TIMEOUT_MS = 30_000

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always tz-aware UTC in Python, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        # SQLite has no time zones: store naive UTC so text ordering stays chronological.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact decimals: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC is a binary float)."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"ExactDecimal needs a finite Decimal, got {value!r}")
        return value if dialect.name == "postgresql" else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for big tables.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
# Table kwargs of every table with a surrogate id: without AUTOINCREMENT SQLite hands the largest id
# out again once its row is deleted, so a retried DELETE /memory/7 would remove somebody else's note.
# (PostgreSQL sequences never go back.)
NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime,
        Decimal: ExactDecimal,
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Hand transaction control to SQLAlchemy so we choose BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY at
        # once (the busy timeout does not apply to a lock upgrade); writers take the lock up front.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build the engine for `url` with the pragmas and pool settings each backend needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        in_memory = parsed.database in (None, "", ":memory:")
        # An in-memory database lives in one connection, so every session must share it.
        pool_args: dict[str, Any] = (
            {"poolclass": StaticPool} if in_memory else {"pool_size": pool_size, "max_overflow": 20}
        )
        engine = create_engine(parsed, connect_args=connect_args, **pool_args)
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


class Database:
    """One engine and its session factories; created once per process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.backend = self.engine.dialect.name
        reader = self.engine.execution_options(sqlite_begin="DEFERRED")
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(reader, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    def new_session(self, *, write: bool = True) -> Session:
        """A session the caller must close; prefer `session()`."""
        return self._writer() if write else self._reader()

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        session = self.new_session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def masked_url(url: str) -> str:
    """The database URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def insert_ignoring_conflicts(session: Session, table: Any, rows: list[dict[str, Any]] | None = None) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` for the session's backend (SQLite or PostgreSQL).

    To learn what was inserted add `.returning(...)`: `rowcount` is -1 on psycopg 3 here.
    """
    statement: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table)
    if rows is not None:
        statement = statement.values(rows)
    return statement.on_conflict_do_nothing()
