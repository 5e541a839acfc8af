"""The replay on the exchange peer: equal to the backtest, to make_signal bar by bar, and no hindsight."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete

from myassistant.core import configdocs
from myassistant.market import service as market
from myassistant.market.schemas import WatchlistEntryIn
from myassistant.market.tables import Price, PriceBlock
from myassistant.ml import registry
from myassistant.ml import service as ml_service
from myassistant.ml.backtest import run_backtest
from myassistant.ml.features import FEATURE_COLUMNS, WARMUP_BARS, build_features
from myassistant.ml.policy import MODEL_POLICY, ModelPolicy
from myassistant.ml.predictors import LinearPredictor
from myassistant.ml.tables import ModelRun
from myassistant.ml.training import TrainConfig
from myassistant.news import service as news_service
from myassistant.replay import engine, service
from myassistant.replay.schemas import ReplaySpec
from myassistant.signals import service as signals
from myassistant.signals.policy import RISK_POLICY
from myassistant.signals.risk import RiskPolicy
from myassistant.signals.tables import SignalEvent
from myassistant.trading import service as broker
from myassistant.trading.costs import rates_from_bps
from myassistant.trading.logic import BrokerSettings
from myassistant.trading.tables import PaperOrder
from tests.fixtures.ml import make_news, pair_key, register_run, store_news, store_prices

TRAIN_BARS = 1200
HORIZON = 4
PAIR: dict[str, Any] = {
    "exchange": "bybit",
    "symbol": "BTC/USDT",
    "timeframe": "15m",
    "horizon_steps": HORIZON,
}
SMALL_TREES = TrainConfig(n_estimators=40, early_stopping_rounds=10)
STEP = timedelta(minutes=15)


def _fetch(session, settings, symbol: str, bars: int) -> None:
    market.fetch_prices(
        session, settings=settings, exchange="bybit", symbol=symbol, timeframe="15m", limit=bars
    )
    session.commit()


def _train(session, settings) -> int:
    """A real model on the peer's bars, recorded and promoted as `POST /model/train` would."""
    configdocs.put(session, MODEL_POLICY, ModelPolicy(train_bars=TRAIN_BARS, retrain_if_auc_below=0.0))
    result = ml_service.train_pair(
        session, settings=settings, pair=pair_key(**PAIR), fetch=False, config=SMALL_TREES
    )
    session.commit()
    assert result.outcome.error is None, result.outcome.error
    return result.outcome.run.id


@pytest.fixture
def trained_run(session, peer_settings, frozen_clock) -> int:
    """BTC/USDT 15m h4: bars up to the frozen clock, a model trained on them."""
    registry.MODEL_CACHE.clear()
    _fetch(session, peer_settings, "BTC/USDT", TRAIN_BARS + WARMUP_BARS + 50)
    return _train(session, peer_settings)


def _fixed(run_id: int, start, end, **extra) -> ReplaySpec:
    return ReplaySpec(
        pairs=[{"symbol": "BTC/USDT", "timeframe": "15m", "horizon_steps": HORIZON}],
        start=start,
        end=end,
        mode="fixed",
        run_id=run_id,
        n_jobs=1,
        **extra,
    )


def _results(settings, replay_id: int, name: str) -> pd.DataFrame:
    return pd.read_parquet(service.replay_dir(settings, replay_id) / f"{name}.parquet")


def test_with_the_policy_off_and_horizon_exits_the_replay_trades_equal_the_backtest(
    session, database, peer_settings, frozen_clock, trained_run
) -> None:
    frozen_clock.advance(days=4)
    _fetch(session, peer_settings, "BTC/USDT", 1000)
    run = session.get(ModelRun, trained_run)
    assert run is not None
    start = service.first_allowed_bar(run)
    latest = market.latest_bar(session, exchange="bybit", symbol="BTC/USDT", timeframe="15m")
    assert latest is not None
    end = latest.ts
    all_in = BrokerSettings(position_pct=Decimal(100), exit_after_horizon=True)
    spec = _fixed(trained_run, start, end, risk_policy=RiskPolicy(enabled=False), broker=all_in)
    session.commit()
    done = engine.run_spec(database, settings=peer_settings, spec=spec)
    assert done.status == "succeeded", done.error
    trades = _results(peer_settings, done.id, "trades")

    # The backtest on the same bars, from the stored prices and the model's own predictions.
    prices = market.load_prices(session, exchange="bybit", symbol="BTC/USDT", timeframe="15m")
    news = news_service.annotated_news_frame(session)
    features = build_features(prices, news, symbol="BTC/USDT", timeframe="15m")
    predictor = registry.MODEL_CACHE.get(run, peer_settings.artifacts_dir)
    window = prices.index[(prices.index >= start) & (prices.index <= end)]
    probs = predictor.predict_proba(features.loc[window, list(predictor.features)].to_numpy())
    # One bar more than the window: the last bar's close is the open a backtest exit there needs.
    after = prices.loc[start : end + STEP]
    signal = np.zeros(len(after), dtype=bool)
    signal[: len(window)] = probs >= run.threshold
    result = run_backtest(
        after["open"].to_numpy(),
        after["close"].to_numpy(),
        signal,
        horizon_steps=HORIZON,
        rates=rates_from_bps(10, 5),
        timeframe="15m",
    )
    assert len(result.returns) >= 5  # the model trades: the comparison is not empty
    assert list(trades["entry_bar_dt"]) == list(after.index[result.signal_bars])
    assert list(trades["exit_bar_dt"] + STEP) == list(after.index[result.exit_bars])
    np.testing.assert_allclose(trades["return"], result.returns, rtol=0, atol=1e-9)
    np.testing.assert_allclose(trades["entry_price"], result.entry_prices, rtol=1e-12)
    np.testing.assert_allclose(trades["exit_price"], result.exit_prices, rtol=1e-12)
    assert set(trades["exit_reason"]) == {"exit_horizon"}


LIVE_POLICY = RiskPolicy(
    max_vol_norm=1.6, cooldown_minutes=45, max_open_positions=1, max_position_pct=15.0, min_prob_margin=0.0
)
LIVE_BROKER = BrokerSettings(
    exit_after_horizon=True, take_profit_pct=Decimal("0.6"), stop_loss_pct=Decimal("0.6")
)
CYCLES = 110


def _momentum_model(session, settings) -> int:
    """A logistic model over the real features that buys after up-bars: BUYs for the filters to judge."""
    n = len(FEATURE_COLUMNS)
    coef = np.zeros(n)
    coef[FEATURE_COLUMNS.index("ret_1")] = 1500.0
    coef[FEATURE_COLUMNS.index("rsi_14")] = 0.02
    predictor = LinearPredictor(FEATURE_COLUMNS, np.zeros(n), np.zeros(n), np.ones(n), coef, -1.0)
    run = register_run(session, settings, predictor=predictor, threshold=0.5, **PAIR)
    session.commit()
    return int(run.id)


def _live_cycles(database, settings, clock, cycles: int) -> None:
    """The real make_signals cycle (refresh prices, signal, paper-trade, exits), once per bar close."""
    for _ in range(cycles):
        clock.advance(minutes=15)
        stats = signals.run_cycle(database, settings=settings)
        assert stats["errors"] == {}, stats["errors"]


def _reasons(note: dict) -> list[dict]:
    return note["risk"]["reasons"]


def test_replayed_decisions_equal_what_make_signal_answered_at_each_bar_close(
    database, peer_settings, frozen_clock
) -> None:
    registry.MODEL_CACHE.clear()
    with database.session() as session:
        for symbol in ("BTC/USDT", "ETH/USDT"):
            _fetch(session, peer_settings, symbol, TRAIN_BARS + WARMUP_BARS + 50)
        run_id = _momentum_model(session, peer_settings)  # BTC's run; ETH signals with it as the fallback
        entries = [
            WatchlistEntryIn(symbol=s, timeframe="15m", horizon_steps=HORIZON)
            for s in ("BTC/USDT", "ETH/USDT")
        ]
        market.replace_watchlist(session, settings=peer_settings, entries=entries)
        configdocs.put(session, RISK_POLICY, LIVE_POLICY)
        configdocs.put(session, broker.BROKER_SETTINGS, LIVE_BROKER)
    frozen_clock.advance(seconds=40)  # the scheduler's offset after the bar close
    _live_cycles(database, peer_settings, frozen_clock, CYCLES)

    with database.session(write=False) as session:
        events = session.query(SignalEvent).order_by(SignalEvent.bar_dt, SignalEvent.id).all()
        live_orders = session.query(PaperOrder).order_by(PaperOrder.id).all()
        start, end = events[0].bar_dt, events[-1].bar_dt
    spec = ReplaySpec(mode="fixed", run_id=run_id, start=start, end=end, n_jobs=2)
    done = engine.run_spec(database, settings=peer_settings, spec=spec)
    assert done.status == "succeeded", done.error
    replayed = _results(peer_settings, done.id, "decisions")

    assert len(events) == len(replayed) == 2 * CYCLES >= 200
    live = {(e.symbol, e.bar_dt): e for e in events}
    for row in replayed.itertuples():
        event = live[(row.symbol, row.bar_dt.to_pydatetime())]
        assert abs(row.prob - event.prob) <= 1e-9
        assert (row.raw_signal, row.final_signal, row.blocked) == (
            event.raw_signal,
            event.final_signal,
            event.blocked,
        )
        assert (json.loads(row.reasons) if row.reasons else []) == _reasons(event.note)
    # The test would prove little if nothing happened: BUYs were taken and vetoed by several filters.
    filters = {r["filter"] for e in events for r in _reasons(e.note)}
    assert sum(e.final_signal == "buy" for e in events) >= 3 and len(filters) >= 2, filters

    orders = _results(peer_settings, done.id, "orders")
    assert len(orders) == len(live_orders) >= 4
    for replayed_order, order in zip(orders.itertuples(), live_orders, strict=True):
        assert (replayed_order.symbol, replayed_order.side, replayed_order.reason) == (
            order.symbol,
            order.side,
            order.reason,
        )
        assert replayed_order.bar_dt.to_pydatetime() == order.bar_dt
        for name in ("qty", "fill_price", "notional", "fee", "cash_delta"):
            assert Decimal(getattr(replayed_order, name)) == getattr(order, name), name


WINDOW_BARS = 288
WALK = {"mode": "walk_forward", "retrain_every_days": 1.0, "train_bars": TRAIN_BARS}


@pytest.fixture
def two_pairs(session, peer_settings, frozen_clock):
    """BTC and ETH with enough history for walk-forward training before a 3-day window ending now."""
    registry.MODEL_CACHE.clear()
    for symbol in ("BTC/USDT", "ETH/USDT"):
        _fetch(session, peer_settings, symbol, TRAIN_BARS + WARMUP_BARS + WINDOW_BARS + 20)
    latest = market.latest_bar(session, exchange="bybit", symbol="BTC/USDT", timeframe="15m")
    assert latest is not None
    end = latest.ts
    session.commit()
    return end - STEP * (WINDOW_BARS - 1), end


def _walk_spec(window, **extra) -> ReplaySpec:
    pairs = [{"symbol": s, "timeframe": "15m", "horizon_steps": HORIZON} for s in ("BTC/USDT", "ETH/USDT")]
    return ReplaySpec(pairs=pairs, start=window[0], end=window[1], **WALK, **extra)


def _replace_bars_after(session, symbol: str, moment, altered: pd.DataFrame) -> None:
    """Rewrite the stored bars after `moment` (the store never overwrites a bar, so delete them first)."""
    iid = market.instrument_id(session, exchange="bybit", symbol=symbol, timeframe="15m")
    cutoff = int(pd.Timestamp(moment).value // 1_000_000)
    session.execute(delete(Price).where(Price.instrument_id == iid, Price.ts > cutoff))
    session.execute(delete(PriceBlock).where(PriceBlock.instrument_id == iid))  # a read cache of rows
    store_prices(session, altered, exchange="bybit", symbol=symbol, timeframe="15m")


def _decisions_until(settings, replay_id: int, moment) -> pd.DataFrame:
    decisions = _results(settings, replay_id, "decisions")
    return decisions[decisions["bar_dt"] <= moment].reset_index(drop=True)


def test_altering_every_bar_and_article_after_t_leaves_every_decision_up_to_t_unchanged(
    session, database, peer_settings, two_pairs
) -> None:
    spec = _walk_spec(two_pairs, n_jobs=1)
    first = engine.run_spec(database, settings=peer_settings, spec=spec, config=SMALL_TREES)
    assert first.status == "succeeded", first.error
    moment = two_pairs[0] + STEP * (WINDOW_BARS // 2)

    for symbol in ("BTC/USDT", "ETH/USDT"):
        prices = market.load_prices(
            session, exchange="bybit", symbol=symbol, timeframe="15m", start=moment + STEP
        )
        rng = np.random.default_rng(3)
        shock = np.exp(np.cumsum(rng.normal(0, 0.01, len(prices))))[:, None]
        altered = prices.assign(**{c: prices[c] * shock[:, 0] for c in ("open", "high", "low", "close")})
        _replace_bars_after(session, symbol, moment, altered)
    store_news(session, make_news(50, start=moment + STEP, span_days=1.0))
    session.commit()
    second = engine.run_spec(database, settings=peer_settings, spec=spec, config=SMALL_TREES)
    assert second.status == "succeeded", second.error

    before = _decisions_until(peer_settings, first.id, moment)
    after = _decisions_until(peer_settings, second.id, moment)
    assert len(before) == 2 * (WINDOW_BARS // 2 + 1)
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    orders = [_results(peer_settings, r.id, "orders") for r in (first, second)]
    up_to = [o[o["bar_dt"] <= moment].reset_index(drop=True) for o in orders]
    pd.testing.assert_frame_equal(*up_to)
    models = [_results(peer_settings, r.id, "models") for r in (first, second)]
    trained_before = [m[pd.to_datetime(m["trained_at"]) <= moment].reset_index(drop=True) for m in models]
    pd.testing.assert_frame_equal(*[m.drop(columns="duration_s") for m in trained_before])
    assert len(trained_before[0]) == 2 * 2  # each pair retrained at the start and a day later
    # The alteration did reach the later bars: their predictions moved.
    later = [_results(peer_settings, r.id, "decisions") for r in (first, second)]
    moved = later[0]["prob"].to_numpy() != later[1]["prob"].to_numpy()
    assert moved[len(before) :].any() and not moved[: len(before)].any()


def test_walk_forward_models_decide_only_bars_after_their_data(database, peer_settings, two_pairs) -> None:
    done = engine.run_spec(
        database, settings=peer_settings, spec=_walk_spec(two_pairs, n_jobs=1), config=SMALL_TREES
    )
    models = _results(peer_settings, done.id, "models")
    decisions = _results(peer_settings, done.id, "decisions")
    assert len(models) == 2 * 3 and set(models["symbol"]) == {"BTC/USDT", "ETH/USDT"}
    ends = dict(zip(models["id"], pd.to_datetime(models["data_end"]), strict=True))
    trained = dict(zip(models["id"], pd.to_datetime(models["trained_at"]), strict=True))
    for row in decisions.itertuples():
        assert row.bar_dt > ends[row.model] and row.bar_dt >= trained[row.model]
    assert done.metrics["oos_auc"] is not None and set(done.metrics["per_pair"]) == {"BTC/USDT", "ETH/USDT"}


def test_a_walk_forward_replay_on_a_dask_cluster_equals_the_one_on_joblib_processes(
    database, peer_settings, make_settings, exchange_url, two_pairs
) -> None:
    from distributed import LocalCluster

    on_processes = engine.run_spec(
        database, settings=peer_settings, spec=_walk_spec(two_pairs, n_jobs=2), config=SMALL_TREES
    )
    cluster_options = {"n_workers": 2, "threads_per_worker": 1, "processes": False, "protocol": "tcp"}
    with LocalCluster(host="127.0.0.1", dashboard_address=None, **cluster_options) as cluster:
        dask_settings = make_settings(
            exchange_api_override=exchange_url, dask_scheduler_address=cluster.scheduler_address
        )
        on_dask = engine.run_spec(
            database, settings=dask_settings, spec=_walk_spec(two_pairs, n_jobs=2), config=SMALL_TREES
        )
    assert on_processes.status == on_dask.status == "succeeded"
    for name in ("decisions", "orders", "trades", "curve", "vetoes"):
        pd.testing.assert_frame_equal(
            _results(peer_settings, on_processes.id, name), _results(peer_settings, on_dask.id, name)
        )
    assert _untimed(on_processes.metrics) == _untimed(on_dask.metrics)


def _untimed(metrics: dict) -> dict:
    per_pair = {
        pair: {k: v for k, v in m.items() if k != "training_s"} for pair, m in metrics["per_pair"].items()
    }
    return metrics | {"per_pair": per_pair}


def _dying_worker(settings, task):
    """A worker process that dies on ETH, as one killed by the operating system would."""
    if task.pair.symbol == "ETH/USDT":
        os._exit(3)
    return engine.predict_pair(settings, task)


def test_a_worker_that_dies_fails_the_replay_with_its_error_and_leaves_no_files(
    database, peer_settings, two_pairs
) -> None:
    with pytest.raises(Exception, match="terminated"):
        engine.run_spec(
            database,
            settings=peer_settings,
            spec=_walk_spec(two_pairs, n_jobs=2),
            config=SMALL_TREES,
            worker=_dying_worker,
        )
    with database.session(write=False) as session:
        [replay] = service.list_(session)
    assert replay.status == "failed" and replay.finished_at is not None
    assert replay.error is not None and replay.error.startswith("TerminatedWorkerError")
    folder = peer_settings.artifacts_dir / "replays"
    assert not folder.exists() or list(folder.iterdir()) == []
