"""`myassistant fetch-prices` and `discover` against the exchange peer."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from myassistant.cli import app
from myassistant.core.locks import held_lock
from myassistant.jobs.runner import JobLocks
from myassistant.market import service
from tests.factories import job_runs

runner = CliRunner()


def test_discover_then_fetch_prices_for_the_watchlist(cli_env_with_exchange, database, frozen_clock) -> None:
    discovered = runner.invoke(app, ["discover", "--top-n", "3"])
    assert discovered.exit_code == 0, discovered.output
    assert "BTC/USDT" in discovered.output and "snapshot #" in discovered.output
    fetched = runner.invoke(app, ["fetch-prices", "--limit", "20"])
    assert fetched.exit_code == 0, fetched.output
    with database.session(write=False) as session:
        for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
            assert len(service.load_prices(session, exchange="bybit", symbol=symbol, timeframe="15m")) == 20


def test_fetch_prices_for_one_symbol_and_a_failing_one_exits_non_zero(
    cli_env_with_exchange, frozen_clock
) -> None:
    result = runner.invoke(
        app, ["fetch-prices", "-s", "ETH/USDT", "-s", "NOPE/USDT", "--timeframe", "1h", "--limit", "5"]
    )
    assert result.exit_code == 1
    assert "NOPE/USDT" in result.output


def test_peer_command_is_listed() -> None:
    result = runner.invoke(app, ["peer", "exchange", "--help"])
    assert result.exit_code == 0 and "Bybit" in result.output


def test_market_commands_are_recorded_as_clijob_runs(cli_env_with_exchange, database, frozen_clock) -> None:
    assert runner.invoke(app, ["discover", "--top-n", "2"]).exit_code == 0
    fetched = runner.invoke(app, ["fetch-prices", "-s", "BTC/USDT", "--timeframe", "1h", "--limit", "3"])
    assert fetched.exit_code == 0, fetched.output
    assert "2026-01-15T11:00" in fetched.output  # the last closed 1h bar at the frozen noon
    assert job_runs(database) == [("discover_watchlist", "cli", "ok"), ("fetch_prices", "cli", "ok")]


@pytest.mark.parametrize(
    ("command", "job"), [(["fetch-prices"], "fetch_prices"), (["discover"], "discover_watchlist")]
)
def test_a_market_command_while_its_job_runs_answers_already_running(
    cli_env_with_exchange, database, settings, command, job
) -> None:
    with held_lock(JobLocks(database, settings).for_job(job)) as got:
        assert got
        result = runner.invoke(app, command)
    assert result.exit_code == 1
    assert f"job {job!r} is already running" in result.output
    assert job_runs(database) == []


def test_fetch_prices_refuses_a_bad_since_with_exit_code_2_before_any_run(
    cli_env_with_exchange, database
) -> None:
    result = runner.invoke(app, ["fetch-prices", "-s", "BTC/USDT", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "invalid parameters: since" in result.output
    assert job_runs(database) == []
