"""Alembic, driven from code: `myassistant migrate`, `serve` and tests all use this."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, text

import myassistant

if TYPE_CHECKING:  # alembic loads only when the schema must change: a service start skips it
    from alembic.config import Config

_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*["\']?([\w]+|None)["\']?', re.MULTILINE)


def migrations_dir() -> Path:
    """The Alembic scripts: shipped in the wheel, or the repository's `migrations/`."""
    package_dir = Path(myassistant.__file__).resolve().parent
    for candidate in (package_dir / "migrations", package_dir.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("Alembic migrations not found next to the package or in the repository")


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser would read '%' in a password as interpolation.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema at `database_url` to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def script_head() -> str:
    """The newest revision of the migration scripts, read from the files themselves (no alembic)."""
    revisions: dict[str, str | None] = {}
    for path in (migrations_dir() / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            down = found.get("down_revision")
            revisions[found["revision"]] = None if down in (None, "None") else down
    heads = set(revisions) - {down for down in revisions.values() if down}
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


def database_revision(database_url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return str(value) if value is not None else None
    finally:
        engine.dispose()


def upgrade_if_needed(database_url: str) -> bool:
    """`upgrade` to head unless the database is already there; True when migrations ran.

    Every start of the service and of a CLI command calls this: an up-to-date database costs one
    query instead of loading alembic and every migration script.
    """
    if database_revision(database_url) == script_head():
        return False
    upgrade(database_url)
    return True


def current_heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)
