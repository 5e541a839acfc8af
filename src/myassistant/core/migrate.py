"""Alembic, driven from code: `myassistant migrate`, `serve` and tests all use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import myassistant


def migrations_dir() -> Path:
    """The Alembic scripts: shipped in the wheel, or the repository's `migrations/`."""
    package_dir = Path(myassistant.__file__).resolve().parent
    for candidate in (package_dir / "migrations", package_dir.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("Alembic migrations not found next to the package or in the repository")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser would read '%' in a password as interpolation.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def current_heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
