"""Watchlist, discovery against the exchange peer, snapshots and pairs_for_jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from myassistant.core.errors import UpstreamError
from myassistant.market import service
from myassistant.market.logic import Pair
from myassistant.market.schemas import WatchlistEntryIn

TOP_20 = [
    "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "BNB/USDT", "ADA/USDT", "SUI/USDT",
    "LINK/USDT", "PEPE/USDT", "LTC/USDT", "AVAX/USDT", "TRX/USDT", "DOT/USDT", "TON/USDT", "BCH/USDT",
    "NEAR/USDT", "UNI/USDT", "APT/USDT", "WIF/USDT",
]  # fmt: skip


def _discover(database, settings, **kwargs):
    with database.session() as session:
        return service.discover(session, settings=settings, **kwargs)


def test_discovery_returns_exactly_the_liquid_usdt_spot_pairs_by_volume(
    database, peer_settings, frozen_clock
) -> None:
    result = _discover(database, peer_settings)
    symbols = [pair.symbol for pair in result.discovered]
    volumes = [pair.quote_volume_24h for pair in result.discovered]
    assert symbols == TOP_20
    assert volumes == sorted(volumes, reverse=True)
    assert result.excluded["leveraged"] == 11 and result.excluded["stablecoin"] == 7
    assert result.excluded["inactive"] == 3 and result.excluded["other_quote"] == 7
    assert [e.symbol for e in result.watchlist] == sorted(TOP_20)
    assert all(e.source == "discover" and e.quote_volume_24h for e in result.watchlist)


@pytest.mark.parametrize("exchange", ["bybit", "binance"])
def test_discovery_never_picks_leveraged_pegged_inactive_or_foreign_quote_pairs(
    database, peer_settings, frozen_clock, exchange
) -> None:
    result = _discover(database, peer_settings, exchange=exchange, top_n=500, min_quote_volume=0)
    symbols = {pair.symbol for pair in result.discovered}
    assert len(symbols) == 63
    for banned in ("BTC3L/USDT", "ETHUP/USDT", "XRPBULL/USDT", "EOSBEAR/USDT", "SOL2L/USDT", "DOGE5S/USDT",
                   "USDC/USDT", "FDUSD/USDT", "DAI/USDT", "EUR/USDT", "LUNA/USDT", "FTT/USDT",
                   "ETH/BTC", "BTC/USDC", "BTC/EUR"):  # fmt: skip
        assert banned not in symbols
    assert "JUP/USDT" in symbols  # ends in UP, but is no leveraged token


def test_minimum_volume_cuts_the_tail(database, peer_settings, frozen_clock) -> None:
    result = _discover(database, peer_settings, top_n=500, min_quote_volume=20_000_000)
    assert [p.symbol for p in result.discovered] == TOP_20
    assert all(p.quote_volume_24h >= 20_000_000 for p in result.discovered)


def test_discovery_keeps_manual_entries_and_drops_stale_discovered_ones(
    database, peer_settings, frozen_clock
) -> None:
    with database.session() as session:
        service.add_to_watchlist(
            session, settings=peer_settings, entries=[WatchlistEntryIn(symbol="KAS/USDT", timeframe="1h")]
        )
    _discover(database, peer_settings, top_n=5)
    second = _discover(database, peer_settings, top_n=3)
    assert second.removed == ["DOGE/USDT", "XRP/USDT"]
    assert second.kept_manual == ["KAS/USDT"]
    assert [(e.symbol, e.source) for e in second.watchlist] == [
        ("BTC/USDT", "discover"), ("ETH/USDT", "discover"), ("KAS/USDT", "manual"), ("SOL/USDT", "discover"),
    ]  # fmt: skip


def test_each_discovery_keeps_a_dated_snapshot_of_the_whole_list(
    database, peer_settings, frozen_clock
) -> None:
    first = _discover(database, peer_settings, top_n=2)
    taken_first = frozen_clock.now()
    frozen_clock.advance(days=1)
    second = _discover(database, peer_settings, top_n=4)
    with database.session(write=False) as session:
        snapshots = service.list_snapshots(session)
        then = service.watchlist_as_of(session, at=taken_first + timedelta(hours=1))
        before = service.watchlist_as_of(session, at=taken_first - timedelta(seconds=1))
    assert [s.id for s in snapshots] == [second.snapshot_id, first.snapshot_id]
    assert [e["symbol"] for e in snapshots[0].entries] == sorted(TOP_20[:4])
    assert snapshots[0].params["top_n"] == 4 and snapshots[0].trigger == "discover"
    assert [e["symbol"] for e in then] == ["BTC/USDT", "ETH/USDT"]
    assert before == []


def test_discovery_failure_changes_nothing(database, peer_settings, exchange_peer, frozen_clock) -> None:
    _discover(database, peer_settings, top_n=3)
    exchange_peer.inject("server_error", path="/tickers", times=None)
    with pytest.raises(UpstreamError):
        _discover(database, peer_settings, top_n=10)
    with database.session(write=False) as session:
        assert len(service.list_watchlist(session)) == 3
        assert len(service.list_snapshots(session)) == 1


def test_add_replace_remove_and_pairs_for_jobs_use_defaults(database, settings, frozen_clock) -> None:
    with database.session() as session:
        service.add_to_watchlist(
            session,
            settings=settings,
            entries=[
                WatchlistEntryIn(symbol="BTC/USDT"),
                WatchlistEntryIn(exchange="binance", symbol="ETH/USDT", timeframe="1h", horizon_steps=4),
            ],
        )
        pairs = service.pairs_for_jobs(session, settings=settings)
        removed = service.remove_from_watchlist(
            session, settings=settings, exchange=None, symbols=["BTC/USDT", "X/USDT"]
        )
        replaced = service.replace_watchlist(
            session, settings=settings, entries=[WatchlistEntryIn(symbol="SOL/USDT")]
        )
    assert pairs == [Pair("binance", "ETH/USDT", "1h", 4), Pair("bybit", "BTC/USDT", "15m", 12)]
    assert removed.removed == ["bybit:BTC/USDT"] and removed.not_found == ["X/USDT"]
    assert [(e.exchange, e.symbol) for e in replaced.watchlist] == [("bybit", "SOL/USDT")]
    assert replaced.removed == ["binance:ETH/USDT"] and replaced.added == ["bybit:SOL/USDT"]


def test_adding_a_discovered_pair_by_hand_makes_it_manual(database, peer_settings, frozen_clock) -> None:
    _discover(database, peer_settings, top_n=3)
    with database.session() as session:
        change = service.add_to_watchlist(
            session, settings=peer_settings, entries=[WatchlistEntryIn(symbol="SOL/USDT")]
        )
    assert change.added == []
    second = _discover(database, peer_settings, top_n=1)
    assert {e.symbol for e in second.watchlist} == {"BTC/USDT", "SOL/USDT"}
