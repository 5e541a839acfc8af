"""Promotion compares the new run and the current one on the same out-of-sample rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from myassistant.ml import fitting, registry, service
from myassistant.ml.artifacts import models_dir
from myassistant.ml.dataset import build_dataset
from myassistant.ml.tables import ModelRun
from myassistant.ml.training import TrainConfig
from myassistant.trading.costs import DEFAULT_FEE_BPS, DEFAULT_SLIPPAGE_BPS, rates_from_bps
from tests.fixtures.ml import make_news, make_prices

FAST = TrainConfig(n_estimators=30, early_stopping_rounds=10, n_jobs=1)
PAIR: dict[str, Any] = {"exchange": "bybit", "symbol": "BTC/USDT", "timeframe": "15m", "horizon_steps": 4}
PRICES = make_prices(2000, seed=3, autocorrelation=0.3, volatility=0.006)


@pytest.fixture(autouse=True)
def _fresh_cache():
    registry.MODEL_CACHE.clear()
    yield
    registry.MODEL_CACHE.clear()


def _train(session, settings, prices: pd.DataFrame) -> service.TrainOutcome:
    outcome = service.train_pair_from_frames(
        session, settings=settings, **PAIR, prices=prices, news=make_news(), config=FAST
    )
    assert outcome.error is None, outcome.error
    return outcome


def _auc_on(session, settings, run_id: int, prices: pd.DataFrame, start, end) -> tuple[int, float]:
    """Rows and AUC of a run's model on the labelled bars of [start, end], computed from scratch."""
    rates = rates_from_bps(DEFAULT_FEE_BPS, DEFAULT_SLIPPAGE_BPS)
    dataset = build_dataset(
        prices, make_news(), symbol="BTC/USDT", timeframe="15m", horizon_steps=4, rates=rates
    )
    index = dataset.features.index
    rows = (index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end)) & dataset.labels.notna().to_numpy()
    predictor = registry.load_run_predictor(session.get(ModelRun, run_id), settings.artifacts_dir)
    probs = predictor.predict_proba(dataset.features.loc[rows, list(predictor.features)].to_numpy())
    return int(rows.sum()), float(roc_auc_score(dataset.labels[rows], probs))


def test_both_runs_are_scored_on_the_new_test_rows_the_current_run_never_saw(
    session, settings, frozen_clock
) -> None:
    current = _train(session, settings, PRICES.iloc[500:]).run  # trained on later data
    frozen_clock.advance(hours=1)
    candidate_prices = PRICES.iloc[:1900]
    outcome = _train(session, settings, candidate_prices)
    assert outcome.promotion is not None and outcome.promotion.comparison is not None
    comparison = outcome.promotion.comparison
    assert comparison["basis"] == "shared_rows"

    current_test_start = pd.Timestamp(current.metrics["split"]["test"]["start"])
    candidate_test = outcome.run.metrics["split"]["test"]
    assert pd.Timestamp(candidate_test["start"]) < current_test_start  # only part of the window is shared
    assert pd.Timestamp(comparison["start"]) >= current_test_start
    assert comparison["end"] == candidate_test["end"]

    rows, current_auc = _auc_on(
        session, settings, current.id, candidate_prices, comparison["start"], comparison["end"]
    )
    _, candidate_auc = _auc_on(
        session, settings, outcome.run.id, candidate_prices, comparison["start"], comparison["end"]
    )
    assert comparison["rows"] == rows
    assert comparison["current"]["auc"] == pytest.approx(current_auc, abs=1e-12)
    assert comparison["candidate"]["auc"] == pytest.approx(candidate_auc, abs=1e-12)
    promoted = (candidate_auc, comparison["candidate"]["total_return"]) > (
        current_auc,
        comparison["current"]["total_return"],
    )
    assert outcome.promotion.action == ("promoted" if promoted else "refused")
    assert f"on the same {rows} out-of-sample rows" in outcome.promotion.reason


def test_an_unreadable_current_model_falls_back_to_each_runs_own_test_and_says_so(
    session, settings, frozen_clock
) -> None:
    current = _train(session, settings, PRICES.iloc[:1500]).run
    assert current.model_file is not None
    (models_dir(settings.artifacts_dir) / current.model_file).write_bytes(b"tampered")
    frozen_clock.advance(hours=1)
    outcome = _train(session, settings, PRICES)
    assert outcome.promotion is not None and outcome.promotion.comparison is not None
    comparison = outcome.promotion.comparison
    assert comparison["basis"] == "own_test_windows"
    assert f"current run {current.id} could not be loaded" in comparison["why"]
    assert comparison["current"] == {"auc": current.test_auc, "total_return": current.test_return}
    assert "each on its own test window" in outcome.promotion.reason


def test_too_few_shared_rows_fall_back_to_each_runs_own_test(session, settings, frozen_clock) -> None:
    current = _train(session, settings, PRICES).run  # its test part is the series' last bars
    frozen_clock.advance(hours=1)
    outcome = _train(session, settings, PRICES.iloc[:1620])  # ends just after the current run's test starts
    assert outcome.promotion is not None and outcome.promotion.comparison is not None
    comparison = outcome.promotion.comparison
    assert comparison["basis"] == "own_test_windows"
    assert f"out of sample for current run {current.id}" in comparison["why"]
    assert np.isfinite(comparison["candidate"]["auc"])


def test_a_crash_while_scoring_costs_only_the_comparison(
    session, settings, frozen_clock, monkeypatch
) -> None:
    _train(session, settings, PRICES.iloc[:1500])
    frozen_clock.advance(hours=1)

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fitting, "score_on", broken)
    outcome = _train(session, settings, PRICES)
    assert outcome.run.status == "succeeded" and session.get(ModelRun, outcome.run.id) is not None
    assert outcome.promotion is not None and outcome.promotion.comparison is not None
    assert outcome.promotion.comparison["basis"] == "own_test_windows"
    assert "crashed: RuntimeError" in outcome.promotion.comparison["why"]
