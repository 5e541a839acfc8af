from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from myassistant.core import configdocs
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import PreconditionFailed
from myassistant.market.logic import Pair
from myassistant.ml import health as model_health
from myassistant.ml import registry, service
from myassistant.ml.artifacts import models_dir, sha256_of
from myassistant.ml.dataset import Frames
from myassistant.ml.fitting import Costs
from myassistant.ml.policy import MODEL_POLICY, ModelPolicy
from myassistant.ml.service import train_many
from myassistant.ml.tables import ModelRun
from myassistant.ml.training import TrainConfig
from tests.fixtures.ml import make_news, make_prices, pair_key

FAST = TrainConfig(n_estimators=30, early_stopping_rounds=10, n_jobs=1)
PAIR: dict[str, Any] = {"exchange": "bybit", "symbol": "BTC/USDT", "timeframe": "15m", "horizon_steps": 4}


def _train(session, settings, prices, **overrides):
    return service.train_pair_from_frames(
        session, settings=settings, **{**PAIR, **overrides}, prices=prices, news=make_news(), config=FAST
    )


def test_training_from_frames_records_the_run_files_and_promotion(session, settings, frozen_clock) -> None:
    prices = make_prices(2000, seed=3, autocorrelation=0.3, volatility=0.006)
    outcome = _train(session, settings, prices)
    run = outcome.run
    assert outcome.error is None and run.status == "succeeded"
    assert outcome.promotion is not None and outcome.promotion.action == "promoted"
    assert run.rows == 2000 - 5 and run.data_start == prices.index[0] and run.data_end == prices.index[-1]
    assert run.model_kind in ("xgboost", "logistic") and run.test_auc == run.metrics["test"]["auc"]
    assert run.test_return == run.metrics["test"]["backtest"]["total_return"]
    directory = models_dir(settings.artifacts_dir)
    assert run.model_file.startswith("bybit_BTC-USDT_15m_h4_20260115T120000Z")
    assert sha256_of((directory / run.model_file).read_bytes()) == run.model_sha256
    meta = json.loads((directory / run.meta_file).read_text())
    assert meta["threshold"] == run.threshold and meta["model_sha256"] == run.model_sha256
    assert meta["costs"] == {"fee_bps": 10.0, "slippage_bps": 5.0}

    loaded = registry.load_model_for(session, settings=settings, **PAIR)
    from myassistant.ml.features import build_features

    rows = build_features(prices, make_news(), symbol="BTC/USDT", timeframe="15m")[
        list(run.features)
    ].to_numpy()
    fresh = registry.load_run_predictor(session.get(ModelRun, run.id), settings.artifacts_dir)
    np.testing.assert_array_equal(loaded.predict(rows), fresh.predict_proba(rows))
    assert loaded.threshold == run.threshold


def test_a_failed_training_is_recorded_and_reported_not_raised(database, settings) -> None:
    with database.session() as session:
        outcome = _train(session, settings, make_prices(150, seed=3))
    assert outcome.run.status == "failed" and isinstance(outcome.error, PreconditionFailed)
    assert "not enough labelled rows" in outcome.run.error and outcome.promotion is None
    with database.session(write=False) as session:
        stored = session.scalars(select(ModelRun)).one()
    assert (stored.id, stored.status, stored.model_file) == (outcome.run.id, "failed", None)


def test_bad_frames_fail_the_run_with_the_reason(session, settings) -> None:
    broken = make_prices(500, seed=1).drop(columns="volume")
    outcome = _train(session, settings, broken)
    assert outcome.run.status == "failed" and "volume" in outcome.run.error
    assert outcome.error is not None and outcome.error.status_code == 422


def test_out_of_range_costs_fail_the_run_as_invalid_input(session, settings) -> None:
    outcome = service.train_pair_from_frames(
        session,
        settings=settings,
        **PAIR,
        prices=make_prices(500),
        news=None,
        costs=Costs(fee_bps=-1),
    )
    assert outcome.run.status == "failed" and outcome.error is not None and outcome.error.status_code == 422
    assert outcome.run.error is not None and "fee_bps" in outcome.run.error


def test_policy_min_train_rows_comes_from_the_config_doc(session, settings) -> None:
    configdocs.patch(session, MODEL_POLICY, {"min_train_rows": 5000})
    outcome = _train(session, settings, make_prices(2000, seed=3))
    assert outcome.run.status == "failed" and "min_train_rows 5000" in outcome.run.error


def test_health_is_missing_stale_weak_or_ok_per_pair(session, settings, frozen_clock) -> None:
    from tests.fixtures.ml import register_run

    policy = ModelPolicy()
    assert model_health.health_for(session, pair=pair_key(), policy=policy).status == "missing"
    register_run(session, settings, symbol="ETH/USDT", test_auc=0.7)
    fallback_only = model_health.health_for(session, pair=pair_key(), policy=policy)
    assert fallback_only.status == "missing" and "fallback" in fallback_only.reason
    register_run(session, settings, test_auc=0.52)
    assert model_health.health_for(session, pair=pair_key(), policy=policy).status == "weak"
    frozen_clock.advance(days=3)
    register_run(session, settings, test_auc=0.6)
    health = model_health.health_for(session, pair=pair_key(), policy=policy)
    assert (health.status, health.source, health.age_days) == ("ok", "pair", 0)
    frozen_clock.advance(days=7.5)
    assert model_health.health_for(session, pair=pair_key(), policy=policy).status == "stale"
    needing = model_health.pairs_needing_training(
        session, pairs=[pair_key(), pair_key(symbol="ETH/USDT"), pair_key(symbol="SOL/USDT")], policy=policy
    )
    assert [p.symbol for p, _ in needing] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def _frames_for(settings: Settings, pair: Pair) -> Frames:
    if pair.symbol == "XRP/USDT":
        raise RuntimeError("database went away")
    seed = {"BTC/USDT": 3, "ETH/USDT": 4}.get(pair.symbol, 5)
    rows = 120 if pair.symbol == "DOGE/USDT" else 1500
    return Frames(make_prices(rows, seed=seed, autocorrelation=0.3, volatility=0.006), make_news())


@pytest.mark.slow
def test_fan_out_trains_in_worker_processes_and_records_every_run_here(
    database_url, settings, frozen_clock
) -> None:
    symbols = ("BTC/USDT", "ETH/USDT", "DOGE/USDT", "XRP/USDT")
    pairs = [pair_key(symbol=s, horizon_steps=4) for s in symbols]
    seen: list[str] = []
    database = Database(database_url)
    try:
        with database.session() as session:
            done = train_many(
                session,
                settings=settings,
                pairs=pairs,
                frames_for=_frames_for,
                policy=ModelPolicy(),
                n_jobs=2,
                config=FAST,
                on_result=lambda trained: seen.append(trained.pair.symbol),
            )
        with database.session(write=False) as session:
            stored = {r.id: (r.symbol, r.status, r.created_at) for r in session.scalars(select(ModelRun))}
    finally:
        database.dispose()
    assert [(d.pair.symbol, d.status) for d in done] == [
        ("BTC/USDT", "succeeded"),
        ("ETH/USDT", "succeeded"),
        ("DOGE/USDT", "failed"),
        ("XRP/USDT", "failed"),
    ]
    assert seen == list(symbols)
    assert [d.promotion for d in done] == ["promoted", "promoted", None, None]
    assert done[2].error is not None and "not enough labelled rows" in done[2].error
    assert done[3].error is not None and "database went away" in done[3].error
    # Runs are stamped by this process's clock, not the workers' own.
    assert stored == {d.run_id: (d.pair.symbol, d.status, frozen_clock.now()) for d in done}


def test_health_covers_the_watchlist_and_leaves_out_a_pair_models_cannot_name(session, settings) -> None:
    from datetime import UTC, datetime

    from myassistant.market import service as market
    from myassistant.market.schemas import WatchlistEntryIn
    from myassistant.market.tables import WatchlistEntry

    market.add_to_watchlist(
        session, settings=settings, entries=[WatchlistEntryIn(symbol="BTC/USDT", timeframe="1h")]
    )
    # A row from before today's rules: the API no longer accepts a symbol the model tables cannot hold.
    at = datetime(2026, 1, 1, tzinfo=UTC)
    legacy = WatchlistEntry(
        exchange="bybit", symbol="A" * 30 + "/USDT", source="manual", meta={}, added_at=at
    )
    legacy.updated_at = at
    session.add(legacy)
    session.flush()
    [health] = model_health.health_report(session, settings=settings)
    assert (health.symbol, health.timeframe, health.horizon_steps, health.status) == (
        "BTC/USDT",
        "1h",
        12,
        "missing",
    )
