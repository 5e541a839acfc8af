from __future__ import annotations

import numpy as np
import pytest

from myassistant.core.errors import PreconditionFailed
from myassistant.ml.dataset import build_dataset
from myassistant.ml.training import TrainConfig, calibration_table, purged_split, train
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.ml import make_news, make_prices

RATES = rates_from_bps(10, 5)
FAST = TrainConfig(
    n_estimators=40, early_stopping_rounds=10, n_jobs=1, threshold_quantiles=(0.5, 0.7, 0.8, 0.9)
)
HORIZON = 4


def _dataset(n: int = 2400, seed: int = 5, rates=RATES, prices=None):
    prices = make_prices(n, seed=seed, autocorrelation=0.3, volatility=0.006) if prices is None else prices
    return build_dataset(
        prices,
        make_news(300, seed=seed),
        symbol="BTC/USDT",
        timeframe="15m",
        horizon_steps=HORIZON,
        rates=rates,
    )


DATASET = _dataset()
RESULT = train(DATASET, rates=RATES, min_train_rows=200, config=FAST)


def test_split_is_time_ordered_with_purge_gaps_of_the_horizon() -> None:
    split = purged_split(DATASET, TrainConfig(), min_rows=200)
    assert split.train[-1] + HORIZON < split.validation[0]
    assert split.validation[-1] + HORIZON < split.test[0]
    assert split.validation[0] - split.train[-1] == HORIZON + 1  # exactly h bars dropped
    labelled = DATASET.labels.notna().sum()
    assert len(split.train) == int(labelled * 0.6)
    assert abs(len(split.validation) - labelled * 0.2) <= HORIZON + 1
    assert DATASET.labels.iloc[split.test].notna().all()


def test_both_models_are_recorded_and_the_better_on_validation_is_kept() -> None:
    candidates = RESULT.metrics["candidates"]
    assert set(candidates) == {"xgboost", "logistic"}
    best = max(candidates, key=lambda k: candidates[k]["validation_auc"])
    assert RESULT.metrics["model_kind"] == best == RESULT.predictor.kind
    assert all(c["test_auc"] is not None for c in candidates.values())


def test_threshold_maximises_the_validation_backtest_return() -> None:
    search = RESULT.metrics["threshold_search"]
    best = max(row["total_return"] for row in search)
    assert RESULT.threshold in [row["threshold"] for row in search if row["total_return"] == best]


def test_threshold_and_model_do_not_depend_on_the_test_part() -> None:
    prices = make_prices(2400, seed=5, autocorrelation=0.3, volatility=0.006)
    first_untouchable = RESULT.split.validation[-1] + HORIZON + 2  # the validation labels end before it
    altered = prices.copy()
    altered.iloc[first_untouchable:] = altered.iloc[first_untouchable:].to_numpy()[::-1]
    other = train(_dataset(prices=altered), rates=RATES, min_train_rows=200, config=FAST)
    assert other.threshold == RESULT.threshold
    assert (
        other.metrics["candidates"]["xgboost"]["validation_auc"]
        == RESULT.metrics["candidates"]["xgboost"]["validation_auc"]
    )
    assert other.metrics["test"]["auc"] != RESULT.metrics["test"]["auc"]


def test_test_metrics_cover_ranking_calibration_and_the_backtest() -> None:
    test = RESULT.metrics["test"]
    for key in ("auc", "pr_auc", "brier", "precision", "recall", "coverage"):
        assert test[key] is not None and 0 <= test[key] <= 1, key
    assert sum(bucket["rows"] for bucket in test["calibration"]) == test["rows"]
    assert test["backtest"]["bars"] == test["rows"] + HORIZON + 1
    for key in (
        "trades",
        "win_rate",
        "total_return",
        "sharpe",
        "sortino",
        "max_drawdown",
        "buy_and_hold_return",
    ):
        assert key in test["backtest"]


def test_predictions_are_deterministic_for_a_fixed_seed() -> None:
    again = train(DATASET, rates=RATES, min_train_rows=200, config=FAST)
    rows = DATASET.features.to_numpy()[-50:]
    np.testing.assert_array_equal(again.predictor.predict_proba(rows), RESULT.predictor.predict_proba(rows))


def test_too_few_rows_are_refused_with_the_numbers() -> None:
    with pytest.raises(
        PreconditionFailed, match=r"not enough labelled rows to train: 295 < min_train_rows 300"
    ):
        train(_dataset(n=300), rates=RATES, min_train_rows=300, config=FAST)


def test_a_missing_class_is_refused() -> None:
    punitive = rates_from_bps(2000, 1000)  # nothing beats 60% round-trip costs
    with pytest.raises(PreconditionFailed, match="only label 0"):
        train(_dataset(rates=punitive), rates=punitive, min_train_rows=200, config=FAST)


def test_walk_forward_reports_auc_per_fold_with_mean_and_spread() -> None:
    config = TrainConfig(n_estimators=20, early_stopping_rounds=5, n_jobs=1, walk_forward_folds=3)
    result = train(DATASET, rates=RATES, min_train_rows=200, config=config)
    walk = result.metrics["walk_forward"]
    assert walk["folds"] == 3 and len(walk["auc"]) == 3
    assert walk["auc_mean"] == pytest.approx(np.mean(walk["auc"]))
    assert walk["auc_std"] == pytest.approx(np.std(walk["auc"]))


def test_calibration_table_compares_predicted_and_observed_rates_per_bucket() -> None:
    probs = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    labels = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    table = calibration_table(probs, labels)
    assert [(b["low"], b["rows"]) for b in table] == [(0.0, 1), (0.1, 2), (0.9, 2)]
    assert table[1]["mean_predicted"] == pytest.approx(0.135) and table[1]["observed_rate"] == 0.5
