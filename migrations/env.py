"""Alembic environment: the URL comes from the caller or from Settings (DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from myassistant.core.db import make_engine
from myassistant.core.metadata import include_in_migrations, load_all_tables

config = context.config
target_metadata = load_all_tables()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from myassistant.core.config import Settings

    return Settings().database_url


def _run(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        _migrate(connection)
        return
    # Rebuilding a table (batch mode) drops the old one: with foreign keys on, that would run the
    # children's ON DELETE CASCADE. SQLite ignores this pragma inside a transaction, so it is set on
    # the driver connection before the migration's transaction begins.
    driver = connection.connection.driver_connection
    assert driver is not None and not connection.in_transaction()
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        _migrate(connection, check_foreign_keys=True)
    finally:
        driver.execute("PRAGMA foreign_keys = ON")


def _migrate(connection: Connection, *, check_foreign_keys: bool = False) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_in_migrations,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if check_foreign_keys:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, include_object=include_in_migrations
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), pool_size=1)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
