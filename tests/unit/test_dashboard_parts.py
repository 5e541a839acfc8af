"""The dashboard's pure parts: texts, charts and downsampling, the connection, the Streamlit command line,
and the rule that it reaches the service only through HTTP (no domain package imported)."""

from __future__ import annotations

import re
import string
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from myassistant.core.config import Settings
from myassistant.dashboard import PACKAGE_DIR, charts, launch, texts
from myassistant.dashboard.connection import connection_from
from myassistant.dashboard.views import PAGES

KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
DYNAMIC_KEYS = {  # keys built at run time: f"signal.{kind}", f"action.{name}", f"param.{kind}"
    "signal.buy",
    "signal.blocked",
    "signal.flat",
    "action.signal_once",
    "action.scan_watchlist",
    "action.train_missing",
    "param.text",
    "param.number",
    "param.list",
}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_english_and_russian_have_the_same_keys_and_placeholders() -> None:
    assert set(texts.EN) == set(texts.RU)
    for key, english in texts.EN.items():
        assert _placeholders(english) == _placeholders(texts.RU[key]), key


def test_every_text_the_code_asks_for_exists() -> None:
    used = set(DYNAMIC_KEYS) | {spec.title for spec in PAGES}
    for path in PACKAGE_DIR.rglob("*.py"):
        used |= set(KEY_CALL.findall(path.read_text(encoding="utf-8")))
    assert used - set(texts.EN) == set()
    assert len(used) > 150


def test_translate_fills_values_and_falls_back_to_english() -> None:
    assert texts.translate("ru", "overview.today", count=3) == "Сигналы за сегодня (3)"
    assert texts.translate("de", "overview.today", count=3) == "Today's signals (3)"


def test_ohlc_downsampling_keeps_every_extreme_and_the_first_open_and_last_close() -> None:
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 10_001)))
    bars = pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-01", periods=len(close), freq="15min", tz="UTC"),
            "open": np.concatenate(([100.0], close[:-1])),
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": np.ones(len(close)),
        }
    )
    shown = charts.downsample_ohlc(bars, 2000)
    assert len(shown) <= 2000
    assert shown["high"].max() == bars["high"].max() and shown["low"].min() == bars["low"].min()
    assert shown["open"].iloc[0] == bars["open"].iloc[0] and shown["close"].iloc[-1] == bars["close"].iloc[-1]
    assert shown["volume"].sum() == len(bars)
    assert (
        charts.downsample_ohlc(bars.iloc[:100], 2000) is not None
        and len(charts.downsample_ohlc(bars.iloc[:100])) == 100
    )


def test_line_downsampling_keeps_the_shape_in_order() -> None:
    x = pd.date_range("2026-01-01", periods=50_000, freq="1min", tz="UTC")
    y = np.sin(np.arange(50_000) / 500.0)
    y[12_345] = 5.0
    shown = charts.downsample_line(pd.DataFrame({"x": x, "y": y}), "x", "y", 1000)
    assert len(shown) <= 1000
    assert shown["y"].max() == 5.0 and shown["y"].min() == y.min()
    assert shown["x"].is_monotonic_increasing


def test_realized_equity_is_exact_for_the_newest_part_of_the_ledger() -> None:
    times = pd.date_range("2026-01-01", periods=4, freq="1h", tz="UTC")
    ledger = pd.DataFrame({"id": [1, 2, 3, 4], "created_at": times, "realized_pnl": [None, 12.5, None, -2.5]})
    whole = charts.realized_equity(ledger, initial_cash=1000.0, realized_total=10.0)
    assert whole["equity"].tolist() == [1000.0, 1012.5, 1012.5, 1010.0]
    newest = charts.realized_equity(ledger.iloc[2:].iloc[::-1], initial_cash=1000.0, realized_total=10.0)
    assert newest["equity"].tolist() == [1012.5, 1010.0]


def test_market_figure_marks_each_kind_and_links_markers_to_their_events() -> None:
    bars = pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-15", periods=3, freq="15min", tz="UTC"),
            "open": [1.0, 2.0, 3.0],
            "high": [2.0, 3.0, 4.0],
            "low": [0.5, 1.5, 2.5],
            "close": [2.0, 3.0, 3.5],
            "volume": [1.0, 1.0, 1.0],
        }
    )
    events = pd.DataFrame(
        {
            "id": [7, 8, 9],
            "bar_dt": bars["ts"],
            "price": [2.0, 3.0, 3.5],
            "prob": [0.7, 0.8, 0.2],
            "threshold": [0.5, 0.5, 0.5],
            "final_signal": ["buy", "flat", "flat"],
            "blocked": [False, True, False],
        }
    )
    labels = {k: k for k in ("price", "buy", "blocked", "flat", "prob", "threshold")}
    figure = charts.market_figure(bars, events, title="t", labels=labels)
    markers = {trace.name: list(trace.customdata) for trace in figure.data if trace.customdata is not None}
    assert markers == {"buy": [7], "blocked": [8], "flat": [9]}


def _bars(n: int) -> pd.DataFrame:
    close = 100 + np.arange(n, dtype=np.float64)
    return pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-01", periods=n, freq="15min", tz="UTC"),
            "open": close - 0.5,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.ones(n),
        }
    )


def test_replay_trades_figure_joins_each_round_trip_and_puts_vetoes_at_their_bars_close() -> None:
    bars = _bars(10_000)
    ts = bars["ts"]
    trades = pd.DataFrame(
        {
            "entry_bar_dt": [ts[0] - pd.Timedelta("1h"), ts[10], ts[9000]],  # the first is before the chart
            "exit_bar_dt": [ts[2], ts[14], ts[9004]],
            "entry_price": [1.0, 110.1, 9100.2],
            "exit_price": [2.0, 114.0, 9103.9],
            "return": [0.5, 0.035, 0.0004],
        }
    )
    vetoes = pd.DataFrame(
        {
            "bar_dt": [ts[20], ts[0] - pd.Timedelta("15min"), ts[7777]],
            "filters": ["cooldown_minutes", "max_vol_norm", "max_vol_norm,max_open_positions"],
            "forward_return": [0.01, None, -0.02],
        }
    )
    labels = {k: k for k in ("price", "entry", "exit", "vetoed", "round_trip")}
    figure = charts.replay_trades_figure(bars, trades, vetoes, title="t", labels=labels)
    traces = {trace.name: trace for trace in figure.data}
    assert len(traces["price"].x) <= charts.MAX_POINTS  # 10,000 bars merged into candles
    assert list(traces["entry"].y) == [110.1, 9100.2] and list(traces["exit"].y) == [114.0, 9103.9]
    assert list(traces["exit"].customdata) == [0.035, 0.0004]
    assert list(traces["round_trip"].x) == [ts[10], ts[14], None, ts[9000], ts[9004], None]
    assert list(traces["vetoed"].y) == [120.0, 7877.0]  # the closes of their bars; the one before is left out
    assert [row[0] for row in traces["vetoed"].customdata] == [
        "cooldown_minutes",
        "max_vol_norm,max_open_positions",
    ]


def test_replay_equity_figure_draws_each_side_and_buy_and_hold_downsampled() -> None:
    time = pd.date_range("2026-01-01", periods=35_040, freq="15min", tz="UTC")
    wave = np.sin(np.arange(len(time)) / 300.0)
    a = pd.DataFrame({"time": time, "equity": 10_000 + 100 * wave})
    b = pd.DataFrame({"time": time, "equity": 10_000 - 50 * wave})
    hold = pd.DataFrame({"time": time, "buy_and_hold": 10_000 + np.arange(len(time)) / 10})
    figure = charts.replay_equity_figure([("A", a), ("B", b)], hold, hold_label="hold")
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces) == ["A", "B", "hold"]
    assert all(len(trace.x) <= charts.MAX_POINTS for trace in figure.data)
    assert max(traces["A"].y) == a["equity"].max() and traces["hold"].y[-1] == hold["buy_and_hold"].iloc[-1]
    assert len(charts.replay_equity_figure([("A", a)], None, hold_label="hold").data) == 1


class _Frames(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.frames.append(dict(attrs))


def test_a_report_is_shown_in_a_frame_that_runs_no_script_and_keeps_it_whole() -> None:
    from myassistant.dashboard.views.reports import sandboxed

    document = '<!doctype html><p title="a&quot;b">5 > 3 & <b>bold</b></p><script>alert(1)</script>'
    parser = _Frames()
    parser.feed(sandboxed(document, title='Report "x"'))
    [frame] = parser.frames
    assert frame["srcdoc"] == document and frame["title"] == 'Report "x"'
    assert frame["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"  # no allow-scripts, no origin


def test_the_dashboard_goes_to_the_address_asked_for_or_the_one_the_settings_describe() -> None:
    settings = Settings(_env_file=None, host="0.0.0.0", port=8123, api_token="a-token-of-sixteen-chars")  # noqa: S104
    assert connection_from([], settings).base_url == "http://127.0.0.1:8123"
    assert connection_from(["--api", "http://127.0.0.1:9000/"], settings).base_url == "http://127.0.0.1:9000"
    connection = connection_from(["--unknown", "x"], settings)
    assert connection.token == "a-token-of-sixteen-chars" and "a-token" not in repr(connection)


def test_streamlit_starts_on_loopback_headless_without_usage_statistics() -> None:
    line = launch.command(port=8600, api="http://127.0.0.1:8000")
    options = dict(zip(line[5::2], line[6::2], strict=False))
    assert line[1:5] == ["-m", "streamlit", "run", str(PACKAGE_DIR / "app.py")]
    assert options["--server.address"] == "127.0.0.1" and options["--server.port"] == "8600"
    assert options["--server.headless"] == "true" and options["--browser.gatherUsageStats"] == "false"
    assert line[-3:] == ["--", "--api", "http://127.0.0.1:8000"]
    assert launch.environment({})["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"


def test_the_dashboard_imports_no_domain_package() -> None:
    """An entry point that sees the service only through HTTP: importing every module of it loads
    no domain, job or API package."""
    modules = [
        "myassistant.dashboard." + p.stem for p in PACKAGE_DIR.glob("*.py") if p.stem != "__init__"
    ]  # app.py too: it renders only as __main__
    modules += ["myassistant.dashboard.views." + p.stem for p in (PACKAGE_DIR / "views").glob("*.py")]
    code = (
        "import sys\n"
        f"for name in {sorted(modules)!r}:\n"
        "    __import__(name)\n"
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('myassistant.')}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['core', 'dashboard']"


@pytest.mark.parametrize("value", [None, "2026-01-15T12:00:00+00:00"])
def test_times_show_in_utc_minutes(value) -> None:
    from myassistant.dashboard.widgets import when

    assert when(value) == (
        "—" if value is None else datetime(2026, 1, 15, 12, tzinfo=UTC).strftime("%Y-%m-%d %H:%M")
    )
