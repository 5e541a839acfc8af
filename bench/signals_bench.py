"""Signals benchmark (SPEC §18), every figure next to a reference measured in the same run.

1. One signal cycle over a 50-pair watchlist against the local exchange peer (target < 5 s): the
   `make_signals` job as the scheduler runs it (refresh prices, features, XGBoost prediction, risk
   policy, stored event, paper order). Measured cold (first cycle: each pair's history is fetched)
   and warm (the next bar: one new bar per pair, the cycle the scheduler runs every 15 minutes).
   Reference: the same cycle's price refresh alone.
2. `GET /signals/recent` over 1M stored signal rows at 8 concurrent connections (target p99 < 25 ms),
   against the real service in its own process; reference: `GET /ping` on the same server.

Usage: python bench/signals_bench.py [--pairs 50] [--rows 1000000] [--requests 2000]
(uses `wrk` as the load generator when it is installed, e.g. `apt install wrk`; else an httpx client)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import xgboost as xgb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import percentiles  # noqa: E402
from tests.fixtures.ml import register_run  # noqa: E402

from myassistant.catalog import signals as signal_jobs  # noqa: E402
from myassistant.core import clock, configdocs, migrate  # noqa: E402
from myassistant.core.config import Settings  # noqa: E402
from myassistant.core.db import Database  # noqa: E402
from myassistant.jobs.runner import JobContext  # noqa: E402
from myassistant.market import service as market  # noqa: E402
from myassistant.market.exchange import CLIENTS  # noqa: E402
from myassistant.market.logic import is_leveraged_token, is_stable_base  # noqa: E402
from myassistant.market.schemas import WatchlistEntryIn  # noqa: E402
from myassistant.ml.features import FEATURE_COLUMNS  # noqa: E402
from myassistant.ml.predictors import XGBoostPredictor  # noqa: E402
from myassistant.peers.exchange import DEFAULT_MARKETS  # noqa: E402
from myassistant.peers.server import free_port  # noqa: E402
from myassistant.signals.policy import RISK_POLICY  # noqa: E402
from myassistant.signals.risk import RiskPolicy  # noqa: E402

NOW = datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC)
# Cycles run 15 minutes apart in production, so ccxt's rate-limit bucket is full at each start; the
# bench advances a frozen clock instead, and waits this long (real time) for the bucket to refill:
# the pool's whole burst allowance (a shorter wait left the bucket part-empty and timed the limiter).
REFILL_S = CLIENTS.options.burst_s


def xgb_model(seed: int = 0) -> XGBoostPredictor:
    """200 trees on random data over the real feature list: the prediction cost of a real model."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(5000, len(FEATURE_COLUMNS)))
    labels = (rows[:, 0] + rng.normal(size=5000) > 0).astype(int)
    booster = xgb.train(
        {"tree_method": "hist", "max_depth": 4, "objective": "binary:logistic", "nthread": 1},
        xgb.DMatrix(rows, label=labels, feature_names=list(FEATURE_COLUMNS)),
        num_boost_round=200,
    )
    return XGBoostPredictor(booster, FEATURE_COLUMNS)


def register(database: Database, settings: Settings, timeframe: str, horizon: int) -> None:
    """One promoted model serves every pair of the timeframe (the registry's general fallback)."""
    with database.session() as session:
        register_run(
            session,
            settings,
            predictor=xgb_model(),
            source="bench",
            test_return=0.0,
            timeframe=timeframe,
            horizon_steps=horizon,
        )
        configdocs.put(session, RISK_POLICY, RiskPolicy(max_open_positions=None, max_position_pct=None))


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def signal_cycle(pairs: int) -> None:
    """The exchange peer runs in its own process, like a real exchange: no shared interpreter lock."""
    port = free_port()
    peer = subprocess.Popen(
        [sys.executable, "-m", "myassistant.cli", "peer", "exchange", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/v5/market/time")
        _cycle(pairs, f"http://127.0.0.1:{port}")
    finally:
        peer.terminate()
        peer.wait(15)


def _cycle(pairs: int, peer_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, clock.frozen(NOW) as frozen:
        url = f"sqlite:///{Path(tmp, 'bench.db').as_posix()}"
        migrate.upgrade(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            artifacts_dir=Path(tmp, "artifacts"),
            exchange_api_override=peer_url,
            scheduler_enabled=False,
        )
        database = Database(url)
        register(database, settings, "15m", 12)
        symbols = [
            f"{m.base}/USDT"
            for m in DEFAULT_MARKETS
            if m.quote == "USDT"
            and m.active
            and m.listed is None
            and not is_leveraged_token(m.base)
            and not is_stable_base(m.base)
        ][:pairs]
        with database.session() as session:
            market.replace_watchlist(
                session, settings=settings, entries=[WatchlistEntryIn(symbol=s) for s in symbols]
            )
        context = JobContext(database=database, settings=settings, source="bench")
        started = time.perf_counter()
        cold = signal_jobs.make_signals(context)
        cold_s = time.perf_counter() - started
        frozen.advance(minutes=15)
        time.sleep(REFILL_S)
        started = time.perf_counter()
        with database.session() as session:
            market.fetch_many(session, settings=settings)
        refresh_s = time.perf_counter() - started
        timings = []
        for _ in range(3):
            frozen.advance(minutes=15)
            time.sleep(REFILL_S)
            started = time.perf_counter()
            warm = signal_jobs.make_signals(context)
            timings.append(time.perf_counter() - started)
        database.dispose()
    print(
        f"signal cycle, {len(symbols)} pairs, cold (history fetched): {cold_s:6.2f} s  "
        f"events {cold['created']}, orders {cold['orders']}, errors {len(cold['errors'])}"
    )
    print(
        f"signal cycle, {len(symbols)} pairs, warm (one new bar):     {np.median(timings):6.2f} s, median of "
        f"{[round(t, 2) for t in timings]}  events {warm['created']}, errors {len(warm['errors'])}"
        "  (target < 5 s)"
    )
    print(f"  reference: price refresh alone for one new bar:        {refresh_s:6.2f} s")


def fill_signals(path: Path, rows: int) -> None:
    """1M events over 50 symbols, written straight through sqlite3 in one transaction."""
    symbols = [f"C{i:02d}/USDT" for i in range(50)]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    note = json.dumps({"risk": {"reasons": []}, "model": {"run_id": 1}})
    connection = sqlite3.connect(path)

    def generate() -> Iterator[tuple[str | int | float | None, ...]]:
        for i in range(rows):
            bar = start + timedelta(minutes=15 * (i // 50))
            text = bar.strftime("%Y-%m-%d %H:%M:%S.000000")
            close = (bar + timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M:%S.000000")
            signal = "buy" if i % 7 == 0 else "flat"
            yield (
                "bybit",
                symbols[i % 50],
                "15m",
                12,
                text,
                close,
                100.0,
                signal,
                signal,
                0,
                0.5,
                0.5,
                None,
                "scheduler",
                note,
                close,
                None,
                None,
            )

    with connection:
        connection.executemany(
            "INSERT INTO signal_events (exchange, symbol, timeframe, horizon_steps, bar_dt, bar_close, "
            "price, raw_signal, final_signal, blocked, prob, threshold, model_run_id, source, note, "
            "created_at, forward_return, forward_filled_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            generate(),
        )
    connection.close()


async def latencies(base: str, path: str, requests: int, concurrency: int = 8) -> np.ndarray:
    results: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    async with httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                query = path.replace("{symbol}", f"C{index % 50:02d}/USDT")
                started = time.perf_counter()
                response = await client.get(query)
                results.append(time.perf_counter() - started)
                response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return np.array(results) * 1000


def wrk(url: str, seconds: int = 8) -> tuple[float, float, float]:
    """p50, p99 (ms) and requests/s from wrk with 8 connections."""
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", "8", "-d", f"{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("50%", "99%"):
            value = parts[1]
            figures[parts[0]] = (
                float(value[:-2])
                if value.endswith("ms")
                else (float(value[:-2]) / 1000 if value.endswith("us") else float(value[:-1]) * 1000)
            )
        elif line.startswith("Requests/sec:"):
            figures["rate"] = float(parts[1])
    return figures["50%"], figures["99%"], figures["rate"]


def client_figures(base: str, path: str, requests: int) -> tuple[float, float, float]:
    ms = asyncio.run(latencies(base, path.replace("C07/USDT", "{symbol}"), requests))
    p50, p99 = percentiles(ms, 50, 99)
    return p50, p99, requests / (ms.sum() / 1000 / 8)


def recent_latency(rows: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "signals.db")
        url = f"sqlite:///{path.as_posix()}"
        migrate.upgrade(url)
        started = time.perf_counter()
        fill_signals(path, rows)
        print(f"stored {rows:,} signal rows in {time.perf_counter() - started:.1f} s")
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORT": str(port),
            "SCHEDULER_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
            "ARTIFACTS_DIR": str(Path(tmp, "artifacts")),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "myassistant.cli", "serve"],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/ping")
            asyncio.run(latencies(base, "/signals/recent?limit=50", 200))  # warm-up
            probes = (
                ("GET /ping (reference)", "/ping"),
                ("GET /signals/recent?limit=50", "/signals/recent?limit=50"),
                ("GET /signals/recent?symbol=..&limit=50", "/signals/recent?symbol=C07/USDT&limit=50"),
                ("GET /signals/recent?final_signal=buy", "/signals/recent?final_signal=buy&limit=50"),
            )
            use_wrk = shutil.which("wrk") is not None
            print(
                f"load generator: {'wrk (its own process)' if use_wrk else 'httpx in this process'}, "
                "8 concurrent connections"
            )
            for label, path_ in probes:
                p50, p99, rate = wrk(base + path_) if use_wrk else client_figures(base, path_, requests)
                print(f"{label:42s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  ({rate:,.0f} req/s)")
        finally:
            server.terminate()
            server.wait(15)
    print("target: /signals/recent p99 < 25 ms at 8 concurrent connections over 1M rows")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--skip-cycle", action="store_true")
    parser.add_argument("--skip-recent", action="store_true")
    args = parser.parse_args()
    if not args.skip_cycle:
        signal_cycle(args.pairs)
    if not args.skip_recent:
        recent_latency(args.rows, args.requests)


if __name__ == "__main__":
    main()
