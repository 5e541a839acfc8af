"""`myassistant fetch-prices` and `discover` against the exchange peer."""

from __future__ import annotations

from typer.testing import CliRunner

from myassistant.cli import app
from myassistant.market import service

runner = CliRunner()


def _env(monkeypatch, database_url: str, exchange_url: str, tmp_path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("EXCHANGE_API_OVERRIDE", exchange_url)
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.delenv("API_TOKEN", raising=False)


def test_discover_then_fetch_prices_for_the_watchlist(
    monkeypatch, database_url, database, exchange_url, tmp_path, frozen_clock
) -> None:
    _env(monkeypatch, database_url, exchange_url, tmp_path)
    discovered = runner.invoke(app, ["discover", "--top-n", "3"])
    assert discovered.exit_code == 0, discovered.output
    assert "BTC/USDT" in discovered.output and "snapshot #" in discovered.output
    fetched = runner.invoke(app, ["fetch-prices", "--limit", "20"])
    assert fetched.exit_code == 0, fetched.output
    with database.session(write=False) as session:
        for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
            assert len(service.load_prices(session, exchange="bybit", symbol=symbol, timeframe="15m")) == 20


def test_fetch_prices_for_one_symbol_and_a_failing_one_exits_non_zero(
    monkeypatch, database_url, exchange_url, tmp_path, frozen_clock
) -> None:
    _env(monkeypatch, database_url, exchange_url, tmp_path)
    result = runner.invoke(
        app, ["fetch-prices", "-s", "ETH/USDT", "-s", "NOPE/USDT", "--timeframe", "1h", "--limit", "5"]
    )
    assert result.exit_code == 1
    assert "NOPE/USDT" in result.output


def test_peer_command_is_listed() -> None:
    result = runner.invoke(app, ["peer", "exchange", "--help"])
    assert result.exit_code == 0 and "Bybit" in result.output
