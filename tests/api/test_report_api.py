"""The Report endpoints: build through the job runner, read the HTML, list the records; bad dates refused."""

from __future__ import annotations

import hashlib
from typing import cast

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import job_runs


def test_post_report_daily_builds_yesterday_through_the_runner(
    client: TestClient, database, settings, frozen_clock
) -> None:
    response = client.post("/report/daily")
    assert response.status_code == 200, response.text
    record = response.json()
    assert (record["date"], record["lang"]) == ("2026-01-14", "en")
    assert record["path"] == "reports/daily_2026-01-14_en.html"
    content = (settings.artifacts_dir / record["path"]).read_bytes()
    assert record["size"] == len(content) and record["sha256"] == hashlib.sha256(content).hexdigest()
    assert job_runs(database) == [("build_report", "api", "ok")]
    runs = client.get("/automation/runs", params={"job": "build_report"}).json()
    assert record["job_run_id"] == runs[0]["id"]


def test_get_report_answers_the_html_by_date_and_latest(client: TestClient, frozen_clock) -> None:
    assert client.post("/report/daily", json={"date": "2026-01-13", "lang": "ru"}).status_code == 200
    assert client.post("/report/daily", json={"date": "2026-01-12"}).status_code == 200

    latest = client.get("/report/latest", params={"lang": "ru"})
    assert latest.status_code == 200 and latest.headers["content-type"].startswith("text/html")
    assert "Дневной отчёт · 2026-01-13" in latest.text
    assert "Daily report · 2026-01-12" in client.get("/report/latest").text  # UI_LANG: en
    by_date = client.get("/report/2026-01-13", params={"lang": "ru"})
    assert by_date.status_code == 200 and by_date.text == latest.text
    listed = client.get("/reports").json()
    assert [(r["date"], r["lang"]) for r in listed] == [("2026-01-13", "ru"), ("2026-01-12", "en")]
    assert set(listed[0]) == {"id", "date", "lang", "path", "size", "sha256", "created_at", "job_run_id"}


def test_a_day_never_built_is_404(client: TestClient, frozen_clock) -> None:
    assert client.get("/report/latest").status_code == 404
    assert client.post("/report/daily", json={"date": "2026-01-13"}).status_code == 200
    missing = client.get("/report/2026-01-12")
    assert missing.status_code == 404 and "POST /report/daily" in missing.json()["detail"]
    assert client.get("/report/2026-01-13", params={"lang": "ru"}).status_code == 404
    assert client.get("/report/latest", params={"lang": "ru"}).status_code == 404


def test_future_malformed_and_ancient_dates_are_422_naming_the_field(
    client: TestClient, frozen_clock
) -> None:
    for path in ("/report/2026-01-16", "/report/yesterday", "/report/2026-02-30", "/report/0001-01-01"):
        response = client.get(path)
        assert response.status_code == 422, path
        assert [e["field"] for e in response.json()["errors"]] == ["path.date"], path
    future = client.post("/report/daily", json={"date": "2026-01-16"})
    assert future.status_code == 422 and "body.date" in future.json()["detail"]
    assert "in the future" in future.json()["detail"]
    bad = client.post("/report/daily", json={"date": "14.01.2026", "lang": "de", "extra": 1})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"body.date", "body.lang", "body.extra"}
    assert client.get("/report/2026-01-14", params={"lang": "de"}).status_code == 422
    assert client.post("/report/daily", json={"date": "2026-01-15"}).status_code == 200  # today is fine


def test_a_build_while_one_runs_is_409(client: TestClient, frozen_clock) -> None:
    lock = cast(FastAPI, client.app).state.job_locks.for_job("build_report")
    assert lock.acquire()
    try:
        response = client.post("/report/daily")
    finally:
        lock.release()
    assert response.status_code == 409 and "already running" in response.json()["detail"]


def test_build_report_runs_through_automation_with_its_params(client: TestClient, frozen_clock) -> None:
    outcome = client.post("/automation/run", json={"job": "build_report", "date": "2026-01-10", "lang": "ru"})
    assert outcome.status_code == 200
    body = outcome.json()
    assert body["status"] == "ok" and body["stats"]["path"] == "reports/daily_2026-01-10_ru.html"
    assert "telegram" not in body["stats"]  # Telegram gets the scheduled build only
    refused = client.post("/automation/run", json={"job": "build_report", "date": "2030-01-01"})
    assert refused.status_code == 422 and "date" in refused.json()["detail"]
    status = {job["name"]: job for job in client.get("/automation/status").json()["jobs"]}
    assert status["build_report"]["schedule"] == "cron(hour=0, minute=50)"


def test_a_build_that_cannot_write_its_file_is_a_recorded_failure(
    make_settings, database, tmp_path, frozen_clock
) -> None:
    from myassistant.api.app import create_app

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the artifacts folder should be", encoding="utf-8")
    with TestClient(create_app(make_settings(artifacts_dir=blocked), database=database)) as client:
        response = client.post("/report/daily")
        assert response.status_code == 500
        body = response.json()
        assert body["detail"].startswith("the report build failed: ") and body["run_id"] >= 1
        [run] = client.get("/automation/runs", params={"job": "build_report"}).json()
        assert (run["id"], run["status"]) == (body["run_id"], "error")
        assert client.get("/reports").json() == []
