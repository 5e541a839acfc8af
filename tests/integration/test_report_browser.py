"""The daily report in a real headless browser: it renders offline from the file alone."""

from __future__ import annotations

import shutil
from pathlib import Path

from myassistant.reports import service
from tests.fixtures.browser import assert_not_blank
from tests.fixtures.report import REPORT_DAY, SCRIPT_HEADLINE, seed_report_day

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "report.png"


def test_the_report_renders_from_its_file_alone_in_chromium(
    browser, database, settings, frozen_clock, tmp_path
) -> None:
    seed_report_day(database, settings, frozen_clock)
    built = service.build(database, settings=settings, day=REPORT_DAY, lang="en")
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(built.path.as_uri(), wait_until="load")
        assert requested == [built.path.as_uri()]  # no script, stylesheet, font or image from anywhere
        titles = page.locator("section > h2").all_inner_texts()
        assert titles == [
            "Summary",
            "News",
            "Markets",
            "Signals",
            "Paper account",
            "Models",
            "Replays",
            "Jobs and feeds",
        ]
        assert page.get_by_text(SCRIPT_HEADLINE, exact=True).is_visible()  # the markup shows as text
        assert page.locator("#replays tr").count() == 3  # the what-if: a header, both sides
        assert page.locator("svg.chart").count() == 4 and page.locator("svg.spark").count() == 2
        assert page.locator("svg.chart").first.bounding_box()["height"] > 100
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    assert_not_blank(shot)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
