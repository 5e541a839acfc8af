"""`myassistant fetch-news`, `analyze-news` and `peer news`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from myassistant.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.delenv("API_TOKEN", raising=False)


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
