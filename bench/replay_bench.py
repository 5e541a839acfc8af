"""Replay benchmarks (SPEC §18): the decision loop over a year of 15 m bars, fixed and walk-forward.

Each figure is printed next to a reference measured in the same run:
- one pair, a year of 15 m bars (35,040), a fixed model: the replay against the vectorised backtest
  of the same bars and signals (target < 10 s);
- walk-forward with weekly retraining over that year (target < 120 s for one pair) against the time
  of its trainings alone;
- ten pairs over worker processes against one pair.

The bars come from the exchange peer's deterministic generator, stored in a scratch SQLite database.
Run: `.venv/bin/python bench/replay_bench.py [--bars 35040] [--pairs 10] [--skip-walk-forward]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import best_of  # noqa: E402
from tests.fixtures.ml import make_news, store_news, store_prices  # noqa: E402

from myassistant.core import clock, configdocs, migrate  # noqa: E402
from myassistant.core.config import Settings  # noqa: E402
from myassistant.core.db import Database  # noqa: E402
from myassistant.market import service as market  # noqa: E402
from myassistant.ml import registry  # noqa: E402
from myassistant.ml import service as ml_service  # noqa: E402
from myassistant.ml.backtest import run_backtest  # noqa: E402
from myassistant.ml.features import WARMUP_BARS, build_features  # noqa: E402
from myassistant.ml.policy import MODEL_POLICY, ModelPolicy  # noqa: E402
from myassistant.ml.tables import ModelRun  # noqa: E402
from myassistant.news import service as news_service  # noqa: E402
from myassistant.peers.exchange import DEFAULT_MARKETS, closed_bars  # noqa: E402
from myassistant.replay import engine  # noqa: E402
from myassistant.replay.schemas import ReplaySpec  # noqa: E402
from myassistant.signals.risk import RiskPolicy  # noqa: E402
from myassistant.trading.costs import rates_from_bps  # noqa: E402
from myassistant.trading.logic import BrokerSettings  # noqa: E402

WINDOW_END = datetime(2025, 12, 31, 23, 45, tzinfo=UTC)
STEP = timedelta(minutes=15)
HORIZON = 12
TRAIN_BARS = ModelPolicy().train_bars
SEED = 7


def peer_frame(symbol: str, start: datetime, end: datetime) -> pd.DataFrame:
    market_ = next(m for m in DEFAULT_MARKETS if m.symbol == symbol)
    bars = closed_bars(SEED, market_, "15m", int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    index = pd.DatetimeIndex(pd.to_datetime(bars.ts, unit="ms", utc=True), name="ts")
    columns = dict(zip(("open", "high", "low", "close", "volume"), bars.columns()[1:], strict=True))
    return pd.DataFrame(columns, index=index)


def setup(folder: Path, symbols: list[str], window_bars: int) -> tuple[Settings, Database, datetime, int]:
    """Bars for the window plus training history and warm-up, news, and one fixed run trained before."""
    url = f"sqlite:///{(folder / 'bench.db').as_posix()}"
    migrate.upgrade(url)
    settings = Settings(_env_file=None, database_url=url, artifacts_dir=folder / "artifacts")
    database = Database(url)
    start = WINDOW_END - STEP * (window_bars - 1)
    history_start = start - STEP * (TRAIN_BARS + WARMUP_BARS + 200)
    with database.session() as session:
        for symbol in symbols:
            frame = peer_frame(symbol, history_start, WINDOW_END + STEP * (HORIZON + 1))
            store_prices(session, frame, exchange="bybit", symbol=symbol, timeframe="15m")
        days = (WINDOW_END - history_start).days
        store_news(session, make_news(20 * days, start=history_start, span_days=days))
        configdocs.put(session, MODEL_POLICY, ModelPolicy(retrain_if_auc_below=0.0))
    with clock.frozen(start), database.session() as session:
        history = market.load_prices(
            session, exchange="bybit", symbol=symbols[0], timeframe="15m", end=start - STEP
        )
        outcome = ml_service.train_pair_from_frames(
            session,
            settings=settings,
            exchange="bybit",
            symbol=symbols[0],
            timeframe="15m",
            horizon_steps=HORIZON,
            prices=history.iloc[-(TRAIN_BARS + WARMUP_BARS) :],
            news=news_service.annotated_news_frame(session),
            first_row=history.index[-TRAIN_BARS].to_pydatetime(),
        )
        assert outcome.error is None, outcome.error
        run_id = outcome.run.id
    return settings, database, start, run_id


def spec(symbols: list[str], start: datetime, **extra: Any) -> ReplaySpec:
    pairs = [{"symbol": s, "timeframe": "15m", "horizon_steps": HORIZON} for s in symbols]
    return ReplaySpec(pairs=pairs, start=start, end=WINDOW_END, **extra)


def backtest_reference(
    database: Database, settings: Settings, symbol: str, start: datetime, run_id: int
) -> float:
    """The vectorised backtest of the same bars and the same model's signals (features and model included)."""
    with database.session(write=False) as session:
        run = session.get(ModelRun, run_id)
        assert run is not None and run.threshold is not None
        predictor = registry.MODEL_CACHE.get(run, settings.artifacts_dir)
        threshold = float(run.threshold)

        def backtest() -> Any:
            prices = market.load_prices(
                session, exchange="bybit", symbol=symbol, timeframe="15m", start=start - STEP * WARMUP_BARS
            )
            features = build_features(
                prices, news_service.annotated_news_frame(session), symbol=symbol, timeframe="15m"
            )
            window = prices.index >= start
            probs = predictor.predict_proba(features.loc[window, list(predictor.features)].to_numpy())
            bars = prices.loc[window]
            return run_backtest(
                bars["open"].to_numpy(),
                bars["close"].to_numpy(),
                probs >= threshold,
                horizon_steps=HORIZON,
                rates=rates_from_bps(10, 5),
                timeframe="15m",
            )

        seconds, _result = best_of(backtest, repeat=3)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bars", type=int, default=35_040, help="window bars (a year of 15 m bars)")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--skip-walk-forward", action="store_true")
    args = parser.parse_args()
    symbols = [m.symbol for m in DEFAULT_MARKETS if m.quote == "USDT"][: args.pairs]
    with tempfile.TemporaryDirectory() as tmp:
        settings, database, start, run_id = setup(Path(tmp), symbols, args.bars)
        print(f"{args.bars} bars of 15m per pair, {len(symbols)} pairs stored; fixed run {run_id}")
        open_policy = {
            "risk_policy": RiskPolicy(enabled=False),
            "broker": BrokerSettings(exit_after_horizon=True),
        }

        def one_fixed() -> Any:
            return engine.run_spec(
                database,
                settings=settings,
                spec=spec(symbols[:1], start, mode="fixed", run_id=run_id, n_jobs=1, **open_policy),
            )

        fixed_s, done = best_of(one_fixed, repeat=2)
        backtest_s = backtest_reference(database, settings, symbols[0], start, run_id)
        print(
            f"fixed model, 1 pair:  replay {fixed_s:6.2f} s ({done.metrics['decisions']} decisions, "
            f"{done.metrics['trades']} trades)  vs vectorised backtest of the same bars {backtest_s:6.3f} s "
            f"(x{fixed_s / backtest_s:.0f}); target < 10 s"
        )

        def many_fixed() -> Any:
            return engine.run_spec(
                database,
                settings=settings,
                spec=spec(symbols, start, mode="fixed", run_id=run_id, n_jobs=2, **open_policy),
            )

        many_s, many = best_of(many_fixed, repeat=1)
        print(
            f"fixed model, {len(symbols)} pairs over 2 processes: {many_s:6.2f} s "
            f"({many.metrics['decisions']} decisions)  vs 1 pair {fixed_s:6.2f} s (x{many_s / fixed_s:.1f})"
        )

        if not args.skip_walk_forward:
            weekly = spec(
                symbols[:1], start, mode="walk_forward", retrain_every_days=7.0, n_jobs=1, **open_policy
            )
            walk_s, walked = best_of(lambda: engine.run_spec(database, settings=settings, spec=weekly))
            per_pair = walked.metrics["per_pair"][symbols[0]]
            training_s = per_pair["training_s"]
            print(
                f"walk-forward, weekly, 1 pair: {walk_s:6.2f} s ({per_pair['models_trained']} models, "
                f"{per_pair['models_promoted']} promoted, OOS AUC {walked.metrics['oos_auc']:.3f})  "
                f"vs its trainings alone {training_s:6.2f} s "
                f"(replay overhead {walk_s - training_s:5.2f} s); target < 120 s"
            )
        database.dispose()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
