"""`myassistant fetch-prices` and `discover` against the exchange peer."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from myassistant.cli import app
from myassistant.core.locks import held_lock
from myassistant.jobs.runner import JobLocks
from myassistant.jobs.tables import JobRun
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


def _job_runs(database) -> list[tuple[str, str, str]]:
    with database.session(write=False) as session:
        return [(r.job, r.source, r.status) for r in session.scalars(select(JobRun).order_by(JobRun.id))]


def test_market_commands_are_recorded_as_cli_job_runs(
    monkeypatch, database_url, database, exchange_url, tmp_path, frozen_clock
) -> None:
    _env(monkeypatch, database_url, exchange_url, tmp_path)
    assert runner.invoke(app, ["discover", "--top-n", "2"]).exit_code == 0
    fetched = runner.invoke(app, ["fetch-prices", "-s", "BTC/USDT", "--timeframe", "1h", "--limit", "3"])
    assert fetched.exit_code == 0, fetched.output
    assert "2026-01-15T11:00" in fetched.output  # the last closed 1h bar at the frozen noon
    assert _job_runs(database) == [("discover_watchlist", "cli", "ok"), ("fetch_prices", "cli", "ok")]


@pytest.mark.parametrize(
    ("command", "job"), [(["fetch-prices"], "fetch_prices"), (["discover"], "discover_watchlist")]
)
def test_a_market_command_while_its_job_runs_answers_already_running(
    monkeypatch, database_url, database, settings, exchange_url, tmp_path, command, job
) -> None:
    _env(monkeypatch, database_url, exchange_url, tmp_path)
    with held_lock(JobLocks(database, settings).for_job(job)) as got:
        assert got
        result = runner.invoke(app, command)
    assert result.exit_code == 1
    assert f"job {job!r} is already running" in result.output
    assert _job_runs(database) == []


def test_fetch_prices_refuses_a_bad_since_with_exit_code_2_before_any_run(
    monkeypatch, database_url, database, exchange_url, tmp_path
) -> None:
    _env(monkeypatch, database_url, exchange_url, tmp_path)
    result = runner.invoke(app, ["fetch-prices", "-s", "BTC/USDT", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "invalid parameters: since" in result.output
    assert _job_runs(database) == []
