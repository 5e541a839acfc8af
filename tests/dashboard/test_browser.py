"""The real `myassistant dashboard` (streamlit run) in a real browser (Playwright on Debian's chromium),
against the live API over the demo's data: Overview, a job started from it, Markets & signals, the
demo's report in its sandboxed frame, and a replay of the demo's learnable pair.

Screenshots are checked not to be blank; with DASHBOARD_SCREENSHOTS=<folder> they are also copied
there (docs/screenshots/ holds the README's).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from myassistant import demo
from myassistant.core.db import Database
from myassistant.peers.server import free_port
from tests.fixtures.browser import assert_not_blank
from tests.fixtures.cli_process import DROPPED_ENV
from tests.fixtures.dashboard import LiveApi, forget_cached_reads, live_api

START_TIMEOUT_S = 60
SCREEN = {"width": 1400, "height": 1100}
TALL = {"width": 1400, "height": 1750}


@pytest.fixture
def demo_api(make_settings, database_url, tmp_path, frozen_clock) -> Iterator[LiveApi]:
    """The demo pipeline's data (BTC, ETH and the learnable SOL) served by a live API, the peers up."""
    with demo.running_peers() as peers:
        settings = demo.demo_settings(
            make_settings(), peers, database_url=database_url, artifacts_dir=tmp_path / "artifacts"
        )
        database = Database(database_url)
        try:
            demo.run_pipeline(database, settings, peers, pairs=3, train_bars=1000)
            forget_cached_reads()
            with live_api(settings, database) as api:
                yield api
        finally:
            database.dispose()


@pytest.fixture
def dashboard_url(demo_api: LiveApi, tmp_path: Path) -> Iterator[str]:
    """`myassistant dashboard --port P --api URL` in its own process, until Streamlit answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    process = subprocess.Popen(
        [sys.executable, "-m", "myassistant.cli", "dashboard", "--port", str(port), "--api", demo_api.url],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
        assert "Traceback" not in output, output


def _shot(page, name: str, folder: Path) -> Path:
    path = folder / f"dashboard_{name}.png"
    page.screenshot(path=str(path))
    assert_not_blank(path)
    wanted = os.environ.get("DASHBOARD_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(wanted) / path.name)
    return path


def _last_run(page, job: str) -> str:
    """The "Last run" cell (#id) of a job's row in Overview's jobs table."""
    row = page.locator("table tr", has=page.locator("td", has_text=re.compile(f"^{job}$"))).first
    return row.locator("td").nth(2).inner_text()


def _replay_of_the_learnable_pair(api: LiveApi) -> dict[str, Any]:
    """A fixed replay of SOL's demo model from the first bar it may decide to now, with a what-if
    (the risk policy off), through POST /replay; the first, refused request names that bar."""
    [run] = [r for r in _get(api, "/model/runs", symbol="SOL/USDT") if r["status"] == "succeeded"][:1]
    body = {
        "pairs": [{"symbol": "SOL/USDT"}],
        "mode": "fixed",
        "run_id": run["id"],
        "n_jobs": 1,
        "compare": {"risk_policy": {"enabled": False}},
        "start": "2020-01-01T00:00:00Z",
    }
    refused = httpx.post(f"{api.url}/replay", json=body, timeout=120)
    assert refused.status_code == 422, refused.text
    answer = httpx.post(
        f"{api.url}/replay", json=body | {"start": refused.json()["first_allowed_bar"]}, timeout=300
    )
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text
    return dict(answer.json())


def _get(api: LiveApi, path: str, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(f"{api.url}{path}", params=params, timeout=60)
    response.raise_for_status()
    return list(response.json())


@pytest.mark.slow
def test_the_dashboard_in_a_browser_runs_a_job_charts_a_pair_and_shows_a_replay_and_a_report(
    browser, dashboard_url, demo_api, tmp_path
) -> None:
    page = browser.new_page(viewport=SCREEN)
    try:
        page.goto(dashboard_url)
        page.get_by_role("heading", name="Overview", exact=True).wait_for(timeout=30_000)
        page.get_by_text(re.compile(r"Today's signals \(\d+\)")).wait_for(timeout=30_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        before = _last_run(page, "analyze_news")
        assert re.fullmatch(r"#\d+", before)
        _shot(page, "overview", tmp_path)

        job = page.get_by_role("combobox", name="Job")
        job.scroll_into_view_if_needed()
        job.click()
        job.press_sequentially("analyze_news")
        page.get_by_role("option").filter(has_text=re.compile("^analyze_news$")).wait_for(timeout=30_000)
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Run now").click()
        page.get_by_text("analyze_news started; follow it on the Automation page.").wait_for(timeout=30_000)
        deadline = time.monotonic() + 30
        while _last_run(page, "analyze_news") == before and time.monotonic() < deadline:
            page.reload()
            page.get_by_role("heading", name="Overview", exact=True).wait_for(timeout=30_000)
            page.locator("table").first.wait_for(timeout=30_000)
        after = _last_run(page, "analyze_news")
        runs = httpx.get(f"{demo_api.url}/automation/runs", params={"job": "analyze_news"}).json()
        assert after == f"#{runs[0]['id']}" != before and runs[0]["source"] == "api"

        page.goto(f"{dashboard_url}/markets?pair=bybit%20SOL/USDT")  # the learnable pair, not the first
        page.get_by_role("heading", name="Markets & signals", exact=True).wait_for(timeout=30_000)
        chart = page.locator(".js-plotly-plot").first
        chart.wait_for(timeout=30_000)
        chart.locator(".gtitle", has_text="bybit SOL/USDT 15m").wait_for(timeout=30_000)
        chart.locator(".legendtext", has_text="BUY blocked").wait_for(timeout=30_000)
        assert chart.locator("g.trace.boxes, g.trace.ohlc, .candlestick, g.boxlayer g.trace").count() >= 1
        page.get_by_text("Why this signal").wait_for(timeout=30_000)
        _shot(page, "markets", tmp_path)

        for name, heading in (
            ("automation", "Automation"),
            ("models", "Models"),
            ("trading", "Paper trading"),
        ):
            page.goto(f"{dashboard_url}/{name}")
            page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=30_000)
            page.locator("[data-testid='stDataFrame'], [data-testid='stTable']").first.wait_for(
                timeout=30_000
            )
            _shot(page, name, tmp_path)

        # The demo's report inside its sandboxed frame (a frame in Streamlit's frame).
        page.goto(f"{dashboard_url}/reports")
        page.get_by_role("heading", name="Reports", exact=True).wait_for(timeout=30_000)
        report = page.frame_locator("iframe").first.frame_locator("iframe[sandbox]")
        report.get_by_role("heading", name="Paper account").first.wait_for(timeout=30_000)
        _shot(page, "reports", tmp_path)

        replay = _replay_of_the_learnable_pair(demo_api)
        page.set_viewport_size(TALL)  # its figures, the equity curves and the trades in one picture
        page.goto(f"{dashboard_url}/replay")
        page.get_by_role("heading", name="Replay", exact=True).wait_for(timeout=30_000)
        charts = page.locator(".js-plotly-plot")
        charts.nth(1).wait_for(timeout=30_000)
        for name in ("A: as replayed", "B: what-if", "Buy-and-hold"):
            charts.nth(0).locator(".legendtext", has_text=name).wait_for(timeout=30_000)
        charts.nth(1).locator(".gtitle", has_text="bybit SOL/USDT 15m").wait_for(timeout=30_000)
        if replay["metrics"]["trades"]:
            charts.nth(1).locator(".legendtext", has_text="BUY (entry)").wait_for(timeout=30_000)
        figure = page.get_by_test_id("stMetric").filter(has_text="Return after costs").first
        assert f"{replay['metrics']['total_return'] * 100:+.2f}%" in figure.inner_text().splitlines()
        _shot(page, "replay", tmp_path)
    finally:
        page.close()
