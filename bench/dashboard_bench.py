"""Dashboard benchmark (SPEC §18: each page < 1.5 s to render against an API with 1M signal rows).

The service runs in its own process (as a user runs it) over a SQLite database holding 1M signal
events (20 watchlist pairs × 1 year of 15 m bars, the rest on 30 more symbols), 20 pairs × 1 year of
15 m bars (700,800 bars), 20 model runs, paper orders, 5,000 annotated articles, 2,000 job runs,
200 notes, a what-if replay of the 20 pairs over 90 days (the replay engine over scripted
predictions) and yesterday's report. Each page is rendered by Streamlit's AppTest (the app's real
code, cold read cache) and timed; next to it, the same page's API requests replayed alone over one
keep-alive httpx client, measured in the same run, and how many requests the page made.

Usage: python bench/dashboard_bench.py [--signals 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.ml import make_news, register_run, store_news  # noqa: E402
from tests.fixtures.report import REPLAY_HORIZON, scripted_predictions  # noqa: E402

from myassistant.core import migrate  # noqa: E402
from myassistant.core.config import Settings  # noqa: E402
from myassistant.core.db import Database  # noqa: E402
from myassistant.dashboard import APP_FILE, client  # noqa: E402
from myassistant.dashboard.views import PAGES  # noqa: E402
from myassistant.market import logic as market_logic  # noqa: E402
from myassistant.market import service as market  # noqa: E402
from myassistant.market import store  # noqa: E402
from myassistant.market.logic import is_leveraged_token, is_stable_base  # noqa: E402
from myassistant.market.schemas import WatchlistEntryIn  # noqa: E402
from myassistant.memory import service as memory  # noqa: E402
from myassistant.memory.schemas import MemoryCreate  # noqa: E402
from myassistant.peers.exchange import DEFAULT_MARKETS, closed_bars  # noqa: E402
from myassistant.peers.server import free_port  # noqa: E402
from myassistant.replay import engine  # noqa: E402
from myassistant.replay.schemas import ReplayPairIn, ReplaySpec, WhatIf  # noqa: E402
from myassistant.reports import service as reports  # noqa: E402
from myassistant.signals.risk import RiskPolicy  # noqa: E402
from myassistant.trading import service as broker  # noqa: E402
from myassistant.trading.logic import BrokerSettings  # noqa: E402

BAR_MS = 900_000
YEAR_BARS = 365 * 96
PAIRS = 20
REPLAY_DAYS = 90  # the replay the Replay page shows: every watchlist pair, with a what-if
TARGET_S = 1.5
NOTE = {
    "risk": {
        "policy_enabled": True,
        "metrics": {
            "prob": 0.61,
            "threshold": 0.55,
            "prob_margin": 0.06,
            "vol_norm": 1.2,
            "ret_std_24": 0.004,
        },
        "reasons": [
            {"filter": "cooldown_minutes", "value": 15.0, "limit": 60, "message": "last BUY 15 min ago"}
        ],
    },
    "model": {"run_id": 1, "choice": "pair", "trained_at": "2026-01-01T00:00:00+00:00"},
    "explanation": {
        "top_features": [
            {"feature": f"ret_{k}", "contribution": 0.1 * k, "value": 0.01} for k in (1, 4, 16, 96)
        ],
        "headlines": [
            {
                "title": "Bitcoin climbs as ETF inflows return",
                "url": "https://news.test/1",
                "source": "bench",
                "first_seen_at": "2026-01-01T00:00:00+00:00",
                "compound": 0.4,
            }
        ],
    },
}


def symbols() -> list[str]:
    return [
        f"{m.base}/USDT"
        for m in DEFAULT_MARKETS
        if m.quote == "USDT" and m.active and m.listed is None and not is_leveraged_token(m.base)
        if not is_stable_base(m.base)
    ]


def build(path: Path, artifacts: Path, signal_rows: int, now_ms: int) -> dict[str, float]:
    """The database; returns how long each part took to write."""
    url = f"sqlite:///{path.as_posix()}"
    migrate.upgrade(url)
    settings = Settings(_env_file=None, database_url=url, artifacts_dir=artifacts, scheduler_enabled=False)
    database = Database(url)
    pairs = symbols()[:PAIRS]
    last_bar = now_ms // BAR_MS * BAR_MS - BAR_MS
    first_bar = last_bar - (YEAR_BARS - 1) * BAR_MS
    took: dict[str, float] = {}
    started = time.perf_counter()
    with database.session() as session:
        market.replace_watchlist(
            session, settings=settings, entries=[WatchlistEntryIn(symbol=s) for s in pairs]
        )
        by_id = {m.symbol: m for m in DEFAULT_MARKETS}
        for symbol in pairs:
            bars = closed_bars(7, by_id[symbol], "15m", first_bar, last_bar)
            iid = market.instrument_id(session, exchange="bybit", symbol=symbol, timeframe="15m", create=True)
            assert iid is not None
            columns = np.column_stack(
                [bars.ts.astype(np.float64), bars.open, bars.high, bars.low, bars.close, bars.volume]
            )
            store.upsert_bars(
                session, instrument_id=iid, bars=columns, step_ms=market_logic.timeframe_ms("15m")
            )
    took["prices"] = time.perf_counter() - started
    started = time.perf_counter()
    fill_signals(path, pairs, signal_rows, first_bar, last_bar)
    took["signals"] = time.perf_counter() - started
    started = time.perf_counter()
    with database.session() as session:
        for n, symbol in enumerate(pairs):
            register_run(session, settings, symbol=symbol, seed=n, test_auc=0.5 + n / 100, source="bench")
        store_news(
            session,
            make_news(
                5000, start=datetime.fromtimestamp(now_ms / 1000, UTC) - timedelta(days=30), span_days=30
            ),
        )
        for n in range(200):
            memory.create(
                session,
                note=MemoryCreate(
                    text=f"note {n} about {pairs[n % PAIRS]}", tags=["bench"], symbol=pairs[n % PAIRS]
                ),
            )
    with database.session() as session:
        trade(session, pairs, last_bar)
    fill_job_runs(path, now_ms)
    took["models, news, orders, runs"] = time.perf_counter() - started
    started = time.perf_counter()
    replay_and_report(database, settings, pairs, last_bar)
    took["replay, report"] = time.perf_counter() - started
    database.dispose()
    return took


def replay_and_report(database: Database, settings: Settings, pairs: list[str], last_bar: int) -> None:
    """A what-if replay of every watchlist pair over the last REPLAY_DAYS (predictions scripted, the
    loop, files and row the replay engine's own), then yesterday's report, for the Replay and Reports
    pages."""
    end = datetime.fromtimestamp(last_bar / 1000, UTC)
    spec = ReplaySpec(
        pairs=[ReplayPairIn(symbol=symbol, horizon_steps=REPLAY_HORIZON) for symbol in pairs],
        start=end - timedelta(days=REPLAY_DAYS),
        end=end,
        n_jobs=2,
        broker=BrokerSettings(exit_after_horizon=True),
        compare=WhatIf(risk_policy=RiskPolicy(enabled=False)),
    )
    done = engine.run_spec(database, settings=settings, spec=spec, worker=scripted_predictions)
    if done.status != "succeeded":
        raise RuntimeError(f"the bench replay {done.status}: {done.error}")
    reports.build(database, settings=settings, day=end.date() - timedelta(days=1), lang="en")


def fill_signals(path: Path, pairs: list[str], rows: int, first_bar: int, last_bar: int) -> None:
    """Every bar of the year for the watchlist pairs, the rest on 30 more symbols; one transaction."""
    note = json.dumps(NOTE)
    others = [f"X{i:02d}/USDT" for i in range(30)]
    bars = np.arange(first_bar, last_bar + BAR_MS, BAR_MS)

    def stamp(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.000000")

    def generate() -> Iterator[tuple[str | int | float | None, ...]]:
        rng = np.random.default_rng(3)
        made = 0
        for symbols_now in (pairs, others):
            for ms in bars.tolist():
                for symbol in symbols_now:
                    if made == rows:
                        return
                    prob = float(rng.random())
                    raw = "buy" if prob > 0.8 else "flat"
                    blocked = raw == "buy" and prob < 0.85
                    close = stamp(ms + BAR_MS)
                    final = "flat" if blocked else raw
                    yield ("bybit", symbol, "15m", 12, stamp(ms), close, 100.0, raw, final, int(blocked),
                           prob, 0.8, 1, "scheduler", note, close, None, None)  # fmt: skip
                    made += 1

    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO signal_events (exchange, symbol, timeframe, horizon_steps, bar_dt, bar_close, "
            "price, raw_signal, final_signal, blocked, prob, threshold, model_run_id, source, note, "
            "created_at, forward_return, forward_filled_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            generate(),
        )
    connection.close()


def trade(session: Session, pairs: list[str], last_bar: int) -> None:
    """A paper order for the newest BUY of each of the first pairs, and half of them closed."""
    from sqlalchemy import select

    from myassistant.signals.tables import SignalEvent

    for symbol in pairs[:8]:
        event = session.scalars(
            select(SignalEvent)
            .where(SignalEvent.symbol == symbol, SignalEvent.final_signal == "buy")
            .order_by(SignalEvent.id.desc())
            .limit(1)
        ).first()
        if event is None:
            continue
        broker.buy_for_signal(
            session, signal_event_id=event.id, exchange="bybit", symbol=symbol, timeframe="15m",
            horizon_steps=12, price=Decimal("100"), bar_dt=event.bar_dt,
        )  # fmt: skip
    for symbol in pairs[:4]:
        broker.close_at_market(session, exchange="bybit", symbol=symbol)


def fill_job_runs(path: Path, now_ms: int) -> None:
    jobs = ("fetch_news", "analyze_news", "fetch_prices", "make_signals", "check_alerts")
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO job_runs (job, source, started_at, finished_at, status, error, stats) "
            "VALUES (?,?,?,?,?,?,?)",
            [
                (
                    jobs[n % len(jobs)],
                    "scheduler",
                    datetime.fromtimestamp(now_ms / 1000 - (2000 - n) * 300, UTC).strftime(
                        "%Y-%m-%d %H:%M:%S.000000"
                    ),
                    datetime.fromtimestamp(now_ms / 1000 - (2000 - n) * 300 + 2, UTC).strftime(
                        "%Y-%m-%d %H:%M:%S.000000"
                    ),
                    "error" if n % 97 == 0 else "ok",
                    "timed out" if n % 97 == 0 else None,
                    json.dumps({"duration_s": 2.0}),
                )
                for n in range(2000)
            ],
        )
    connection.close()


def serve(path: Path, artifacts: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path.as_posix()}", "ARTIFACTS_DIR": str(artifacts),
           "PORT": str(port), "SCHEDULER_ENABLED": "0", "LOG_LEVEL": "WARNING"}  # fmt: skip
    env.pop("API_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "myassistant.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.2)


def render(url: str, page: str, requests: list[httpx.Request]) -> float:
    """Seconds AppTest takes to render `page` with a cold read cache; `requests` gets what it sent."""
    from streamlit.testing.v1 import AppTest

    argv, sys.argv = sys.argv, ["app.py", "--api", url]
    try:
        app = AppTest.from_file(str(APP_FILE), default_timeout=120)
        app.run()
        client._cached_get.clear()
        requests.clear()
        started = time.perf_counter()
        app.switch_page(page).run()
        elapsed = time.perf_counter() - started
    finally:
        sys.argv = argv
    if app.exception:
        raise RuntimeError(f"{page}: {app.exception[0].value}")
    return elapsed


def replay(url: str, requests: list[httpx.Request]) -> dict[str, float]:
    """Seconds each of the same requests takes alone, in order, over one keep-alive client."""
    took: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=120) as http:
        http.get("/ping")
        for request in requests:
            target = request.url.raw_path.decode()
            started = time.perf_counter()
            http.request(request.method, target, content=request.content).raise_for_status()
            took[f"{request.method} {request.url.path}"] = time.perf_counter() - started
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, artifacts = Path(tmp, "bench.db"), Path(tmp, "artifacts")
        now_ms = int(time.time() * 1000)
        started = time.perf_counter()
        took = build(path, artifacts, args.signals, now_ms)
        print(
            f"database: {args.signals:,} signal rows, {PAIRS} pairs × {YEAR_BARS:,} bars of 15 m, built in "
            f"{time.perf_counter() - started:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in took.items())})"
        )
        process, url = serve(path, artifacts)
        try:
            sent: list[httpx.Request] = []
            http = client._http(url, None)
            http.event_hooks = {"request": [sent.append], "response": []}
            header = f"{'page':<12} {'render (median)':>16} {'API calls alone':>16} {'calls':>6}"
            print(f"{header}   target < {TARGET_S} s")
            for spec in PAGES:
                renders, alone, calls = [], [], 0
                each: dict[str, float] = {}
                for _ in range(args.repeat):
                    renders.append(render(url, spec.file, sent))
                    recorded = list(sent)
                    calls = len(recorded)
                    each = replay(url, recorded)
                    alone.append(sum(each.values()))
                rendered, api_only = float(np.median(renders)), float(np.median(alone))
                verdict = "ok" if rendered < TARGET_S else "SLOW"
                slowest_call, seconds = max(each.items(), key=lambda item: item[1])
                print(
                    f"{spec.url_path:<12} {rendered:14.3f} s {api_only:14.3f} s {calls:6d}   {verdict}"
                    f"   (slowest call {slowest_call}: {seconds:.3f} s)"
                )
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
