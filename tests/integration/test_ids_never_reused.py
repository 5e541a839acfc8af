"""Ids the API hands out are never handed out again, on SQLite (AUTOINCREMENT) and PostgreSQL (sequences)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Integer, create_engine, text

from myassistant.core import migrate
from myassistant.core.metadata import load_all_tables


def _surrogate_id_tables() -> list[str]:
    """Tables keyed by one auto-incremented integer id (the ids that leave the API)."""
    names = []
    for table in load_all_tables().sorted_tables:
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].autoincrement is True and isinstance(key[0].type, Integer):
            names.append(table.name)
    return names


def test_a_deleted_notes_id_is_not_given_to_the_next_note(client: TestClient) -> None:
    first = client.post("/memory", json={"text": "first"}).json()["id"]
    assert client.delete(f"/memory/{first}").status_code == 204
    second = client.post("/memory", json={"text": "second"}).json()["id"]
    assert second != first
    assert client.delete(f"/memory/{first}").status_code == 404  # a retried DELETE removes nothing


def test_every_surrogate_id_table_is_autoincrement_in_the_orm() -> None:
    tables = load_all_tables().tables
    names = _surrogate_id_tables()
    assert {"memory_notes", "signal_events", "paper_orders", "job_runs", "model_runs"} <= set(names)
    assert len(names) == 19  # the 17 of migration 0010, and reports and replays created since
    assert [name for name in names if not tables[name].dialect_options["sqlite"]["autoincrement"]] == []


def _ddl(url: str, *types: str) -> dict[str, str]:
    """name -> CREATE statement of the schema objects of these types (all when none given)."""
    kinds = types or ("table", "index", "trigger", "view")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
            return {name: sql for kind, name, sql in rows if kind in kinds}
    finally:
        engine.dispose()


def test_the_migrated_sqlite_schema_declares_autoincrement_on_those_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    migrate.upgrade(url)
    ddl = _ddl(url)
    assert [name for name in _surrogate_id_tables() if "AUTOINCREMENT" not in ddl[name]] == []


ROWS_AT_0009 = (
    "INSERT INTO feeds (id, url, consecutive_failures, created_at) "
    "VALUES (1, 'https://f.test/rss', 0, '2026-01-01')",
    "INSERT INTO articles (id, url, title, summary, source, feed_id, published_status, first_seen_at) "
    "VALUES (5, 'https://f.test/a', 'Bitcoin surges', 'to a record', 'F', 1, 'missing', '2026-01-01')",
    "INSERT INTO article_annotations (article_id, lang, compound, pos, neg, neu, tags, analyzer_version, "
    "analyzed_at) VALUES (5, 'en', 0.5, 0.5, 0, 0.5, '[]', 'v', '2026-01-01')",
    "INSERT INTO article_tags (article_id, tag, first_seen_at) VALUES (5, 'BTC', '2026-01-01')",
    "INSERT INTO memory_notes (id, text, tags, symbol, created_at) "
    "VALUES (7, 'kept', '[]', NULL, '2026-01-01')",
    "INSERT INTO paper_account (id, status, quote, initial_cash, cash, realized_pnl, fees_paid, opened_at) "
    "VALUES (3, 'open', 'USDT', '10000', '10000', '0', '0', '2026-01-01')",
    "INSERT INTO paper_positions (id, account_id, exchange, symbol, timeframe, horizon_steps, qty, "
    "avg_price, cost_basis, opened_at, opened_bar_dt, updated_at) "
    "VALUES (4, 3, 'bybit', 'BTC/USDT', '15m', 12, '1', '1', '1', '2026-01-01', '2026-01-01', '2026-01-01')",
)


def _at_0009_with_rows(tmp_path: Path) -> str:
    url = f"sqlite:///{(tmp_path / 'old.db').as_posix()}"
    migrate.upgrade(url, "0009")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in ROWS_AT_0009:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    return url


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_the_migration_keeps_rows_children_indexes_and_full_text_triggers(tmp_path: Path) -> None:
    url = _at_0009_with_rows(tmp_path)
    before = _ddl(url, "index", "trigger")
    migrate.upgrade(url, "0010")  # this migration's own effect (later ones add tables of their own)
    # Children survive the rebuild of their parents (no ON DELETE CASCADE ran).
    assert _scalar(url, "SELECT count(*) FROM article_annotations WHERE article_id = 5") == 1
    assert _scalar(url, "SELECT count(*) FROM article_tags WHERE article_id = 5") == 1
    assert _scalar(url, "SELECT count(*) FROM paper_positions WHERE account_id = 3") == 1
    assert _scalar(url, "SELECT text FROM memory_notes WHERE id = 7") == "kept"
    # Indexes (partial ones included) and the FTS5 sync triggers are exactly as before.
    assert _ddl(url, "index", "trigger") == before
    assert {"articles_fts_ai", "ix_signal_events_unfilled_id", "uq_paper_account_open"} <= set(before)
    # The triggers still feed full-text search, and a deleted largest id is not handed out again.
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO articles (url, title, summary, source, published_status, first_seen_at) "
                    "VALUES ('https://f.test/b', 'Ethereum upgrade ships', '', 'F', 'missing', '2026-01-02')"
                )
            )
            hits = connection.execute(
                text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'ethereum'")
            )
            assert [row[0] for row in hits] == [6]
            connection.execute(text("DELETE FROM memory_notes WHERE id = 7"))
            connection.execute(
                text("INSERT INTO memory_notes (text, tags, created_at) VALUES ('new', '[]', '2026-01-02')")
            )
            assert connection.execute(text("SELECT max(id) FROM memory_notes")).scalar() == 8
    finally:
        engine.dispose()


def test_downgrading_0010_keeps_the_rows(tmp_path: Path) -> None:
    url = _at_0009_with_rows(tmp_path)
    migrate.upgrade(url)
    migrate.downgrade(url, "0009")
    assert "AUTOINCREMENT" not in _ddl(url)["memory_notes"]
    assert _scalar(url, "SELECT count(*) FROM article_annotations") == 1
