"""fetch_prices against the exchange peer over real HTTP, through real ccxt."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from myassistant.core.db import Database
from myassistant.core.errors import InvalidInput, UpstreamError
from myassistant.market import logic, service
from myassistant.market.logic import Series
from myassistant.market.schemas import WatchlistEntryIn
from myassistant.market.tables import Price
from myassistant.peers.exchange import DEFAULT_MARKETS, closed_bars

FIFTEEN_MIN = timedelta(minutes=15)
MID_BAR = datetime(2026, 1, 15, 12, 7, 30, tzinfo=UTC)  # the 12:00 bar is forming


def _stored(database: Database, symbol: str = "BTC/USDT", timeframe: str = "15m"):
    with database.session(write=False) as session:
        return service.load_prices(session, exchange="bybit", symbol=symbol, timeframe=timeframe)


def _fetch(database: Database, settings, **kwargs):
    params = {"exchange": "bybit", "symbol": "BTC/USDT", "timeframe": "15m", **kwargs}
    with database.session() as session:
        return service.fetch_prices(session, settings=settings, **params)


@pytest.fixture
def mid_bar(frozen_clock):
    frozen_clock.set(MID_BAR)
    return frozen_clock


def test_first_fetch_stores_the_last_1000_closed_bars(database, peer_settings, mid_bar) -> None:
    result = _fetch(database, peer_settings)
    frame = _stored(database)
    assert result.new_bars == 1000 and len(frame) == 1000
    assert frame.index[-1] == datetime(2026, 1, 15, 11, 45, tzinfo=UTC)
    assert (frame.index.to_series().diff().dropna() == FIFTEEN_MIN).all()
    assert result.last_bar == frame.index[-1].to_pydatetime()


def test_stored_bars_equal_the_exchange_candles(database, peer_settings, exchange_peer, mid_bar) -> None:
    _fetch(database, peer_settings, limit=50)
    frame = _stored(database)
    btc = next(m for m in DEFAULT_MARKETS if m.symbol == "BTC/USDT")
    first, last = logic.to_ms(frame.index[0]), logic.to_ms(frame.index[-1])
    truth = closed_bars(exchange_peer.seed, btc, "15m", first, last)
    assert frame["close"].tolist() == truth.close.tolist()
    assert frame["volume"].tolist() == truth.volume.tolist()


def test_second_fetch_stores_nothing(database, peer_settings, mid_bar) -> None:
    _fetch(database, peer_settings)
    again = _fetch(database, peer_settings)
    assert again.new_bars == 0 and len(_stored(database)) == 1000


def test_after_the_clock_advances_only_the_new_bars_are_stored(
    database, peer_settings, exchange_peer, mid_bar
) -> None:
    _fetch(database, peer_settings)
    requests_before = exchange_peer.count("/kline")
    mid_bar.advance(minutes=45)
    result = _fetch(database, peer_settings)
    assert result.new_bars == 3
    assert _stored(database).index[-1] == datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
    assert exchange_peer.count("/kline") - requests_before == 1


def test_the_forming_bar_is_never_stored(database, peer_settings, mid_bar) -> None:
    _fetch(database, peer_settings)
    assert _stored(database).index[-1] + FIFTEEN_MIN <= MID_BAR
    mid_bar.advance(minutes=10)  # 12:17:30: the 12:00 bar has closed, with its final values
    _fetch(database, peer_settings)
    frame = _stored(database)
    assert frame.index[-1] == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    btc = next(m for m in DEFAULT_MARKETS if m.symbol == "BTC/USDT")
    final = closed_bars(7, btc, "15m", logic.to_ms(frame.index[-1]), logic.to_ms(frame.index[-1]))
    assert frame["volume"].iloc[-1] == final.volume[0]


def test_a_gap_in_the_store_is_backfilled(database, peer_settings, mid_bar) -> None:
    _fetch(database, peer_settings)
    complete = _stored(database)
    hole_start, hole_end = complete.index[300], complete.index[340]
    with database.session() as session:
        session.execute(
            delete(Price).where(Price.ts >= logic.to_ms(hole_start), Price.ts <= logic.to_ms(hole_end))
        )
    result = _fetch(database, peer_settings)
    assert (result.gaps_found, result.backfilled_bars, result.new_bars) == (1, 41, 41)
    assert _stored(database).equals(complete)


def test_candles_the_exchange_missed_are_backfilled_once_it_has_them(
    database, peer_settings, exchange_peer, mid_bar
) -> None:
    exchange_peer.add_hole(
        "BTC/USDT", datetime(2026, 1, 14, 3, tzinfo=UTC), datetime(2026, 1, 14, 4, tzinfo=UTC)
    )
    _fetch(database, peer_settings, limit=200)
    assert len(_stored(database)) == 195
    exchange_peer.holes.clear()
    result = _fetch(database, peer_settings)
    assert (result.gaps_found, result.backfilled_bars) == (1, 5)
    frame = _stored(database)
    assert len(frame) == 200 and (frame.index.to_series().diff().dropna() == FIFTEEN_MIN).all()


def test_rate_limit_and_server_errors_are_retried_then_succeed(
    database, peer_settings, exchange_peer, mid_bar
) -> None:
    exchange_peer.inject("rate_limit", path="/kline", retry_after=0.05)
    exchange_peer.inject("server_error", path="/kline", status=502)
    result = _fetch(database, peer_settings, limit=10)
    assert result.new_bars == 10
    statuses = [r.status for r in exchange_peer.requests if "/kline" in r.path]
    assert statuses == [429, 502, 200]


def test_a_timeout_is_retried(database, peer_settings, exchange_peer, mid_bar) -> None:
    exchange_peer.inject("timeout", path="/kline", delay=1.5)
    assert _fetch(database, peer_settings, limit=10).new_bars == 10


def test_a_persistent_error_keeps_stored_bars_and_says_why(
    database, peer_settings, exchange_peer, mid_bar
) -> None:
    _fetch(database, peer_settings, limit=100)
    before = _stored(database)
    mid_bar.advance(hours=2)
    exchange_peer.inject("server_error", path="/kline", times=None, status=503)
    with pytest.raises(UpstreamError) as caught:
        _fetch(database, peer_settings)
    assert caught.value.status_code == 503
    assert "bybit" in caught.value.detail and "after 3 attempts" in caught.value.detail
    assert _stored(database).equals(before)


def test_unknown_symbol_is_invalid_input_naming_it(database, peer_settings, exchange_peer, mid_bar) -> None:
    with pytest.raises(InvalidInput, match="NOPE/USDT"):
        _fetch(database, peer_settings, symbol="NOPE/USDT")


def test_a_since_with_no_utc_equivalent_is_invalid_input(database, peer_settings, mid_bar) -> None:
    far = datetime.fromisoformat("9999-12-31T23:59:59-14:00")
    with pytest.raises(InvalidInput, match="out of range"):
        _fetch(database, peer_settings, since=far)


def test_fetch_many_refuses_a_since_before_2010(database, peer_settings, mid_bar) -> None:
    pairs = [Series("bybit", "BTC/USDT", "15m")]
    since = datetime(2001, 1, 1, tzinfo=UTC)
    with database.session() as session, pytest.raises(InvalidInput, match="2010-01-01"):
        service.fetch_many(session, settings=peer_settings, pairs=pairs, since=since)


def test_symbol_the_exchange_rejects_is_invalid_input(
    database, peer_settings, exchange_peer, mid_bar
) -> None:
    exchange_peer.inject("unknown_symbol", path="/kline", symbol="ETH/USDT")
    with pytest.raises(InvalidInput, match="symbol"):
        _fetch(database, peer_settings, symbol="ETH/USDT")


def test_binance_api_works_the_same(database, peer_settings, mid_bar) -> None:
    with database.session() as session:
        result = service.fetch_prices(
            session, settings=peer_settings, exchange="binance", symbol="ETH/USDT", timeframe="1h", limit=1500
        )
        frame = service.load_prices(session, exchange="binance", symbol="ETH/USDT", timeframe="1h")
    assert result.new_bars == 1500 and result.pages == 2
    assert frame.index[-1] == datetime(2026, 1, 15, 11, tzinfo=UTC)


def test_since_fetches_from_there_and_fills_up_to_now(database, peer_settings, mid_bar) -> None:
    result = _fetch(database, peer_settings, since=datetime(2026, 1, 10, tzinfo=UTC))
    frame = _stored(database)
    assert frame.index[0] == datetime(2026, 1, 10, tzinfo=UTC)
    assert result.new_bars == len(frame) == 5 * 96 + 48


def test_a_recent_listing_yields_what_exists(database, peer_settings, mid_bar) -> None:
    result = _fetch(database, peer_settings, symbol="NEWCOIN/USDT")
    assert result.new_bars == 5 * 96 + 48  # Jan 10 00:00 .. Jan 15 11:45


def test_fetch_many_reports_each_pair_and_continues_after_a_failure(
    database, peer_settings, exchange_peer, mid_bar
) -> None:
    exchange_peer.inject("server_error", path="/kline", symbol="ETH/USDT", times=None)
    keys = [Series("bybit", s, "15m") for s in ("BTC/USDT", "ETH/USDT", "NOPE/USDT", "SOL/USDT")]
    with database.session() as session:
        results = service.fetch_many(session, settings=peer_settings, pairs=keys, limit=20)
    by_symbol = {r.symbol: r for r in results}
    assert [r.symbol for r in results] == ["BTC/USDT", "ETH/USDT", "NOPE/USDT", "SOL/USDT"]
    assert by_symbol["BTC/USDT"].new_bars == by_symbol["SOL/USDT"].new_bars == 20
    assert by_symbol["ETH/USDT"].status_code == 503 and by_symbol["ETH/USDT"].new_bars == 0
    assert by_symbol["NOPE/USDT"].status_code == 422 and "NOPE/USDT" in (by_symbol["NOPE/USDT"].error or "")
    with database.session(write=False) as session:
        assert session.execute(select(func.count()).select_from(Price)).scalar_one() == 40


def test_a_failure_midway_keeps_the_committed_pages_and_the_rerun_completes(
    database, peer_settings, exchange_peer, mid_bar
) -> None:
    _fetch(database, peer_settings, limit=10)
    mid_bar.advance(days=15)  # 1440 new bars: two pages
    exchange_peer.inject("server_error", path="/kline", times=None, skip=1)
    with pytest.raises(UpstreamError):
        _fetch(database, peer_settings)
    exchange_peer.faults.clear()
    assert len(_stored(database)) == 10 + 1000
    result = _fetch(database, peer_settings)
    frame = _stored(database)
    assert result.new_bars == 440 and len(frame) == 1450
    assert (frame.index.to_series().diff().dropna() == FIFTEEN_MIN).all()


def test_concurrent_fetches_of_one_pair_store_each_bar_once(database, peer_settings, mid_bar) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            _fetch(database, peer_settings, limit=800)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    frame = _stored(database)
    assert len(frame) == 800 and frame.index.is_unique


def _database_is_writable_elsewhere(database: Database) -> bool:
    """Whether another connection can take the SQLite write lock right now (no waiting)."""
    path = database.engine.url.database
    assert path
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        connection.close()


@pytest.mark.parametrize("how", ["fetch_prices", "fetch_many"])
def test_no_write_lock_is_held_while_the_exchange_lists_its_markets(
    database, peer_settings, exchange_peer, mid_bar, how
) -> None:
    if not database.is_sqlite:
        pytest.skip("the database-wide write lock is SQLite's")
    with database.session() as session:
        service.add_to_watchlist(
            session, settings=peer_settings, entries=[WatchlistEntryIn(symbol="BTC/USDT")]
        )
    slow = exchange_peer.inject("timeout", path="/instruments-info", delay=0.5)  # late, not timed out
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with database.session() as session:
                if how == "fetch_many":  # reads the watchlist first, in the caller's transaction
                    service.fetch_many(session, settings=peer_settings, limit=5)
                else:
                    session.execute(select(func.count()).select_from(Price))  # caller's open transaction
                    service.fetch_prices(
                        session, settings=peer_settings, exchange="bybit", symbol="BTC/USDT", timeframe="15m"
                    )
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 5
    while slow.times and time.monotonic() < deadline:  # until the slow markets request has arrived
        time.sleep(0.005)
    writable = _database_is_writable_elsewhere(database)
    thread.join()
    assert errors == [] and slow.times == 0
    assert writable
    assert len(_stored(database)) > 0
