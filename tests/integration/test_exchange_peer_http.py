"""The peer's wire protocol, read directly over HTTP as an exchange client would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

NOW = datetime(2026, 1, 15, 12, 7, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
M15 = 900_000
FORMING = NOW_MS - NOW_MS % M15


@pytest.fixture
def http(exchange_url, frozen_clock):
    frozen_clock.set(NOW)
    with httpx.Client(base_url=exchange_url, timeout=5) as client:
        yield client


def test_bybit_latest_klines_are_newest_first_and_start_with_the_forming_bar(http) -> None:
    body = http.get(
        "/v5/market/kline", params={"category": "spot", "symbol": "BTCUSDT", "interval": "15"}
    ).json()
    rows = body["result"]["list"]
    assert body["retCode"] == 0 and len(rows) == 200
    assert int(rows[0][0]) == FORMING and int(rows[1][0]) == FORMING - M15
    assert body["time"] == NOW_MS


def test_the_forming_bar_changes_while_closed_bars_do_not(http, frozen_clock) -> None:
    params = {"category": "spot", "symbol": "ETHUSDT", "interval": "15", "limit": "3"}
    before = http.get("/v5/market/kline", params=params).json()["result"]["list"]
    frozen_clock.advance(minutes=5)
    after = http.get("/v5/market/kline", params=params).json()["result"]["list"]
    assert before[1:] == after[1:]
    assert float(after[0][5]) > float(before[0][5])  # more volume traded in the forming bar


def test_binance_klines_run_forward_from_start_time(http) -> None:
    start = FORMING - 10 * M15
    rows = http.get(
        "/api/v3/klines", params={"symbol": "SOLUSDT", "interval": "15m", "startTime": start, "limit": 4}
    ).json()
    assert [r[0] for r in rows] == [start + i * M15 for i in range(4)]
    assert rows[0][6] == start + M15 - 1


def test_nothing_after_now_is_served(http) -> None:
    start = FORMING - M15
    rows = http.get(
        "/api/v3/klines", params={"symbol": "SOLUSDT", "interval": "15m", "startTime": start}
    ).json()
    assert [r[0] for r in rows] == [start, FORMING]


def test_unknown_symbols_answer_in_each_protocol(http) -> None:
    bybit = http.get("/v5/market/kline", params={"category": "spot", "symbol": "NOPEUSDT", "interval": "15"})
    assert bybit.status_code == 200 and bybit.json()["retCode"] == 10001
    binance = http.get("/api/v3/klines", params={"symbol": "NOPEUSDT", "interval": "15m"})
    assert binance.status_code == 400 and binance.json()["code"] == -1121


def test_markets_list_inactive_pairs_as_such(http) -> None:
    bybit = http.get("/v5/market/instruments-info", params={"category": "spot"}).json()["result"]["list"]
    status = {m["symbol"]: m["status"] for m in bybit}
    assert status["BTCUSDT"] == "Trading" and status["LUNAUSDT"] == "Closed"
    binance = http.get("/api/v3/exchangeInfo").json()["symbols"]
    assert {m["symbol"]: m["status"] for m in binance}["FTTUSDT"] == "BREAK"


def test_injected_rate_limit_carries_retry_after(http, exchange_peer) -> None:
    exchange_peer.inject("rate_limit", path="/tickers", retry_after=2)
    limited = http.get("/v5/market/tickers", params={"category": "spot"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert http.get("/v5/market/tickers", params={"category": "spot"}).status_code == 200


def test_a_detached_clock_moves_the_exchange_alone(http, exchange_peer) -> None:
    exchange_peer.set_now(NOW + timedelta(hours=1))
    body = http.get("/v5/market/time").json()
    assert body["time"] == NOW_MS + 3_600_000
