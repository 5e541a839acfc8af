"""Ids never reused: every table with a surrogate id becomes AUTOINCREMENT on SQLite.

Without AUTOINCREMENT SQLite hands the largest id out again once its row is deleted. SQLite cannot
alter that in place, so each table is rebuilt with its rows, indexes and triggers (the FTS5 sync
triggers of `articles`); env.py turns foreign keys off around the migration so dropping the old
table cascades nowhere. PostgreSQL sequences never go back: nothing to do there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Parents before children, so a child's foreign keys are reflected against the rebuilt parent.
TABLES = (
    "job_runs",
    "memory_notes",
    "feeds",
    "articles",
    "instruments",
    "watchlist",
    "watchlist_snapshots",
    "model_runs",
    "active_models",
    "model_promotions",
    "datasets",
    "signal_events",
    "paper_account",
    "paper_positions",
    "paper_orders",
    "notifications",
    "notification_attempts",
)


def upgrade() -> None:
    _rebuild_all(autoincrement=True)


def downgrade() -> None:
    _rebuild_all(autoincrement=False)


def _rebuild_all(*, autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Dropping a parent table would run its ON DELETE CASCADE actions and empty its children.
        raise RuntimeError("rebuilding tables needs PRAGMA foreign_keys=OFF (set by migrations/env.py)")
    for table in TABLES:
        _rebuild(table, autoincrement=autoincrement)


def _rebuild(table: str, *, autoincrement: bool) -> None:
    """Recreate `table` (rows kept, ids kept) with or without AUTOINCREMENT; triggers restored."""
    bind = op.get_bind()
    triggers = [
        row[0]
        for row in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
        )
    ]
    with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass
    for statement in triggers:
        bind.exec_driver_sql(statement)
