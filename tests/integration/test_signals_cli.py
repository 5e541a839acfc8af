from __future__ import annotations

from typer.testing import CliRunner

from myassistant.cli import app
from tests.fixtures.decision import constant_model

runner = CliRunner()


def test_signals_for_one_pair_trades_and_records_a_job_run(
    cli_env_with_exchange, peer_settings, database, mid_bar_clock
) -> None:
    with database.session() as session:
        constant_model(session, peer_settings, prob=0.8)
    result = runner.invoke(app, ["signals", "--symbol", "BTC/USDT"])
    assert result.exit_code == 0, result.output
    assert "new events" in result.output
    from myassistant.jobs.service import recent_runs

    with database.session(write=False) as session:
        [run] = recent_runs(session)
    assert (run.job, run.source, run.status) == ("signal_once", "cli", "ok")
    assert run.stats["orders"] == 1


def test_signals_without_a_model_reports_the_pair_error(cli_env_with_exchange, mid_bar_clock) -> None:
    result = runner.invoke(app, ["signals", "--symbol", "BTC/USDT", "--no-trade"])
    assert result.exit_code == 0
    assert "no model for bybit BTC/USDT 15m h12" in result.output


def test_signals_for_one_pair_with_no_trade_signals_but_places_no_order(
    cli_env_with_exchange, peer_settings, database, mid_bar_clock
) -> None:
    with database.session() as session:
        constant_model(session, peer_settings, prob=0.8)
    result = runner.invoke(app, ["signals", "--symbol", "BTC/USDT", "--no-trade"])
    assert result.exit_code == 0, result.output
    from myassistant.jobs.service import recent_runs

    with database.session(write=False) as session:
        [run] = recent_runs(session)
    assert (run.job, run.source, run.stats["buys"], run.stats["orders"]) == ("signal_once", "cli", 1, 0)
