"""The demo pipeline end to end against the three local peers (exchange, news, Telegram)."""

from __future__ import annotations

import httpx
import pytest

from myassistant import demo
from myassistant.core.db import Database
from myassistant.peers.server import free_port
from tests.conftest import using_postgres
from tests.fixtures.cli_process import serving_cli


@pytest.mark.slow
def test_demo_runs_every_step_against_the_peers(make_settings, database_url, tmp_path) -> None:
    with demo.running_peers() as peers:
        settings = demo.demo_settings(
            make_settings(), peers, database_url=database_url, artifacts_dir=tmp_path / "artifacts"
        )
        assert settings.exchange_api_override == peers.exchange.url
        database = Database(database_url)
        try:
            summary = demo.run_pipeline(database, settings, peers, pairs=2, train_bars=600)
        finally:
            database.dispose()
    assert [step.job for step in summary.steps] == [
        "discover_watchlist",
        "fetch_news",
        "analyze_news",
        "train_missing",
        "make_signals",
        "build_report",
    ]
    assert all(step.status == "ok" for step in summary.steps), [s.error for s in summary.steps]
    assert len(summary.watchlist) == 2
    assert summary.steps[1].stats["new"] > 0 and summary.steps[2].stats["analyzed"] > 0
    assert summary.steps[3].stats["trained"] == 2
    assert summary.signals["events"] == 2
    # The demo profile notifies every signal; the training run sends its summary.
    assert summary.telegram_messages == 3
    assert summary.equity["equity"] > 0
    report = summary.steps[5].stats
    assert report["path"] == f"reports/daily_{report['date']}_en.html"
    assert (settings.artifacts_dir / report["path"]).exists()
    lines = demo.summary_lines(summary, settings)
    assert any("telegram: 3 messages" in line for line in lines)
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
def test_demo_command_runs_the_pipeline_then_serves(tmp_path) -> None:
    port = free_port()
    command = ("demo", "--port", str(port), "--pairs", "1")
    with serving_cli(
        *command, port=port, cwd=tmp_path, start_timeout_s=120, poll_s=0.5, stop_timeout_s=30
    ) as demo_process:
        events = httpx.get(f"http://127.0.0.1:{port}/signals/recent").json()
        assert len(events) == 1
        assert (tmp_path / "data" / "demo.db").exists()
        report = httpx.get(f"http://127.0.0.1:{port}/report/latest")
        assert report.status_code == 200 and "Daily report" in report.text
    output = demo_process.output
    assert "telegram: 2 messages delivered" in output  # the signal and the training summary
    assert "make_signals   ok" in output and "build_report   ok" in output
