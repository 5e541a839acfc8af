"""The product's job table: every schedule is a valid trigger that fires when SPEC §13 says."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.triggers.cron import CronTrigger

from myassistant.catalog import action_table, job_table, task_table

NOW = datetime(2026, 1, 15, 12, 0, 5, tzinfo=UTC)


def test_each_job_fires_at_its_documented_time() -> None:
    next_fire = {
        job.name: CronTrigger(**job.trigger_args, timezone=UTC).get_next_fire_time(None, NOW)
        for job in job_table().all()
    }
    assert next_fire == {
        "discover_watchlist": datetime(2026, 1, 16, 0, 30, tzinfo=UTC),
        "fetch_news": datetime(2026, 1, 15, 12, 10, tzinfo=UTC),
        "analyze_news": datetime(2026, 1, 15, 12, 2, tzinfo=UTC),
        "fetch_prices": datetime(2026, 1, 15, 12, 0, 20, tzinfo=UTC),  # 20 s after the 15-minute close
        "make_signals": datetime(2026, 1, 15, 12, 0, 40, tzinfo=UTC),  # after fetch_prices
        "train_models": datetime(2026, 1, 16, 2, 0, tzinfo=UTC),
        "build_report": datetime(2026, 1, 16, 0, 50, tzinfo=UTC),  # the previous UTC day's report
        "check_alerts": datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC),
    }
    assert {job.trigger for job in job_table().all()} == {"cron"}


def test_actions_and_cli_tasks_are_never_scheduled() -> None:
    assert action_table().names() == ["signal_once", "scan_watchlist", "train_missing", "replay"]
    assert task_table().names() == ["build_dataset", "train"]
    assert not set(job_table().names()) & {*action_table().names(), *task_table().names()}
