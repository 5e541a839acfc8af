"""`myassistant report`: builds through the jobs runner, prints the file, opens it when asked."""

from __future__ import annotations

import webbrowser
from pathlib import Path

from typer.testing import CliRunner

from myassistant.cli import app
from tests.factories import job_runs

runner = CliRunner()


def test_report_builds_the_day_in_the_language_asked_and_opens_it(
    cli_env, database, tmp_path: Path, frozen_clock, monkeypatch
) -> None:
    opened: list[str] = []

    def open_in_browser(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", open_in_browser)
    result = runner.invoke(app, ["report", "--date", "2026-01-13", "--lang", "ru", "--open"])
    assert result.exit_code == 0, result.output
    path = (tmp_path / "artifacts" / "reports" / "daily_2026-01-13_ru.html").resolve()
    assert "Дневной отчёт · 2026-01-13" in path.read_text(encoding="utf-8")
    assert str(path) in result.output.replace("\n", "")
    assert opened == [path.as_uri()]
    assert job_runs(database) == [("build_report", "cli", "ok")]


def test_report_defaults_to_yesterday_and_does_not_open_a_browser(
    cli_env, tmp_path: Path, frozen_clock, monkeypatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda url: (_ for _ in ()).throw(AssertionError(url)))
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "artifacts" / "reports" / "daily_2026-01-14_en.html").exists()


def test_report_refuses_a_future_or_malformed_date_before_any_work(cli_env, database, frozen_clock) -> None:
    for date in ("2026-01-16", "14/01/2026"):
        result = runner.invoke(app, ["report", "--date", date])
        assert result.exit_code == 2, result.output
        assert "date" in result.output
    assert runner.invoke(app, ["report", "--lang", "fr"]).exit_code == 2
    assert job_runs(database) == []
