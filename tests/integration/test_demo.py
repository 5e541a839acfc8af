"""The demo pipeline end to end against the three local peers (exchange, news, Telegram)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from myassistant import demo
from myassistant.core.db import Database
from myassistant.peers.exchange import CYCLE_BASES
from myassistant.peers.server import free_port
from tests.conftest import FROZEN_AT, using_postgres
from tests.fixtures.cli_process import serving_cli


@pytest.mark.slow
def test_demo_shows_the_whole_chain_against_the_peers(
    make_settings, database_url, tmp_path, frozen_clock
) -> None:
    """Learnable pairs train models that pass the policy; the walk to now gives BUYs, vetoed BUYs,
    paper orders and their exits, and Telegram messages for the BUYs."""
    with demo.running_peers() as peers:
        settings = demo.demo_settings(
            make_settings(), peers, database_url=database_url, artifacts_dir=tmp_path / "artifacts"
        )
        assert settings.exchange_api_override == peers.exchange.url
        database = Database(database_url)
        try:
            summary = demo.run_pipeline(database, settings, peers, pairs=5, train_bars=1000)
        finally:
            database.dispose()
    walk = demo.CATCH_UP_BARS + 1
    assert [step.job for step in summary.steps] == [
        "discover_watchlist",
        "fetch_news",
        "analyze_news",
        "train_missing",
        *["make_signals"] * walk,
        "build_report",
    ]
    assert all(step.status == "ok" for step in summary.steps), [s.error for s in summary.steps]
    assert summary.started_at == FROZEN_AT - timedelta(minutes=15 * demo.CATCH_UP_BARS - 1)
    assert len(summary.watchlist) == 5
    assert {"bybit SOL/USDT", "bybit XRP/USDT", "bybit DOGE/USDT"} <= set(summary.watchlist)
    assert summary.steps[1].stats["new"] > 0 and summary.steps[2].stats["analyzed"] > 0
    assert summary.steps[3].stats["trained"] == 5
    learnable = {m["symbol"]: m for m in summary.models if m["symbol"].split("/")[0] in CYCLE_BASES}
    assert len(learnable) == 3 and all(
        m["status"] == "ok" and m["test_auc"] > 0.7 for m in learnable.values()
    )
    assert summary.signals["events"] == 5 * walk  # one per pair and bar close
    assert summary.signals["buy"] >= 1 and summary.signals["blocked"] >= 1
    assert summary.orders["buy"] == summary.signals["buy"]  # every final BUY is paper-traded
    assert summary.orders["sell"] >= 1  # exited after horizon_steps bars
    # The demo profile notifies every BUY, vetoed ones included, and no FLAT; the training run sends
    # its summary.
    assert summary.telegram_messages == summary.signals["buy"] + summary.signals["blocked"] + 1
    report = summary.steps[-1]
    assert report.job == "build_report" and report.status == "ok"
    assert report.stats["path"] == f"reports/daily_{report.stats['date']}_en.html"
    assert (settings.artifacts_dir / report.stats["path"]).exists()
    assert summary.equity["equity"] > 0
    lines = demo.summary_lines(summary, settings, dashboard_url="http://127.0.0.1:8501")
    assert f"telegram: {summary.telegram_messages} messages delivered to the demo chat 424242" in lines
    assert "make_signals   ok" in "\n".join(lines) and "dashboard: http://127.0.0.1:8501" in lines
    assert any("/report/latest" in line for line in lines)


def test_demo_keeps_its_own_database_unless_told_otherwise(make_settings) -> None:
    with demo.running_peers() as peers:
        default = demo.demo_settings(make_settings(database_url="sqlite:///./data/myassistant.db"), peers)
        chosen = demo.demo_settings(make_settings(database_url="sqlite:///./data/mine.db"), peers)
    assert default.database_url == demo.DEMO_DATABASE
    assert chosen.database_url == "sqlite:///./data/mine.db"
    assert default.news_feeds == peers.news_feeds and default.telegram_api_base == peers.telegram.url


@pytest.mark.slow
@pytest.mark.skipif(using_postgres(), reason="the demo's own database is SQLite")
def test_demo_command_runs_the_pipeline_then_serves_the_api_and_the_dashboard(tmp_path) -> None:
    port, dashboard_port = free_port(), free_port()
    command = ("demo", "--port", str(port), "--pairs", "1", "--dashboard-port", str(dashboard_port))
    with serving_cli(
        *command, port=port, cwd=tmp_path, start_timeout_s=120, poll_s=0.5, stop_timeout_s=30
    ) as demo_process:
        events = httpx.get(f"http://127.0.0.1:{port}/signals/recent").json()
        assert len(events) == demo.CATCH_UP_BARS + 1  # one pair, every bar close of the walk
        assert (tmp_path / "data" / "demo.db").exists()
        deadline = time.monotonic() + 60
        health = ""
        while health != "ok" and time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{dashboard_port}/_stcore/health", timeout=1).text
            except httpx.TransportError:
                time.sleep(0.5)
        assert health == "ok"
    output = demo_process.output
    assert (
        f"telegram: {sum(e['final_signal'] == 'buy' or e['blocked'] for e in events) + 1} messages delivered"
        in output
    )
    assert "make_signals   ok" in output and "build_report   ok" in output
    assert f"dashboard: http://127.0.0.1:{dashboard_port}" in output
    with pytest.raises(httpx.TransportError):  # stopped with the demo
        httpx.get(f"http://127.0.0.1:{dashboard_port}/_stcore/health", timeout=1)
