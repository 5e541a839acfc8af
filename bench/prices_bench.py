"""Prices benchmark: bulk upsert and DataFrame reads of 1M bars, and a 50-pair fetch from the peer.

Every figure is printed next to a reference measured in the same run (targets, SPEC §18):
  - upsert >= 300k rows/s into SQLite, for new rows and for a full re-upsert
    (references: row-by-row ORM inserts, SQLAlchemy Core executemany of dicts, plain sqlite3
    executemany into a rowid table keyed by strings and text timestamps);
  - 1M bars into a DataFrame < 1 s (reference: pd.read_sql of the same rows);
  - fetching 50 pairs from the local exchange peer (first fetch and one new bar), with 1 and 4 workers.

Usage: python bench/prices_bench.py [--rows 1000000] [--database-url URL] [--skip-peer]
(default: a throw-away SQLite file; a PostgreSQL URL must name an empty database).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import best_of  # noqa: E402

from myassistant.core import clock, migrate  # noqa: E402
from myassistant.core.config import Settings  # noqa: E402
from myassistant.core.db import Database, insert_ignoring_conflicts  # noqa: E402
from myassistant.market import service, store  # noqa: E402
from myassistant.market.exchange import CLIENTS, ClientOptions  # noqa: E402
from myassistant.market.logic import Series  # noqa: E402
from myassistant.market.tables import Price  # noqa: E402
from myassistant.peers.exchange import DEFAULT_MARKETS, ExchangePeer, create_app  # noqa: E402
from myassistant.peers.server import serving  # noqa: E402

PAGE = 100_000
T0 = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)


def bars(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    return np.column_stack(
        [T0 + np.arange(n) * 60_000, close, close * 1.001, close * 0.999, close, rng.uniform(1, 50, n)]
    )


def upsert_all(database: Database, iid: int, data: np.ndarray) -> int:
    inserted = 0
    with database.session() as session:
        for start in range(0, len(data), PAGE):
            inserted += store.upsert_bars(
                session, instrument_id=iid, bars=data[start : start + PAGE], step_ms=60_000
            )
            session.commit()  # one transaction per page
    return inserted


def new_instrument(database: Database, symbol: str) -> int:
    with database.session() as session:
        iid = service.instrument_id(session, exchange="bench", symbol=symbol, timeframe="1m", create=True)
    assert iid is not None
    return iid


def orm_row_by_row(database: Database, data: np.ndarray) -> None:
    iid = new_instrument(database, "ORM/USDT")
    with database.session() as session:
        for row in data.tolist():
            session.add(
                Price(
                    instrument_id=iid,
                    ts=int(row[0]),
                    open=row[1],
                    high=row[2],
                    low=row[3],
                    close=row[4],
                    volume=row[5],
                )
            )
            session.flush()


def core_dicts(database: Database, data: np.ndarray) -> None:
    iid = new_instrument(database, "CORE/USDT")
    keys = ("ts", "open", "high", "low", "close", "volume")
    rows = [
        {"instrument_id": iid, **dict(zip(keys, (int(r[0]), *r[1:]), strict=True))} for r in data.tolist()
    ]
    with database.session() as session:
        session.execute(insert_ignoring_conflicts(session, Price.__table__), rows)


def plain_sqlite_strings(data: np.ndarray, folder: Path) -> None:
    """The naive schema: rowid table, repeated strings, text timestamps, a unique index on four columns."""
    connection = sqlite3.connect(folder / "naive.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, exchange TEXT, symbol TEXT, timeframe TEXT, ts TEXT, "
        "open REAL, high REAL, low REAL, close REAL, volume REAL, UNIQUE (exchange, symbol, timeframe, ts))"
    )
    stamps = pd.to_datetime(data[:, 0], unit="ms").strftime("%Y-%m-%d %H:%M:%S.000000").tolist()
    rows = [("bybit", "BTC/USDT", "1m", s, *r[1:]) for s, r in zip(stamps, data.tolist(), strict=True)]
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO p (exchange, symbol, timeframe, ts, open, high, low, close, volume) "
        "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        rows,
    )
    connection.execute("COMMIT")
    connection.close()


def read_sql_reference(database: Database, iid: int) -> pd.DataFrame:
    query = text(
        "SELECT ts, open, high, low, close, volume FROM prices WHERE instrument_id = :iid ORDER BY ts"
    )
    with database.engine.connect() as connection:
        frame = pd.read_sql(query, connection, params={"iid": iid})
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True)
    return frame.set_index("ts")


def bench_store(url: str, rows: int, folder: Path) -> None:
    migrate.upgrade(url)
    database = Database(url)
    data = bars(rows)
    iid = new_instrument(database, "BTC/USDT")
    first, inserted = best_of(lambda: upsert_all(database, iid, data))
    again, reinserted = best_of(lambda: upsert_all(database, iid, data))
    assert inserted == rows and reinserted == 0
    print(f"backend: {database.backend}; {rows:,} one-minute bars, pages of {PAGE:,}, one commit per page")
    print(f"  bulk upsert, new rows        {rows / first:>12,.0f} rows/s   ({first:.2f} s)")
    print(f"  bulk upsert, full re-upsert  {rows / again:>12,.0f} rows/s   ({again:.2f} s)")

    orm_n, core_n = min(rows, 20_000), min(rows, 200_000)
    orm_s, _ = best_of(lambda: orm_row_by_row(database, data[:orm_n]))
    core_s, _ = best_of(lambda: core_dicts(database, data[:core_n]))
    estimate = orm_s * rows / orm_n
    print(
        f"  ref: ORM row by row        {orm_n / orm_s:>12,.0f} rows/s ({orm_n:,} rows; all: {estimate:.0f}s)"
    )
    print(f"  ref: SQLAlchemy Core dicts   {core_n / core_s:>12,.0f} rows/s   ({core_n:,} rows)")
    if database.is_sqlite:
        plain_s, _ = best_of(lambda: plain_sqlite_strings(data[:core_n], folder))
        print(f"  ref: sqlite3, string keys    {core_n / plain_s:>12,.0f} rows/s   ({core_n:,} rows, naive)")

    def load() -> pd.DataFrame:
        with database.session(write=False) as session:
            return service.load_prices(session, exchange="bench", symbol="BTC/USDT", timeframe="1m")

    read_s, frame = best_of(load, repeat=3)
    ref_s, reference = best_of(lambda: read_sql_reference(database, iid))
    assert len(frame) == rows and np.array_equal(frame["close"].to_numpy(), reference["close"].to_numpy())
    print(f"  load_prices -> DataFrame     {read_s:>12.2f} s        ({rows:,} bars, best of 3)")
    print(f"  ref: pd.read_sql             {ref_s:>12.2f} s")
    database.dispose()


def bench_peer(folder: Path) -> None:
    now = datetime(2026, 1, 15, 12, 7, tzinfo=UTC)
    markets = [m for m in DEFAULT_MARKETS if m.quote == "USDT" and m.active][:50]
    keys = [Series("bybit", m.symbol, "15m") for m in markets]
    print(f"fetching {len(keys)} pairs (15m) from the local exchange peer over loopback HTTP, ccxt bybit")
    for workers in (1, 4):
        run_peer_cycle(folder, keys, now, workers)


def run_peer_cycle(folder: Path, keys: list[Series], now: datetime, workers: int) -> None:
    url = f"sqlite:///{(folder / f'peer{workers}.db').as_posix()}"
    migrate.upgrade(url)
    database = Database(url)
    previous = CLIENTS.configure(ClientOptions(workers=workers))
    with clock.frozen(now) as frozen, serving(create_app(ExchangePeer())) as server:
        settings = Settings(_env_file=None, database_url=url, exchange_api_override=server.url)

        def run() -> list[Any]:
            with database.session() as session:
                return service.fetch_many(session, settings=settings, pairs=keys)

        first_s, first = best_of(run)
        frozen.advance(timedelta(minutes=15))
        # Between two 15-minute cycles the rate limiter's burst allowance refills; let it, in real time.
        time.sleep(CLIENTS.options.burst_s)
        next_s, following = best_of(run)
    CLIENTS.configure(previous)
    database.dispose()
    assert not any(r.error for r in first + following)
    print(
        f"  workers={workers}: first fetch {sum(r.new_bars for r in first):,} bars in {first_s:.2f} s "
        f"(markets load included); next cycle, one new bar each, in {next_s:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{(folder / 'bench.db').as_posix()}"
        bench_store(url, args.rows, folder)
        if not args.skip_peer:
            bench_peer(folder)


if __name__ == "__main__":
    main()
