"""Daily report benchmark (SPEC §18): build time and file size over a year of data.

The database: 20 watchlist pairs x 1 year of 15-minute bars (700,800 bars), 50,000 articles (the last
30 days, annotated and tagged), 100,000 signal events (every pair at every close of the last 52 days:
the report's day has all 1,920 of its events), paper orders, nightly model runs and promotions, the
job runs of the same 52 days and four replays a day (what-ifs over 100 pairs among them). Written
with bulk inserts (the price store's fast path for bars).

Figures, each next to the reference measured in the same run:
  - build time (targets < 3 s): cold (the first build in the process: matplotlib and the template
    load) and warm (best of 3) = the section queries + charts + render + atomic write + record;
    reference: the same section queries alone (best of 3);
  - file size (target < 1.5 MB).

Usage: python bench/report_bench.py [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
(default: a throw-away SQLite file; with --postgres, a scratch database on that server, dropped after).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import best_of  # noqa: E402
from tests.fixtures.postgres import scratch_database  # noqa: E402

from myassistant.core import clock, migrate  # noqa: E402
from myassistant.core.config import Settings  # noqa: E402
from myassistant.core.db import Database  # noqa: E402
from myassistant.jobs.tables import JobRun  # noqa: E402
from myassistant.market import logic as market_logic  # noqa: E402
from myassistant.market import service as market  # noqa: E402
from myassistant.market import store  # noqa: E402
from myassistant.market.schemas import WatchlistEntryIn  # noqa: E402
from myassistant.ml.tables import ActiveModel, ModelPromotion, ModelRun  # noqa: E402
from myassistant.news.tables import Article, ArticleAnnotation, ArticleTag, Feed  # noqa: E402
from myassistant.replay.tables import Replay  # noqa: E402
from myassistant.reports import service  # noqa: E402
from myassistant.signals.tables import SignalEvent  # noqa: E402
from myassistant.trading.logic import AccountState, BrokerSettings, apply_fill, plan_buy, plan_sell  # noqa: E402
from myassistant.trading.tables import PaperAccount, PaperOrder  # noqa: E402

PAIRS = 20
BARS = 365 * 96
ARTICLES = 50_000
EVENTS = 100_000
END = datetime(2026, 1, 15, tzinfo=UTC)  # the data runs up to this midnight
NOW = END + timedelta(minutes=50)  # when the scheduler builds the report
DAY = date(2026, 1, 14)
STEP = timedelta(minutes=15)
SYMBOLS = [f"C{i:02d}/USDT" for i in range(PAIRS)]
CHUNK = 20_000


def _chunks(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[start : start + CHUNK])


def fill_prices(database: Database, settings: Settings, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """20 pairs x 35,040 bars through the price store's bulk path; returns each pair's closes."""
    ts = (np.arange(BARS, dtype=np.int64) * 900_000 + market_logic.to_ms(END - STEP * BARS)).astype(
        np.float64
    )
    closes = {}
    with database.session() as session:
        market.add_to_watchlist(
            session, settings=settings, entries=[WatchlistEntryIn(symbol=s) for s in SYMBOLS]
        )
    for symbol in SYMBOLS:
        close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, BARS)))
        open_ = np.concatenate(([close[0]], close[:-1]))
        bars = np.column_stack(
            [
                ts,
                open_,
                np.maximum(open_, close) * 1.001,
                np.minimum(open_, close) * 0.999,
                close,
                rng.lognormal(3, 0.5, BARS),
            ]
        )
        with database.session() as session:
            iid = market.instrument_id(session, exchange="bybit", symbol=symbol, timeframe="15m", create=True)
            assert iid is not None
            store.upsert_bars(session, instrument_id=iid, bars=bars, step_ms=900_000)
        closes[symbol] = close
    return closes


def fill_news(database: Database, rng: np.random.Generator) -> None:
    """50,000 articles over the last 30 days, each annotated (90% English) with one to three tags."""
    tags = np.array(["BTC", "ETH", "SOL", "XRP", "DOGE", "etf", "regulation", "hack", "listing", "macro"])
    seconds = np.sort(rng.integers(0, 30 * 86_400, ARTICLES))
    seen = [END - timedelta(days=30) + timedelta(seconds=int(s)) for s in seconds]
    articles = [
        {
            "url": f"https://bench.test/a/{n}",
            "title": f"Headline {n} about {tags[n % 5]} <and> markets",
            "summary": "",
            "source": f"Source {n % 12}",
            "published_at": at,
            "published_status": "ok",
            "first_seen_at": at,
        }
        for n, at in enumerate(seen)
    ]
    compound = rng.uniform(-1, 1, ARTICLES)
    english = rng.random(ARTICLES) < 0.9
    annotations, tag_rows = [], []
    for n, at in enumerate(seen):
        picked = sorted(set(tags[rng.integers(0, len(tags), size=int(rng.integers(1, 4)))].tolist()))
        annotations.append(
            {
                "article_id": n + 1,
                "lang": "en" if english[n] else "ru",
                "compound": float(compound[n]) if english[n] else None,
                "tags": picked,
                "analyzer_version": "bench",
                "analyzed_at": at,
            }
        )
        tag_rows += [{"article_id": n + 1, "tag": tag, "first_seen_at": at} for tag in picked]
    with database.session() as session:
        _chunks(session, Article.__table__, articles)
        _chunks(session, ArticleAnnotation.__table__, annotations)
        _chunks(session, ArticleTag.__table__, tag_rows)
        for n in range(10):
            failing = n < 2
            session.add(
                Feed(
                    url=f"https://bench.test/feed/{n}.xml",
                    title=f"Feed {n}",
                    consecutive_failures=7 if failing else 0,
                    last_status="error" if failing else "ok",
                    last_error="HTTP 503" if failing else None,
                    created_at=END - timedelta(days=60),
                )
            )


def fill_signals_and_orders(
    database: Database, closes: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    """Every pair at each of the last 5,000 closes (100,000 events), and the paper orders of their BUYs."""
    per_pair = EVENTS // PAIRS
    reasons = [{"filter": "max_vol_norm", "value": 3.4, "limit": 3.0, "message": "vol_norm 3.4 > 3"}]
    rows, orders = [], []
    broker = BrokerSettings()
    state = AccountState(cash=broker.initial_cash)
    held_since: dict[str, datetime] = {}
    for k in range(per_pair):
        bar = END - STEP * (per_pair - k)
        for p, symbol in enumerate(SYMBOLS):
            index = BARS - per_pair + k
            prob = float(rng.beta(2, 3))
            raw = "buy" if prob >= 0.6 else "flat"
            blocked = raw == "buy" and rng.random() < 0.3
            final = "buy" if raw == "buy" and not blocked else "flat"
            created = bar + STEP + timedelta(seconds=5)
            filled = bar + STEP * 14 <= END
            rows.append(
                {
                    "exchange": "bybit",
                    "symbol": symbol,
                    "timeframe": "15m",
                    "horizon_steps": 12,
                    "bar_dt": bar,
                    "bar_close": bar + STEP,
                    "price": float(closes[symbol][index]),
                    "raw_signal": raw,
                    "final_signal": final,
                    "blocked": blocked,
                    "prob": prob,
                    "threshold": 0.6,
                    "model_run_id": None,
                    "source": "scheduler",
                    "note": {"risk": {"reasons": reasons if blocked else []}, "model": {"run_id": p + 1}},
                    "created_at": created,
                    "forward_return": float(rng.normal(0, 0.01)) if filled else None,
                    "forward_filled_at": END if filled else None,
                }
            )
            key = ("bybit", symbol)
            price = Decimal(repr(float(closes[symbol][index])))
            if key in state.holdings and created - held_since[symbol] >= STEP * 12:
                fill = plan_sell(holding=state.holdings[key], price=price, settings=broker)
            elif final == "buy" and key not in state.holdings and state.cash > 100:
                fill = plan_buy(cash=state.cash, price=price, settings=broker)
                held_since[symbol] = created
            else:
                continue
            state = apply_fill(state, key, fill)
            orders.append((len(rows), symbol, fill, bar, created))
    with database.session() as session:
        _chunks(session, SignalEvent.__table__, rows)
        account = PaperAccount(
            status="open",
            quote="USDT",
            initial_cash=broker.initial_cash,
            cash=state.cash,
            realized_pnl=state.realized_pnl,
            fees_paid=state.fees_paid,
            opened_at=END - timedelta(days=60),
            closed_at=None,
        )
        session.add(account)
        session.flush()
        _chunks(
            session,
            PaperOrder.__table__,
            [
                {
                    "account_id": account.id,
                    "signal_event_id": event_id if fill.side == "buy" else None,
                    "exchange": "bybit",
                    "symbol": symbol,
                    "timeframe": "15m",
                    "horizon_steps": 12,
                    "side": fill.side,
                    "reason": "signal" if fill.side == "buy" else "exit_horizon",
                    "qty": fill.qty,
                    "price": fill.price,
                    "fill_price": fill.fill_price,
                    "notional": fill.notional,
                    "fee": fill.fee,
                    "cash_delta": fill.cash_delta,
                    "realized_pnl": fill.realized_pnl,
                    "bar_dt": bar,
                    "created_at": created,
                }
                for event_id, symbol, fill, bar, created in orders
            ],
        )
    print(f"  {len(rows):,} signal events, {len(orders):,} paper orders")


def fill_models_and_jobs(database: Database, rng: np.random.Generator) -> None:
    """A nightly run and promotion decision per pair for 52 days; the job runs of those days."""
    runs, promotions, job_rows = [], [], []
    for d in range(52):
        night = END - timedelta(days=52 - d) + timedelta(hours=2)
        for symbol in SYMBOLS:
            runs.append(
                {
                    "exchange": "bybit",
                    "symbol": symbol,
                    "timeframe": "15m",
                    "horizon_steps": 12,
                    "status": "succeeded",
                    "error": None,
                    "source": "scheduler",
                    "rows": 8000,
                    "model_kind": "xgboost",
                    "features": ["ret_1"],
                    "threshold": 0.6,
                    "test_auc": float(rng.uniform(0.5, 0.65)),
                    "test_return": float(rng.normal(0, 0.02)),
                    "metrics": {"auc": 0.6},
                    "created_at": night,
                }
            )
    schedule = {
        "fetch_news": 144,
        "analyze_news": 144,
        "fetch_prices": 96,
        "make_signals": 96,
        "check_alerts": 144,
    }
    for d in range(52):
        day_start = END - timedelta(days=52 - d)
        for job, per_day in schedule.items():
            for n in range(per_day):
                started = day_start + timedelta(seconds=86_400 * n // per_day)
                failed = rng.random() < 0.02
                job_rows.append(
                    {
                        "job": job,
                        "source": "scheduler",
                        "started_at": started,
                        "finished_at": started + timedelta(seconds=float(rng.uniform(0.2, 4))),
                        "status": "error" if failed else "ok",
                        "error": "exchange said 503 (token=abc123secret)" if failed else None,
                        "stats": {"duration_s": 1.0},
                    }
                )
    with database.session() as session:
        _chunks(session, ModelRun.__table__, runs)
        ids = [row.id for row in session.query(ModelRun.id).order_by(ModelRun.id)]
        for n, run_id in enumerate(ids):
            promotions.append(
                {
                    "exchange": "bybit",
                    "symbol": SYMBOLS[n % PAIRS],
                    "timeframe": "15m",
                    "horizon_steps": 12,
                    "action": "promoted" if n % 3 else "refused",
                    "run_id": run_id,
                    "previous_run_id": run_id - PAIRS if run_id > PAIRS else None,
                    "reason": "beats current run out of sample",
                    "comparison": {
                        "basis": "own_test_windows",
                        "candidate": {"auc": 0.6},
                        "current": {"auc": 0.58},
                    },
                    "created_at": runs[n]["created_at"],
                }
            )
        _chunks(session, ModelPromotion.__table__, promotions)
        for p, symbol in enumerate(SYMBOLS):
            last = ids[-PAIRS + p]
            session.add(
                ActiveModel(
                    exchange="bybit",
                    symbol=symbol,
                    timeframe="15m",
                    horizon_steps=12,
                    pinned_run_id=None,
                    pinned_at=None,
                    promoted_run_id=last,
                    promoted_at=END,
                    updated_at=END,
                )
            )
        _chunks(session, JobRun.__table__, job_rows)
    print(f"  {len(runs):,} model runs and promotions, {len(job_rows):,} job runs")


def _replay_metrics(rng: np.random.Generator, pairs: int, *, what_if: bool) -> dict[str, Any]:
    """Metrics shaped as replay.service stores them: side A, per pair, open positions (and the what-if)."""
    side = {
        "initial_equity": 10_000.0,
        "final_equity": float(10_000 * (1 + rng.normal(0, 0.05))),
        "total_return": float(rng.normal(0, 0.05)),
        "sharpe": float(rng.normal(0, 2)),
        "max_drawdown": float(rng.uniform(0, 0.2)),
        "trades": int(rng.integers(0, 500)),
        "win_rate": float(rng.uniform(0.3, 0.7)),
        "mean_trade_return": float(rng.normal(0, 0.01)),
        "exposure": float(rng.uniform(0, 1)),
        "buy_and_hold_return": float(rng.normal(0, 0.1)),
        "decisions": 2880 * pairs,
        "buys": 300,
        "vetoes": 120,
        "vetoes_mean_forward_return": -0.001,
        "vetoes_total_forward_return": -0.12,
        "oos_auc": float(rng.uniform(0.48, 0.6)),
        "orders": 600,
        "fees_paid": 61.2,
        "realized_pnl": 42.0,
        "open_positions": 2,
    }
    per_pair = {
        f"P{p:03d}/USDT": {
            "bars": 2880,
            "decisions": 2880,
            "bars_without_model": 0,
            "models_trained": 5,
            "models_promoted": 3,
            "training_s": 1.2,
            "training_failures": [],
            "oos_auc": 0.55,
        }
        for p in range(pairs)
    }
    metrics: dict[str, Any] = side | {"per_pair": per_pair, "open_positions_at_end": []}
    if what_if:
        blocked = {"count": 40, "forward_return_sum": -0.05, "forward_return_mean": -0.001}
        metrics["what_if"] = {
            "b": side | {"total_return": side["total_return"] - 0.01},
            "total_return_difference": 0.01,
            "blocked_only_by_a": blocked,
            "blocked_only_by_b": blocked | {"count": 0},
        }
    return metrics


def fill_replays(database: Database, rng: np.random.Generator) -> None:
    """Four replays a day for 52 days: 20 watchlist pairs, or 100 pairs with a what-if; one failed."""
    rows = []
    for d in range(52):
        day_start = END - timedelta(days=52 - d)
        for n in range(4):
            pairs = 100 if n % 2 else PAIRS
            created = day_start + timedelta(hours=3 + 5 * n)
            failed = n == 3
            rows.append(
                {
                    "status": "failed" if failed else "succeeded",
                    "mode": "walk_forward",
                    "params": {
                        "pairs": [
                            {
                                "exchange": "bybit",
                                "symbol": f"P{p:03d}/USDT",
                                "timeframe": "15m",
                                "horizon_steps": 12,
                            }
                            for p in range(pairs)
                        ],
                        "start": (created - timedelta(days=30)).isoformat(),
                        "end": created.isoformat(),
                        "mode": "walk_forward",
                        "run_id": None,
                        "compare": {"risk_policy": {"enabled": False}} if pairs == 100 else None,
                    },
                    "metrics": {} if failed else _replay_metrics(rng, pairs, what_if=pairs == 100),
                    "error": "TerminatedWorkerError: a worker died (token=abc123secret)" if failed else None,
                    "job_run_id": None,
                    "created_at": created,
                    "started_at": created,
                    "finished_at": created + timedelta(minutes=20),
                }
            )
    with database.session() as session:
        _chunks(session, Replay.__table__, rows)
    print(f"  {len(rows):,} replays")


@contextmanager
def _database(postgres: str | None) -> Iterator[Database]:
    if postgres:
        with scratch_database(postgres, "report_bench") as url:
            migrate.upgrade(url)
            database = Database(url)
            try:
                yield database
            finally:
                database.dispose()
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{(Path(folder) / 'report.db').as_posix()}"
        migrate.upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    rng = np.random.default_rng(12)
    with _database(args.postgres) as database, tempfile.TemporaryDirectory() as artifacts, clock.frozen(NOW):
        settings = Settings(_env_file=None, database_url=database.url, artifacts_dir=Path(artifacts))
        print(f"report bench on {database.backend}: building the database")
        started = time.perf_counter()
        closes = fill_prices(database, settings, rng)
        fill_news(database, rng)
        fill_signals_and_orders(database, closes, rng)
        fill_models_and_jobs(database, rng)
        fill_replays(database, rng)
        elapsed = time.perf_counter() - started
        print(f"  {PAIRS} pairs x {BARS:,} bars, {ARTICLES:,} articles; written in {elapsed:.1f} s")

        def queries_alone() -> dict[str, Any]:
            with database.session(write=False) as session:
                return service.collect(session, settings=settings, day=DAY)

        def build() -> service.BuiltReport:
            return service.build(database, settings=settings, day=DAY, lang="en")

        cold, built = best_of(build, repeat=1)
        warm, built = best_of(build, repeat=3)
        queries, sections = best_of(queries_alone, repeat=3)
        size = built.record.size
        with database.session(write=False) as session:
            parts = {
                section.key: best_of(partial(section.query, session, settings=settings, day=DAY), repeat=3)[0]
                for section in service.SECTIONS
            }
        events, articles = sections["signals"].events, sections["news"].articles
        print(f"report for {DAY} ({events:,} signal events and {articles:,} articles that day):")
        print(f"  build, cold (first in the process):  {cold:6.2f} s   target < 3 s")
        print(f"  build, warm (best of 3):             {warm:6.2f} s   target < 3 s")
        share = f"{queries / warm:.0%} of the warm build"
        print(f"  reference: the same queries alone:   {queries:6.2f} s   ({share})")
        print("    of which " + ", ".join(f"{key} {seconds:.2f} s" for key, seconds in parts.items()))
        print(f"  file size:                           {size / 1e6:6.3f} MB  target < 1.5 MB")
        print(
            json.dumps(
                {
                    "cold_s": round(cold, 3),
                    "warm_s": round(warm, 3),
                    "queries_s": round(queries, 3),
                    "bytes": size,
                }
            )
        )


if __name__ == "__main__":
    main()
