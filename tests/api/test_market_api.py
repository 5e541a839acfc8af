"""Prices and Watchlist endpoints over HTTP, backed by the exchange peer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app

MID_BAR = datetime(2026, 1, 15, 12, 7, 30, tzinfo=UTC)


@pytest.fixture
def api(peer_settings, database, frozen_clock):
    frozen_clock.set(MID_BAR)
    with TestClient(create_app(peer_settings, database=database)) as client:
        yield client


def test_fetch_one_symbol_then_read_the_latest_bars(api) -> None:
    fetched = api.post("/prices/fetch", json={"symbol": "btc/usdt", "limit": 30})
    assert fetched.status_code == 200, fetched.text
    body = fetched.json()
    assert body["new_bars"] == 30 and body["failed"] == 0
    assert body["results"][0]["symbol"] == "BTC/USDT"
    latest = api.get("/prices/latest", params={"symbol": "BTC/USDT", "limit": 5})
    assert latest.status_code == 200
    bars = latest.json()["bars"]
    assert len(bars) == 5 and bars[-1]["ts"].startswith("2026-01-15T11:45:00")
    assert [b["ts"] for b in bars] == sorted(b["ts"] for b in bars)
    assert bars[-1]["high"] >= max(bars[-1]["open"], bars[-1]["close"])


def test_fetch_defaults_to_the_watchlist_and_reports_each_pair(api, exchange_peer) -> None:
    api.post(
        "/watchlist", json={"entries": [{"symbol": "BTC/USDT"}, {"symbol": "ETH/USDT", "timeframe": "1h"}]}
    )
    exchange_peer.inject("server_error", path="/kline", symbol="ETH/USDT", times=None)
    response = api.post("/prices/fetch", json={"limit": 10})
    assert response.status_code == 200
    results = {r["symbol"]: r for r in response.json()["results"]}
    assert results["BTC/USDT"]["new_bars"] == 10 and results["BTC/USDT"]["timeframe"] == "15m"
    assert results["ETH/USDT"]["timeframe"] == "1h" and results["ETH/USDT"]["status_code"] == 503
    assert response.json()["failed"] == 1


def test_unknown_symbol_is_a_4xx_naming_it(api) -> None:
    response = api.post("/prices/fetch", json={"symbol": "NOPE/USDT"})
    assert response.status_code == 422
    assert "NOPE/USDT" in response.json()["detail"]


def test_persistent_exchange_failure_is_a_clear_5xx(api, exchange_peer) -> None:
    exchange_peer.inject("rate_limit", path="/kline", times=None, retry_after=0.01)
    response = api.post("/prices/fetch", json={"symbol": "BTC/USDT", "limit": 5})
    assert response.status_code == 503
    assert "rate limit" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"symbol": "BTC/USDT", "timeframe": "7m"}, "valid: 1m, 3m, 5m, 15m"),
        ({"symbol": "BTCUSDT"}, "BASE/QUOTE"),
        ({"symbol": "BTC/USDT", "symbols": ["ETH/USDT"]}, "either symbol or symbols"),
        ({"symbol": "BTC/USDT", "limit": 0}, "limit"),
        ({"exchange": "Not An Exchange!", "symbol": "BTC/USDT"}, "exchange"),
    ],
)
def test_bad_fetch_input_is_422_with_the_reason(api, body, needle) -> None:
    response = api.post("/prices/fetch", json=body)
    assert response.status_code == 422
    assert needle in response.json()["detail"]


def test_unknown_exchange_id_is_422(api) -> None:
    response = api.post("/prices/fetch", json={"exchange": "bybitt", "symbol": "BTC/USDT"})
    assert response.status_code == 422
    assert "did you mean" in response.json()["detail"] and "bybit" in response.json()["detail"]


def test_latest_up_to_an_end_answers_the_bars_opening_by_then(api) -> None:
    api.post("/prices/fetch", json={"symbol": "BTC/USDT", "limit": 30})
    newest = api.get("/prices/latest", params={"symbol": "BTC/USDT", "limit": 30}).json()["bars"]
    older = api.get(
        "/prices/latest", params={"symbol": "BTC/USDT", "limit": 5, "end": "2026-01-15T10:00:00Z"}
    ).json()["bars"]
    ten = datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert older == [b for b in newest if datetime.fromisoformat(b["ts"]) <= ten][-5:]
    assert older[-1]["ts"].startswith("2026-01-15T10:00:00") and len(older) == 5
    naive = api.get("/prices/latest", params={"symbol": "BTC/USDT", "limit": 5, "end": "2026-01-15T10:10:00"})
    assert naive.json()["bars"] == older  # naive means UTC; the 10:15 bar opens after it
    before_any = api.get("/prices/latest", params={"symbol": "BTC/USDT", "end": "2020-01-01T00:00:00Z"})
    assert before_any.status_code == 404
    assert "opening at or before 2020-01-01T00:00:00+00:00" in before_any.json()["detail"]
    bad = api.get("/prices/latest", params={"symbol": "BTC/USDT", "end": "yesterday"})
    assert bad.status_code == 422 and "query.end" in bad.json()["detail"]


def test_latest_without_stored_prices_is_404_with_a_hint(api) -> None:
    response = api.get("/prices/latest", params={"symbol": "BTC/USDT"})
    assert response.status_code == 404
    assert "POST /prices/fetch" in response.json()["detail"]


def test_latest_rejects_a_bad_timeframe_listing_the_valid_ones(api) -> None:
    response = api.get("/prices/latest", params={"symbol": "BTC/USDT", "timeframe": "2m"})
    assert response.status_code == 422
    assert "valid: 1m" in response.json()["detail"]


def test_watchlist_endpoints_round_trip(api) -> None:
    assert api.get("/watchlist").json() == []
    added = api.post("/watchlist/add", json={"entries": [{"symbol": "SOL/USDT", "horizon_steps": 8}]})
    assert added.status_code == 200 and added.json()["added"] == ["bybit:SOL/USDT"]
    discovered = api.post("/watchlist/discover", json={"top_n": 3})
    assert discovered.status_code == 200
    assert [p["symbol"] for p in discovered.json()["discovered"]] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    entries = {e["symbol"]: e for e in api.get("/watchlist").json()}
    assert entries["SOL/USDT"]["source"] == "manual" and entries["SOL/USDT"]["horizon_steps"] == 8
    assert entries["BTC/USDT"]["source"] == "discover"
    removed = api.post("/watchlist/remove", json={"symbols": ["BTC/USDT"]})
    assert removed.json()["removed"] == ["bybit:BTC/USDT"]
    snapshots = api.get("/watchlist/snapshots").json()
    assert [s["trigger"] for s in snapshots] == ["remove", "discover", "add"]
    as_of = api.get("/watchlist/snapshots", params={"at": "2020-01-01T00:00:00Z"}).json()
    assert as_of == []


def test_discover_rejects_bad_parameters(api) -> None:
    assert api.post("/watchlist/discover", json={"top_n": 0}).status_code == 422
    assert api.post("/watchlist/discover", json={"min_quote_volume": -1}).status_code == 422
    assert api.post("/watchlist/discover", json={"quote": "US DT"}).status_code == 422


def test_since_before_2010_is_refused(api) -> None:
    response = api.post("/prices/fetch", json={"symbol": "BTC/USDT", "since": "0001-01-01T00:00:00Z"})
    assert response.status_code == 422 and "2010-01-01" in response.json()["detail"]


@pytest.mark.parametrize("pairs", [{"symbols": ["BTC/USDT", "ETH/USDT"]}, {}])
def test_since_before_2010_is_refused_for_many_pairs_too(api, pairs) -> None:
    api.post("/watchlist", json={"entries": [{"symbol": "BTC/USDT"}]})
    response = api.post("/prices/fetch", json={**pairs, "since": "2001-01-01T00:00:00Z"})
    assert response.status_code == 422 and "2010-01-01" in response.json()["detail"]


FAR_FUTURE_AT_UTC_MINUS_14 = "9999-12-31T23:59:59-14:00"  # past year 9999 once converted to UTC


def test_a_time_beyond_utc_range_is_422_on_snapshots(api) -> None:
    response = api.get("/watchlist/snapshots", params={"at": FAR_FUTURE_AT_UTC_MINUS_14})
    assert response.status_code == 422 and "out of range" in response.text


@pytest.mark.parametrize("pair", [{"symbol": "BTC/USDT"}, {"symbols": ["BTC/USDT"]}, {}])
def test_a_since_beyond_utc_range_is_422_on_fetch(api, pair) -> None:
    response = api.post("/prices/fetch", json={**pair, "since": FAR_FUTURE_AT_UTC_MINUS_14})
    assert response.status_code == 422 and "out of range" in response.text
