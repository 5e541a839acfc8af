"""Frames from the database (SQLite file): the live feature row of one pair and a training load.

The live row is one pair's share of a signal cycle (SPEC §18: 50 pairs < 5 s, so well under
100 ms each); printed next to its parts measured in the same run: the price read alone and the
pure feature build on the same in-memory frames.
Run: `.venv/bin/python bench/ml_frames_bench.py [--bars 12000] [--articles 50000]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.ml import make_news, make_prices, store_news, store_prices  # noqa: E402

from myassistant.core import migrate  # noqa: E402
from myassistant.core.db import Database  # noqa: E402
from myassistant.market import service as market  # noqa: E402
from myassistant.market.logic import Pair  # noqa: E402
from myassistant.ml import frames as service  # noqa: E402
from myassistant.ml.features import WARMUP_BARS, build_features  # noqa: E402
from myassistant.news import service as news_service  # noqa: E402

PAIR = Pair(exchange="bybit", symbol="BTC/USDT", timeframe="15m", horizon_steps=12)


def median_ms(function: Callable[[], Any], calls: int) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=12_000)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder, 'bench.db').as_posix()}"
        migrate.upgrade(url)
        database = Database(url)
        prices = make_prices(args.bars, seed=3)
        news = make_news(args.articles, seed=4, span_days=args.bars / 96)
        with database.session() as session:
            store_prices(
                session, prices, exchange=PAIR.exchange, symbol=PAIR.symbol, timeframe=PAIR.timeframe
            )
            store_news(session, news)
        with database.session(write=False) as session:
            live = median_ms(lambda: service.live_feature_row(session, pair=PAIR), args.calls)
            read = median_ms(
                lambda: market.load_prices(
                    session,
                    exchange=PAIR.exchange,
                    symbol=PAIR.symbol,
                    timeframe=PAIR.timeframe,
                    limit=WARMUP_BARS,
                ),
                args.calls,
            )
            tail = prices.iloc[-WARMUP_BARS:]
            close = tail.index[-1] + pd.Timedelta(minutes=15)
            seen = news["first_seen_at"]
            in_reach = news.loc[(seen >= close - pd.Timedelta(hours=24)) & (seen < close)]
            since = news_service.news_history_start(session)
            compute = median_ms(
                lambda: build_features(
                    tail, in_reach, symbol=PAIR.symbol, timeframe=PAIR.timeframe, news_since=since
                ),
                args.calls,
            )
            frames = median_ms(
                lambda: service.load_frames(session, pair=PAIR, bars=8000),
                max(3, args.calls // 5),
            )
        database.dispose()
    print(f"SQLite, {args.bars:,} stored 15m bars, {args.articles:,} annotated articles")
    print(f"live_feature_row       {live:8.2f} ms median   (a 50-pair cycle budget is 100 ms per pair)")
    print(f"  reference: load_prices of {WARMUP_BARS} bars      {read:8.2f} ms")
    print(
        f"  reference: build_features, in-memory tail {compute:8.2f} ms ({len(in_reach)} articles in reach)"
    )
    print(f"load_frames(bars=8000) {frames:8.2f} ms median   ({8000 + WARMUP_BARS:,} bars and their news)")


if __name__ == "__main__":
    main()
