"""Shared fixtures: settings, a fresh database per test on the backend DATABASE_URL names,
an HTTP client over the app, and a frozen clock.

SQLite: one migrated template file per session, copied for each test (a copy is ~1 ms).
PostgreSQL: one migrated database per session (and per xdist worker), emptied before each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from myassistant.api.app import create_app
from myassistant.core import clock as clock_module
from myassistant.core import migrate
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.metadata import load_all_tables
from tests.fixtures.postgres import PostgresServer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FROZEN_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
# A closed loopback port: by default no test can reach a real exchange, Telegram or feed, even by accident
# (a route-wide test posting `{}` to /watchlist/discover must not call api.bybit.com).
UNREACHABLE = "http://127.0.0.1:9"

pytest_plugins = [
    "tests.fixtures.decision",
    "tests.fixtures.telegram_peer",
    "tests.fixtures.news_peer",
    "tests.fixtures.exchange_peer",
    "tests.fixtures.browser",
    "tests.fixtures.dashboard",
]


def configured_url() -> str:
    return os.environ.get("DATABASE_URL", "sqlite://")


def using_postgres() -> bool:
    return configured_url().startswith("postgresql")


def _pg_admin_url() -> str:
    return configured_url() if using_postgres() else os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_ADMIN_URL)


@pytest.fixture(autouse=True)
def _outside_world_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built from the environment (CLI tests, subprocesses) stay on loopback too."""
    monkeypatch.setenv("EXCHANGE_API_OVERRIDE", UNREACHABLE)
    monkeypatch.setenv("TELEGRAM_API_BASE", UNREACHABLE)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server; skips locally when unreachable, fails in CI."""
    server = PostgresServer(_pg_admin_url())
    problem = server.reachable()
    if problem:
        message = f"PostgreSQL not reachable at {server.admin_url.render_as_string()}: {problem}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.engine.dispose()


@pytest.fixture(scope="session")
def _template_database(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A migrated database for the whole session (a file on SQLite, a database on PostgreSQL)."""
    if using_postgres():
        server: PostgresServer = request.getfixturevalue("postgres_server")
        with server.scratch("myassistant_test") as url:
            migrate.upgrade(url)
            yield url
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path.as_posix()}"
    migrate.upgrade(url)
    Database(url).dispose()
    yield url


def _empty_all_tables(url: str) -> None:
    tables = [table.name for table in load_all_tables().sorted_tables]
    engine = create_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(_template_database: str, tmp_path: Path) -> str:
    """A database with the current schema and no rows, for this test only."""
    if using_postgres():
        _empty_all_tables(_template_database)
        return _template_database
    source = Path(make_url(_template_database).database or "")
    target = tmp_path / "test.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target.as_posix()}"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session() as db_session:
        yield db_session


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings for this test's database, isolated from the caller's environment and .env."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "artifacts_dir": tmp_path / "artifacts",
            "scheduler_enabled": False,
            "api_token": None,
            "host": "127.0.0.1",
            "exchange_api_override": UNREACHABLE,
            "telegram_api_base": UNREACHABLE,
            "news_allow_private_hosts": True,  # the news peer listens on loopback
            # Training in this process, where tests patch the exchange client's options and the clock;
            # the isolated default is covered through real processes (test_service_stop, the CLI).
            "training_isolated": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    """The CLI (Settings from the environment) on this test's database and artifacts folder."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.delenv("API_TOKEN", raising=False)


@pytest.fixture
def cli_env_with_exchange(cli_env: None, monkeypatch: pytest.MonkeyPatch, exchange_url: str) -> None:
    """cli_env with the exchange peer as the exchange."""
    monkeypatch.setenv("EXCHANGE_API_OVERRIDE", exchange_url)


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=database)) as test_client:
        yield test_client


@pytest.fixture
def frozen_clock() -> Iterator[clock_module.FrozenClock]:
    with clock_module.frozen(FROZEN_AT) as clock:
        yield clock
