"""Every page of the dashboard (Streamlit AppTest) against the live API over a seeded database.

Each test reads what the page shows and compares it with what the API answers for the same data.
"""

from __future__ import annotations

import base64
import html
import json
import time
from datetime import date, datetime
from typing import Any

import httpx
import numpy as np
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1.element_tree import DownloadButton, Progress

from myassistant.dashboard.views import PAGES
from myassistant.dashboard.widgets import number, percent, share
from tests.fixtures.dashboard import SEEDED_TOKEN, forget_cached_reads, live_api, open_page, texts_of

# A page reads at most this many endpoints in one run (its docstring lists them).
MAX_READS_PER_PAGE = 6


def _get(api, path: str, **params: Any) -> Any:
    response = httpx.get(api.url + path, params=params)
    response.raise_for_status()
    return response.json()


def _plotly(app, index: int = 0) -> dict[str, Any]:
    return json.loads(app.get("plotly_chart")[index].proto.spec)


def _values(array: Any) -> list[Any]:
    """A plotly array as a list: plain JSON, or numpy's bytes in base64 (plotly's `bdata`)."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _traces(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {trace.get("name", trace["type"]): trace for trace in figure["data"]}


def _table(app, column: str, nth: int = 0):
    """The `nth` table on the page that has `column`."""
    return [table.value for table in [*app.dataframe, *app.table] if column in table.value.columns][nth]


def _wait_for(condition, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


# --- Overview ------------------------------------------------------------------------------------


def test_overview_shows_the_account_todays_signals_models_scheduler_and_problems(api) -> None:
    app = open_page(api)
    assert not app.exception
    assert api.reads() == [
        "/model/health",
        "/time",
        "/trade/equity",
        "/signals/recent",
        "/trade/orders",
        "/automation/status",
    ]
    equity = _get(api, "/trade/equity")
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Equity (USDT)"] == number(equity["equity"])
    assert metrics["Open positions"] == str(equity["open_positions"]) == "1"
    assert (metrics["BUYs today"], metrics["Blocked BUYs today"]) == ("1", "1")
    today = _table(app, "Signal")
    assert list(today["Signal"]) == ["FLAT", "BUY blocked", "FLAT", "BUY"]
    assert list(today["Pair"]) == ["ETH/USDT", "BTC/USDT", "ETH/USDT", "BTC/USDT"]
    assert list(today["Probability"]) == pytest.approx([0.3, 0.8, 0.3, 0.8])
    health = _table(app, "Age (days)")
    assert list(health["Pair"]) == ["BTC/USDT", "ETH/USDT"] and set(health["Status"]) == {"ok"}
    jobs = _table(app, "Next run (UTC)")
    status = _get(api, "/automation/status")
    assert list(jobs["Job"]) == [job["name"] for job in status["jobs"]]
    shown = texts_of(app)
    assert "Scheduler: off in the service (SCHEDULER_ENABLED=0)." in shown
    assert "Job fetch_news failed on its last run: all 5 feeds failed: feed.test: timed out" in shown
    curve = _traces(_plotly(app))
    assert _values(curve["Equity now (marked to market)"]["y"]) == [pytest.approx(equity["equity"])]
    assert not [b for b in app.button if b.key in ("overview:discover", "overview:train")]  # models exist


def test_overview_offers_discovery_and_training_while_nothing_is_trained(
    database, peer_settings, mid_bar_clock
) -> None:
    with live_api(peer_settings, database) as empty:
        app = open_page(empty)
        assert "No model is trained yet (0 watchlist pairs)" in texts_of(app)
        app.button(key="overview:discover").click().run()
        assert "discover_watchlist started; follow it on the Automation page." in texts_of(app)
        assert ("POST", "/automation/run") in empty.calls
        runs = _wait_for(
            lambda: [
                r for r in _get(empty, "/automation/runs", job="discover_watchlist") if r["status"] == "ok"
            ]
        )
        assert runs and runs[0]["source"] == "api"
        assert len(_get(empty, "/watchlist")) == 20
        assert app.button(key="overview:train") is not None


def test_overview_run_now_starts_the_chosen_job(api) -> None:
    app = open_page(api)
    app.selectbox(key="overview:job").select("analyze_news").run()
    app.button(key="overview:run").click().run()
    assert "analyze_news started; follow it on the Automation page." in texts_of(app)
    runs = _wait_for(
        lambda: [r for r in _get(api, "/automation/runs", job="analyze_news") if r["status"] == "ok"]
    )
    assert runs[0]["source"] == "api"


# --- Markets & signals ---------------------------------------------------------------------------


def test_markets_chart_marks_buys_vetoes_and_flats_and_explains_the_chosen_signal(api, seeded) -> None:
    app = open_page(api, "markets")
    assert not app.exception
    assert api.reads() == ["/watchlist", "/prices/latest", "/signals/recent"]
    assert app.selectbox(key="markets:pair").value == "bybit BTC/USDT"
    figure = _plotly(app)
    traces = _traces(figure)
    assert set(traces) == {"Price", "BUY", "BUY blocked", "Probability", "Threshold"}
    bars = _get(api, "/prices/latest", symbol="BTC/USDT", limit=192)["bars"]
    assert len(traces["Price"]["x"]) == len(bars) == 192
    bought, blocked = seeded["bought"].event, seeded["blocked"].event
    assert _values(traces["BUY"]["customdata"]) == [bought.id]
    assert _values(traces["BUY blocked"]["customdata"]) == [blocked.id]
    assert _values(traces["Probability"]["y"]) == pytest.approx([0.8, 0.8])
    # The newest signal is chosen first: the vetoed BUY, with the filter that vetoed it.
    shown = texts_of(app)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Signal"] == "BUY blocked" and metrics["Forward return after costs"] == "not known yet"
    assert metrics["Probability"] == "0.800" and metrics["Threshold"] == "0.500"
    assert "Blocked by 1 filter(s):" in shown
    reasons = _table(app, "Filter")
    [reason] = blocked.note["risk"]["reasons"]
    assert list(reasons["Filter"]) == ["cooldown_minutes"] == [reason["filter"]]
    assert list(reasons["Limit"]) == [60] and list(reasons["Metric"]) == [reason["value"]] == [15.0]
    # Choosing the traded BUY shows its own explanation.
    app.selectbox(key="markets:signal").select(bought.id).run()
    shown = texts_of(app)
    assert {metric.label: metric.value for metric in app.metric}["Signal"] == "BUY"
    assert "Every filter passed." in shown
    features = _table(app, "Feature")
    top = bought.note["explanation"]["top_features"]
    assert list(features["Feature"]) == [row["feature"] for row in top] and len(top) > 0
    headlines = bought.note["explanation"]["headlines"]
    assert headlines and all(headline["title"] in shown for headline in headlines)


def test_markets_shows_flats_for_the_other_pair(api) -> None:
    app = open_page(api, "markets")
    app.selectbox(key="markets:pair").select("bybit ETH/USDT").run()
    traces = _traces(_plotly(app))
    assert set(traces) == {"Price", "FLAT", "Probability", "Threshold"}
    assert len(_values(traces["FLAT"]["x"])) == 2
    assert {metric.label: metric.value for metric in app.metric}["Signal"] == "FLAT"
    assert "A FLAT signal is never filtered." in texts_of(app)


# --- News ----------------------------------------------------------------------------------------


def test_news_lists_searches_and_filters_articles_and_shows_a_refused_filter(api) -> None:
    app = open_page(api, "news")
    annotated = _get(api, "/news/annotated", limit=500)
    assert f"{len(annotated)} articles (the newest 500 at most)." in texts_of(app) and annotated
    assert list(_table(app, "Title")["Title"]) == [a["title"] for a in annotated]
    assert len(app.get("plotly_chart")) == 2
    volume = _plotly(app, 1)["data"][0]
    assert sum(_values(volume["y"])) == len(annotated)
    app.text_input(key="news:tag").input("BTC").run()
    tagged = _get(api, "/news/by_tag", tag="BTC", limit=500)
    assert tagged and list(_table(app, "Title")["Title"]) == [a["title"] for a in tagged]
    app.text_input(key="news:tag").input("no such tag!").run()
    [error] = app.error
    assert error.value.startswith("The service refused (422): invalid request: query.tag")
    app.text_input(key="news:tag").input("").run()
    app.text_input(key="news:q").input("bitcoin").run()
    hits = _get(api, "/news/search", q="bitcoin", limit=100)
    assert hits and list(_table(app, "Title")["Title"]) == [h["title"] for h in hits]


# --- Models --------------------------------------------------------------------------------------


def test_models_lists_health_runs_promotions_and_pins_after_a_confirmation(api) -> None:
    app = open_page(api, "models")
    assert not app.exception
    runs = _get(api, "/model/runs")
    assert list(_table(app, "Chosen by")["Status"]) == ["ok", "ok"]
    assert list(_table(app, "Test return")["Run"]) == [r["id"] for r in runs]
    assert list(_table(app, "Action")["Action"]) == ["promoted", "promoted"]
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {
        "Pinned": "—",
        "Promoted": f"#{runs[-1]['id']}",
        "Newest": f"#{runs[-1]['id']}",
        "Signals use": f"#{runs[-1]['id']}",
    }
    app.button(key="models:pin").click().run()
    assert f"Pin run #{runs[-1]['id']} for BTC/USDT?" in texts_of(app)
    assert not [call for call in api.calls if call[0] == "POST"]  # nothing changes before "yes"
    app.button(key="models:pin:yes").click().run()
    assert f"Run #{runs[-1]['id']} pinned." in texts_of(app)
    active = _get(api, "/model/active", symbol="BTC/USDT")
    assert active["pinned_run"]["id"] == runs[-1]["id"] and active["effective_source"] == "pin"
    app.button(key="models:rollback").click().run()
    app.button(key="models:rollback:yes").click().run()
    [error] = app.error
    assert error.value.startswith("The service refused (412):")


# --- Paper trading -------------------------------------------------------------------------------


def test_trading_shows_the_account_closes_a_position_and_resets_after_a_confirmation(api) -> None:
    app = open_page(api, "trading")
    equity = _get(api, "/trade/equity")
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Cash"] == number(equity["cash"]) and metrics["Equity (USDT)"] == number(equity["equity"])
    positions = _table(app, "Market value")
    assert list(positions["Pair"]) == ["BTC/USDT"]
    assert list(positions["Quantity"]) == [p["qty"] for p in _get(api, "/trade/positions")]
    assert list(_table(app, "Side")["Side"]) == ["buy"]
    app.button(key="trading:close").click().run()
    [sell] = [o for o in _get(api, "/trade/orders") if o["side"] == "sell"]
    assert f"BTC/USDT closed; realized PnL {number(sell['realized_pnl'])}." in texts_of(app)
    assert _get(api, "/trade/positions") == []
    before = _get(api, "/trade/equity")["account_id"]
    app.button(key="trading:reset").click().run()
    app.button(key="trading:reset:yes").click().run()
    assert "New account opened with 10,000.00." in texts_of(app)
    assert _get(api, "/trade/equity")["account_id"] == before + 1


def test_broker_settings_show_the_apis_refusal_next_to_the_form_and_save_valid_values(api) -> None:
    app = open_page(api, "trading")
    fee = next(field for field in app.text_input if field.label == "fee_bps")
    assert fee.value == "10.0" or fee.value == "10"
    fee.input("a lot")
    app.button(key="FormSubmitter:trading:settings-Save").click().run()
    [error] = app.error
    assert error.value.startswith("The service refused (422): invalid request: body.fee_bps")
    next(field for field in app.text_input if field.label == "fee_bps").input("20")
    app.button(key="FormSubmitter:trading:settings-Save").click().run()
    assert "Saved (version 1)." in texts_of(app)
    assert float(_get(api, "/trade/paper/settings")["value"]["fee_bps"]) == 20


# --- Automation ----------------------------------------------------------------------------------


def test_automation_has_a_button_for_every_job_and_action_and_shows_runs(api) -> None:
    app = open_page(api, "automation")
    status = _get(api, "/automation/status")
    buttons = {button.key for button in app.button}
    assert {f"automation:job:{job['name']}" for job in status["jobs"]} <= buttons
    assert {
        "automation:action:signal_once",
        "automation:action:scan_watchlist",
        "automation:action:train_missing",
    } <= buttons
    history = _table(app, "Duration (s)")
    assert list(history["Error"])[0] == "all 5 feeds failed: feed.test: timed out"
    app.button(key="automation:job:analyze_news").click().run()
    assert "analyze_news started; follow it on the Automation page." in texts_of(app)
    assert _wait_for(
        lambda: [r for r in _get(api, "/automation/runs", job="analyze_news") if r["source"] == "api"]
    )
    # An action without its required parameter: the API's 422 is shown at its button.
    app.button(key="automation:action:signal_once").click().run()
    [error] = app.error
    assert "The service refused (422): invalid parameters: symbol" in error.value


def test_automation_shows_the_progress_a_running_job_reports(api, database, mid_bar_clock) -> None:
    from myassistant.jobs.tables import JobRun

    with database.session() as session:
        session.add(
            JobRun(
                job="train_models",
                source="scheduler",
                started_at=mid_bar_clock.now(),
                status="running",
                stats={"progress": {"done": 2, "total": 5, "label": "bybit SOL/USDT"}},
            )
        )
    app = open_page(api, "automation")
    [bar] = app.get("progress")
    assert isinstance(bar, Progress)
    assert (
        bar.value == 40
        and "train_models (scheduler, since 2026-01-15 12:20) — 2/5 bybit SOL/USDT" in bar.text
    )
    assert "Running now (1)" in texts_of(app)


# --- Settings ------------------------------------------------------------------------------------


def test_settings_edit_the_risk_policy_and_show_a_refusal_next_to_its_form(api) -> None:
    app = open_page(api, "settings")
    cooldown = next(field for field in app.text_input if field.label == "cooldown_minutes")
    assert cooldown.value == "60"
    cooldown.input("90")
    app.button(key="FormSubmitter:settings:risk-Save").click().run()
    assert _get(api, "/risk/policy")["value"]["cooldown_minutes"] == 90
    next(field for field in app.text_input if field.label == "max_vol_norm").input("calm")
    app.button(key="FormSubmitter:settings:risk-Save").click().run()
    [error] = app.error
    assert error.value.startswith("The service refused (422): invalid request: body.max_vol_norm")
    policy = _get(api, "/model/policy")["value"]
    train_bars = next(field for field in app.text_input if field.label == "train_bars")
    assert train_bars.value == str(policy["train_bars"])


def test_settings_mask_the_telegram_token_and_report_the_test_message(api) -> None:
    app = open_page(api, "settings")
    config = _get(api, "/notify/config")
    assert SEEDED_TOKEN not in texts_of(app) and all(SEEDED_TOKEN not in str(f.value) for f in app.text_input)
    assert f"A token is stored: {config['value']['token']}" in texts_of(app)
    app.button(key="settings:notify_test").click().run()
    [error] = app.error
    assert error.value.startswith("The service refused (412):") or error.value.startswith(
        "The service refused (50"
    )


def test_settings_edit_and_discover_the_watchlist(api) -> None:
    app = open_page(api, "settings")
    app.text_input(key="watchlist:add_symbols").input("SOL/USDT").run()
    app.button(key="watchlist:add").click().run()
    assert "Added: bybit:SOL/USDT." in texts_of(app)
    assert [e["symbol"] for e in _get(api, "/watchlist")] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    app.multiselect(key="watchlist:remove_pick").select("bybit ETH/USDT").run()
    app.button(key="watchlist:remove").click().run()
    assert "Removed: bybit:ETH/USDT." in texts_of(app)
    app.text_input(key="watchlist:top_n").input("5").run()
    app.button(key="watchlist:discover").click().run()
    assert "5 pairs discovered" in texts_of(app)
    assert len(_get(api, "/watchlist")) >= 5
    snapshots = _get(api, "/watchlist/snapshots")
    assert list(_table(app, "Trigger")["Trigger"]) == [s["trigger"] for s in snapshots][:10]


# --- Memory --------------------------------------------------------------------------------------


def test_memory_adds_searches_and_deletes_notes(api) -> None:
    app = open_page(api, "memory")
    assert list(_table(app, "Note")["Note"]) == ["SOL looks strong after the ETF news"]
    next(area for area in app.text_area).input("Buy the dip next week")
    app.button(key="FormSubmitter:memory:add-Add the note").click().run()
    notes = _get(api, "/memory")
    assert f"Note #{notes[0]['id']} added." in texts_of(app) and len(notes) == 2
    app.text_input(key="memory:q").input("dip").run()
    assert list(_table(app, "Note")["Note"]) == ["Buy the dip next week"]
    app.button(key="memory:delete").click().run()
    app.button(key="memory:delete:yes").click().run()
    assert [n["text"] for n in _get(api, "/memory")] == ["SOL looks strong after the ETF news"]


# --- Reports -------------------------------------------------------------------------------------


def _report_html(api, day: str, lang: str) -> str:
    response = httpx.get(f"{api.url}/report/{day}", params={"lang": lang})
    response.raise_for_status()
    return response.text


def _srcdoc(app) -> str:
    """The HTML the page put in its (outer) frame."""
    [frame] = app.get("iframe")
    return str(frame.proto.srcdoc)


def test_reports_lists_the_built_reports_and_shows_the_chosen_one_sandboxed_with_its_download(
    api, seeded
) -> None:
    app = open_page(api, "reports")
    assert not app.exception
    assert (
        {"/reports", "/report/2026-01-15"} <= set(api.reads()) <= {"/time", "/reports", "/report/2026-01-15"}
    )
    [built] = _get(api, "/reports")
    record = seeded["report"]
    assert (built["date"], built["lang"], built["size"]) == ("2026-01-15", "en", record.size)
    listed = _table(app, "Size (KB)")
    assert list(listed["Day (UTC)"]) == ["2026-01-15"] and list(listed["Language"]) == ["en"]
    assert list(listed["Size (KB)"]) == [round(record.size / 1024, 1)] and list(listed["Job run"]) == ["—"]
    assert "Built reports (1)" in texts_of(app)
    # Inline: the report in a frame of its own that may run no script and has no origin.
    document = _report_html(api, "2026-01-15", "en")
    outer = _srcdoc(app)
    assert '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox"' in outer
    assert "allow-scripts" not in outer and "allow-same-origin" not in outer
    assert f'srcdoc="{html.escape(document, quote=True)}"' in outer
    assert "Paper account" in document and "<script" not in document.lower()
    # Its download: the same bytes under the file's own name.
    [download] = app.get("download_button")
    assert isinstance(download, DownloadButton)
    expected = _calculate_file_id(document.encode("utf-8"), "text/html", "daily_2026-01-15_en.html")
    assert download.label == "Download the HTML file" and download.proto.url.endswith(f"/{expected}.html")
    # The day before yesterday was never built: the control's default day is yesterday.
    assert app.date_input(key="reports:day").value == date(2026, 1, 14)


def test_reports_build_now_builds_the_chosen_day_through_the_job_and_shows_it(api) -> None:
    app = open_page(api, "reports")
    app.date_input(key="reports:day").set_value(date(2026, 1, 14))
    app.selectbox(key="reports:lang").select("ru").run()
    app.button(key="reports:build").click().run()
    reports = _get(api, "/reports")
    assert [(r["date"], r["lang"]) for r in reports] == [("2026-01-15", "en"), ("2026-01-14", "ru")]
    built = reports[1]
    assert f"The ru report for 2026-01-14 is built ({built['size']} bytes)." in texts_of(app)
    [run] = _get(api, "/automation/runs", job="build_report")
    assert (run["id"], run["source"], run["status"]) == (built["job_run_id"], "api", "ok")
    assert list(_table(app, "Size (KB)")["Job run"]) == ["—", f"#{run['id']}"]
    # The new report is the one shown.
    assert app.selectbox(key="reports:chosen").value == "2026-01-14 ru"
    document = _report_html(api, "2026-01-14", "ru")
    assert html.escape(document, quote=True) in _srcdoc(app) and "Сводка" in document


def test_reports_show_the_apis_refusal_next_to_the_build_control_and_a_missing_file(
    api, seeded, peer_settings
) -> None:
    app = open_page(api, "reports")
    app.date_input(key="reports:day").set_value(date(2026, 1, 16))
    app.button(key="reports:build").click().run()
    [error] = app.error
    assert error.value.startswith("The service refused (422): invalid request: body.date")
    assert "2026-01-16 is in the future (today is 2026-01-15 UTC)" in error.value
    assert [r["date"] for r in _get(api, "/reports")] == ["2026-01-15"]
    # A report whose file was deleted: its 404 says how to build it again, where the report would be.
    (peer_settings.artifacts_dir / seeded["report"].path).unlink()
    forget_cached_reads()
    app = open_page(api, "reports")
    [error] = app.error
    assert error.value.startswith("The service refused (404): the en report for 2026-01-15 was built")
    assert not app.get("iframe") and not app.get("download_button")


# --- Replay --------------------------------------------------------------------------------------


def test_replay_shows_the_figures_curves_trades_and_vetoes_of_the_chosen_replay(api, seeded) -> None:
    app = open_page(api, "replay")
    assert not app.exception
    replay_id = seeded["replay"].id
    assert api.reads() == ["/watchlist", "/replays", f"/replays/{replay_id}", "/prices/latest"]
    detail = _get(api, f"/replays/{replay_id}", curve_points=2000, limit=1000)
    metrics = detail["metrics"]
    assert detail["status"] == "succeeded" and metrics["trades"] > 0 and metrics["vetoes"] > 0
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["Return after costs"] == percent(metrics["total_return"])
    assert shown["Buy-and-hold"] == percent(metrics["buy_and_hold_return"])
    assert shown["Trades"] == str(metrics["trades"]) and shown["Max drawdown"] == share(
        metrics["max_drawdown"]
    )
    listed = _table(app, "Window (UTC)")
    assert list(listed["#"]) == [replay_id] and list(listed["Status"]) == ["succeeded"]
    # Both sides' equity against buy-and-hold, which ends where the buy-and-hold figure says.
    curves = _traces(_plotly(app, 0))
    assert set(curves) == {"A: as replayed", "B: what-if", "Buy-and-hold"}
    assert _values(curves["A: as replayed"]["y"]) == pytest.approx([p["equity"] for p in detail["curve"]])
    assert _values(curves["B: what-if"]["y"]) == pytest.approx([p["equity"] for p in detail["what_if_curve"]])
    hold = _values(curves["Buy-and-hold"]["y"])
    assert hold[-1] == pytest.approx(metrics["initial_equity"] * (1 + metrics["buy_and_hold_return"]))
    assert len(hold) == detail["curve_points_total"] == len(detail["curve"])
    # The first pair's trades and vetoes on its candles over the window.
    trades = [row for row in detail["trades"] if row["symbol"] == "BTC/USDT"]
    chart = _traces(_plotly(app, 1))
    assert set(chart) == {"Price", "Round trip", "BUY (entry)", "SELL (exit)", "BUY blocked"}
    assert _values(chart["BUY (entry)"]["y"]) == pytest.approx([row["entry_price"] for row in trades])
    assert _values(chart["SELL (exit)"]["customdata"]) == pytest.approx([row["return"] for row in trades])
    start, end = (datetime.fromisoformat(detail["params"][side]) for side in ("start", "end"))
    stored = _get(api, "/prices/latest", symbol="BTC/USDT", limit=5000)["bars"]
    in_window = [b for b in stored if start <= datetime.fromisoformat(b["ts"]) <= end]
    assert len(chart["Price"]["x"]) == len(in_window) > 0
    vetoed = [row for row in detail["vetoes"] if row["symbol"] == "BTC/USDT"]
    assert len(_values(chart["BUY blocked"]["x"])) == len(vetoed)
    assert list(_table(app, "Exit")["Pair"]) == [row["symbol"] for row in detail["trades"]]
    vetoes = _table(app, "Would have earned")
    assert list(vetoes["Filter"]) == [row["filters"] for row in detail["vetoes"]]
    assert list(vetoes["Would have earned"]) == [percent(row["forward_return"]) for row in detail["vetoes"]]
    assert "cooldown_minutes" in set(vetoes["Filter"])
    # The what-if: both sides' figures and the BUYs only one of them blocked.
    sides = _table(app, "Side")
    assert list(sides["Return after costs"]) == [
        percent(metrics["total_return"]),
        percent(detail["what_if"]["b"]["total_return"]),
    ]
    only_a = detail["what_if"]["blocked_only_by_a"]
    assert (
        f"BUYs only A blocked: {only_a['count']}; they would have earned "
        f"{percent(only_a['forward_return_sum'])} in total"
    ) in texts_of(app)
    # The other pair's chart.
    app.selectbox(key="replay:pair").select("ETH/USDT").run()
    chart = _traces(_plotly(app, 1))
    eth = [row for row in detail["trades"] if row["symbol"] == "ETH/USDT"]
    assert _values(chart["BUY (entry)"]["y"]) == pytest.approx([row["entry_price"] for row in eth]) and eth


def test_replay_start_queues_a_replay_shows_it_and_then_its_results(api, seeded) -> None:
    app = open_page(api, "replay")
    app.multiselect(key="replay:pairs").select("bybit BTC/USDT")
    app.date_input(key="replay:first_day").set_value(date(2026, 1, 14))
    app.date_input(key="replay:last_day").set_value(date(2026, 1, 15))
    app.text_input(key="replay:train_bars").input("1000")
    app.text_input(key="replay:n_jobs").input("1").run()
    app.button(key="replay:start").click().run()
    [replay] = [r for r in _get(api, "/replays") if r["id"] != seeded["replay"].id]
    started = texts_of(app)
    assert app.selectbox(key="replay:chosen").value == replay["id"]
    params = replay["params"]
    assert [p["symbol"] for p in params["pairs"]] == ["BTC/USDT"] and params["train_bars"] == 1000
    assert (params["start"], params["end"]) == ("2026-01-14T00:00:00+00:00", "2026-01-15T23:59:59+00:00")
    assert params["mode"] == "walk_forward" and params["n_jobs"] == 1 and params["compare"] is None
    done = _wait_for(
        lambda: [r for r in _get(api, "/replays") if r["id"] == replay["id"] and r["status"] == "succeeded"],
        timeout_s=180,
    )
    assert done, _get(api, f"/replays/{replay['id']}")
    assert f"Replay #{replay['id']} started (job run #{done[0]['job_run_id']}); its progress" in started
    app.run()  # sees no replay job running any more: redraws itself with fresh reads
    metrics = done[0]["metrics"]
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["Return after costs"] == percent(metrics["total_return"])
    assert shown["Trades"] == str(metrics["trades"])


def test_replay_shows_the_apis_refusal_next_to_the_start_control(api, seeded) -> None:
    app = open_page(api, "replay")
    app.radio(key="replay:mode").set_value("fixed").run()
    app.button(key="replay:start").click().run()
    [error] = app.error
    assert error.value.startswith("The service refused (422):") and "run_id" in error.value
    run_id = _get(api, "/model/runs")[-1]["id"]
    app.text_input(key="replay:run_id").input(str(run_id))
    app.date_input(key="replay:first_day").set_value(date(2026, 1, 15)).run()
    app.button(key="replay:start").click().run()
    [error] = app.error
    assert error.value.startswith(f"The service refused (422): start: run {run_id} trained, validated")
    assert [r["id"] for r in _get(api, "/replays")] == [seeded["replay"].id]


def test_replay_what_if_sends_the_stored_policy_with_the_changed_fields(api, seeded) -> None:
    app = open_page(api, "replay")
    reads = len(api.reads())
    app.checkbox(key="replay:what_if").check().run()
    assert set(api.reads()[reads:]) == {"/risk/policy", "/trade/paper/settings"}
    assert app.text_input(key="replay:b:cooldown_minutes").value == "60"
    app.text_input(key="replay:b:cooldown_minutes").input("0")
    app.text_input(key="replay:b:broker:fee_bps").input("a lot").run()
    app.button(key="replay:start").click().run()
    [error] = app.error
    assert error.value.startswith("The service refused (422): invalid request: body.compare.broker.fee_bps")
    app.text_input(key="replay:b:broker:fee_bps").input("20")
    app.text_input(key="replay:n_jobs").input("1")
    app.multiselect(key="replay:pairs").select("bybit ETH/USDT")
    app.date_input(key="replay:first_day").set_value(date(2026, 1, 15))
    app.radio(key="replay:mode").set_value("walk_forward")
    app.text_input(key="replay:train_bars").input("1000").run()
    app.button(key="replay:start").click().run()
    [replay] = [r for r in _get(api, "/replays") if r["id"] != seeded["replay"].id]
    compare = replay["params"]["compare"]
    stored = _get(api, "/risk/policy")["value"]
    changed = stored | {"cooldown_minutes": 0}
    assert compare["risk_policy"] == {name: value for name, value in changed.items() if value is not None}
    assert float(compare["broker"]["fee_bps"]) == 20 and float(replay["params"]["broker"]["fee_bps"]) == 10
    assert _wait_for(
        lambda: (
            [r for r in _get(api, "/replays") if r["id"] == replay["id"] and r["status"] != "queued"]
            and not [r for r in _get(api, "/automation/runs", job="replay") if r["status"] == "running"]
        ),
        timeout_s=180,
    )


def test_replay_shows_the_progress_of_a_running_replay(api, database, mid_bar_clock, seeded) -> None:
    from myassistant.jobs.tables import JobRun
    from myassistant.replay.tables import Replay

    with database.session() as session:
        run = JobRun(
            job="replay",
            source="api",
            started_at=mid_bar_clock.now(),
            status="running",
            stats={"progress": {"done": 1, "total": 4, "label": "BTC/USDT: 2 models"}},
        )
        session.add(run)
        session.flush()
        running = Replay(
            status="running",
            mode="walk_forward",
            params=seeded["replay"].params,
            metrics={},
            job_run_id=run.id,
            created_at=mid_bar_clock.now(),
            started_at=mid_bar_clock.now(),
        )
        session.add(running)
        session.flush()
        running_id = running.id
    app = open_page(api, "replay")
    [bar] = app.get("progress")
    assert isinstance(bar, Progress)
    assert bar.value == 25 and "replay (api, since 2026-01-15 12:20) — 1/4 BTC/USDT: 2 models" in bar.text
    assert app.selectbox(key="replay:chosen").value == running_id
    assert f"Replay #{running_id} is running; its results show here when it has finished." in texts_of(app)
    assert api.reads() == ["/watchlist", "/replays", "/automation/runs"]


# --- Errors, tokens, language, bounded reads ------------------------------------------------------


@pytest.mark.parametrize("page", [spec.file.removeprefix("views/").removesuffix(".py") for spec in PAGES])
def test_every_page_shows_one_banner_when_the_api_is_down(page) -> None:
    app = open_page("http://127.0.0.1:9", page)
    assert not app.exception
    [banner] = app.error
    assert banner.value == "The service does not answer at http://127.0.0.1:9."
    assert [code.value for code in app.code] == ["make run\n# or\nmyassistant serve"]


def test_a_missing_or_wrong_token_is_named_at_the_control(database, make_settings, monkeypatch) -> None:
    settings = make_settings(api_token="the-service-token-0123456789")
    with live_api(settings, database) as guarded:
        monkeypatch.delenv("API_TOKEN", raising=False)
        app = open_page(guarded, "memory")
        next(area for area in app.text_area).input("a note")
        app.button(key="FormSubmitter:memory:add-Add the note").click().run()
        [error] = app.error
        assert error.value.startswith(
            "The service requires an API token for changes, and this dashboard has none"
        )
        monkeypatch.setenv("API_TOKEN", "not-the-service-token-000")
        app = open_page(guarded, "memory")
        next(area for area in app.text_area).input("a note")
        app.button(key="FormSubmitter:memory:add-Add the note").click().run()
        [error] = app.error
        assert error.value.startswith("The service refused this dashboard's API_TOKEN")
        assert _get(guarded, "/memory") == []


def test_the_language_starts_as_ui_lang_says(api, monkeypatch) -> None:
    monkeypatch.setenv("UI_LANG", "ru")
    app = open_page(api, "trading")
    assert app.title[0].value == "Бумажная торговля"
    assert app.sidebar.selectbox[0].value == "ru"


def test_the_language_switch_translates_the_page(api) -> None:
    app = open_page(api)
    app.sidebar.selectbox[0].select("ru").run()
    assert app.title[0].value == "Обзор"
    assert "Сигналы за сегодня (4)" in texts_of(app)


@pytest.mark.parametrize("page", [spec.file.removeprefix("views/").removesuffix(".py") for spec in PAGES])
def test_every_page_makes_a_bounded_number_of_reads(api, page) -> None:
    app = open_page(api, page)
    assert not app.exception and not [e for e in app.error if e.value.startswith("The service")]
    assert 1 <= len(api.reads()) <= MAX_READS_PER_PAGE, api.reads()
    assert len(set(api.reads())) == len(api.reads())  # nothing read twice
