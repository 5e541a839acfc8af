"""`alembic upgrade head` produces exactly the ORM's tables, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from myassistant.core import migrate
from myassistant.core.metadata import include_in_migrations, load_all_tables


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": include_in_migrations, "compare_type": True}
            )
            return compare_metadata(context, load_all_tables())
    finally:
        engine.dispose()


def test_single_head() -> None:
    assert len(migrate.current_heads()) == 1


def test_sqlite_upgrade_head_matches_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    migrate.upgrade(url)
    assert _diff(url) == []


def test_sqlite_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    migrate.upgrade(url)
    assert _diff(url) == []


@pytest.mark.postgres
def test_postgres_upgrade_head_matches_the_tables(postgres_server) -> None:
    url = postgres_server.create("myassistant_migrations")
    try:
        migrate.upgrade(url)
        assert _diff(url) == []
        migrate.downgrade(url, "base")
        migrate.upgrade(url)
        assert _diff(url) == []
    finally:
        postgres_server.drop(url)


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    assert (migrate.script_head(),) == migrate.current_heads()


def test_an_up_to_date_database_is_not_migrated_again_and_alembic_is_not_loaded(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    assert migrate.upgrade_if_needed(url) is True
    assert migrate.database_revision(url) == migrate.script_head()
    code = (
        "import sys\n"
        "from myassistant.core import migrate\n"
        f"ran = migrate.upgrade_if_needed({url!r})\n"
        "print(ran, 'alembic' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
