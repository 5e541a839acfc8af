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
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_in_migrations,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


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
