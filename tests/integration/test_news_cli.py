"""`myassistant fetch-news`, `analyze-news` and `peer news`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from myassistant.cli import app
from myassistant.core.locks import held_lock
from myassistant.jobs.runner import JobLocks
from myassistant.jobs.tables import JobRun
from tests.factories import job_runs

runner = CliRunner()


def test_fetch_then_analyze_from_the_command_line(cli_env, news_peer_urls) -> None:
    fetched = runner.invoke(app, ["fetch-news", "--feed", news_peer_urls.url("ru-1251"), "--limit", "3"])
    assert fetched.exit_code == 0, fetched.output
    assert "3 new, 0 duplicate, 0 not modified, 0 failed" in fetched.output

    analyzed = runner.invoke(app, ["analyze-news", "--batch-size", "2"])
    assert analyzed.exit_code == 0, analyzed.output
    assert "3 analyzed in 2 batches" in analyzed.output and "ru" in analyzed.output

    again = runner.invoke(app, ["analyze-news"])
    assert "0 analyzed" in again.output


def test_fetch_news_reports_failing_feeds(cli_env, news_peer_urls) -> None:
    result = runner.invoke(app, ["fetch-news", "--feed", news_peer_urls.url("error")])
    assert result.exit_code == 0, result.output
    assert "HTTP 500" in result.output and "1 failed" in result.output


def test_fetch_news_refuses_a_non_http_feed(cli_env) -> None:
    result = runner.invoke(app, ["fetch-news", "--feed", "file:///etc/passwd"])
    assert result.exit_code == 2
    assert "file:///etc/passwd" in result.output


def test_peer_news_command_is_registered() -> None:
    result = runner.invoke(app, ["peer", "news", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


def test_news_commands_are_recorded_as_clijob_runs(cli_env, database, news_peer_urls) -> None:
    feed = news_peer_urls.url("ru-1251")
    assert runner.invoke(app, ["fetch-news", "--feed", feed, "--limit", "2"]).exit_code == 0
    assert runner.invoke(app, ["analyze-news"]).exit_code == 0
    assert job_runs(database) == [("fetch_news", "cli", "ok"), ("analyze_news", "cli", "ok")]
    with database.session(write=False) as session:
        fetched = session.scalars(select(JobRun).where(JobRun.job == "fetch_news")).one()
    assert [(r["url"], r["status"], r["new"]) for r in fetched.stats["results"]] == [(feed, "ok", 2)]


@pytest.mark.parametrize(("command", "job"), [("fetch-news", "fetch_news"), ("analyze-news", "analyze_news")])
def test_a_news_command_while_its_job_runs_answers_already_running(
    cli_env, database, settings, command, job
) -> None:
    with held_lock(JobLocks(database, settings).for_job(job)) as got:
        assert got
        result = runner.invoke(app, [command])
    assert result.exit_code == 1
    assert f"job {job!r} is already running" in result.output
    assert job_runs(database) == []
