"""Training on a dataset: purged time splits, XGBoost vs a logistic baseline, threshold on validation.

Nothing here touches the database or files. The test part is used only after the model and the
threshold are fixed, to report honest out-of-sample numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from myassistant.core.errors import PreconditionFailed
from myassistant.ml.backtest import run_backtest, select_signal_bars
from myassistant.ml.dataset import Dataset
from myassistant.ml.predictors import LinearPredictor, Predictor, XGBoostPredictor
from myassistant.trading import costs
from myassistant.trading.costs import CostRates

# xgboost and scikit-learn load on the first training or scoring, not when the service starts: together
# they cost seconds and ~150 MB that an idle service never uses.

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
MIN_PART_ROWS = 20
CALIBRATION_BUCKETS = 10


@dataclass(frozen=True)
class TrainConfig:
    """Split fractions and model settings; defaults are the product's, tests shrink the trees."""

    train_fraction: float = 0.6
    validation_fraction: float = 0.2
    n_estimators: int = 300
    max_depth: int = 4
    learning_rate: float = 0.05
    early_stopping_rounds: int = 30
    seed: int = 42
    n_jobs: int = 2
    walk_forward_folds: int = 0
    threshold_quantiles: tuple[float, ...] = tuple(np.round(np.linspace(0.5, 0.99, 50), 4))


@dataclass(frozen=True)
class Split:
    """Row positions (into the dataset) of each part; parts are separated by `horizon_steps` bars."""

    train: IntArray
    validation: IntArray
    test: IntArray

    def describe(self, dataset: Dataset) -> dict[str, Any]:
        index = dataset.features.index
        return {
            name: {"rows": len(rows), "start": index[rows[0]].isoformat(), "end": index[rows[-1]].isoformat()}
            for name, rows in (("train", self.train), ("validation", self.validation), ("test", self.test))
        }


@dataclass(frozen=True)
class TrainingResult:
    predictor: Predictor
    threshold: float
    metrics: dict[str, Any]
    split: Split
    rows: int  # labelled rows of the dataset (what min_train_rows is checked against)
    candidates: dict[str, Predictor] = field(default_factory=dict)


@dataclass(frozen=True)
class Holdout:
    """A run's test rows and the bars their trades need, kept so another model can be scored on them."""

    dataset: Dataset
    rows: IntArray  # positions into `dataset`
    rates: CostRates[Any]


@dataclass(frozen=True)
class Score:
    """One model on a set of rows at its own threshold."""

    auc: float | None
    total_return: float


def exit_window(dataset: Dataset, rows: IntArray) -> slice:
    """Bars from the first of `rows` through the last one's exit bar (row + 1 + horizon), within the data."""
    return slice(int(rows[0]), min(int(rows[-1]) + dataset.horizon_steps + 2, len(dataset.prices)))


def holdout_of(dataset: Dataset, split: Split, rates: CostRates[Any]) -> Holdout:
    """The test part of `split`, cut out of `dataset` with the bars after it that exits need."""
    window = exit_window(dataset, split.test)
    part = replace(
        dataset,
        features=dataset.features.iloc[window],
        labels=dataset.labels.iloc[window],
        prices=dataset.prices.iloc[window],
    )
    return Holdout(part, split.test - window.start, rates)


def rows_from(holdout: Holdout, start: pd.Timestamp) -> IntArray:
    """The holdout's rows at or after `start` (where another model's own out-of-sample part begins)."""
    after: NDArray[np.bool_] = np.asarray(holdout.dataset.features.index[holdout.rows] >= start)
    return holdout.rows[after]


def score_on(holdout: Holdout, rows: IntArray, predictor: Predictor, threshold: float) -> Score:
    """AUC and backtest return (fees and slippage included) of `predictor` on `rows` of the holdout."""
    x = holdout.dataset.features.loc[:, list(predictor.features)].to_numpy(dtype=np.float64)[rows]
    metrics = evaluate(holdout.dataset, rows, predictor.predict_proba(x), threshold, holdout.rates)
    return Score(auc=metrics["auc"], total_return=float(metrics["backtest"]["total_return"]))


def purged_split(dataset: Dataset, config: TrainConfig, *, min_rows: int) -> Split:
    """Time-ordered train/validation/test over labelled rows, dropping `horizon_steps` bars between parts."""
    labelled = np.flatnonzero(dataset.labels.notna().to_numpy()).astype(np.int64)
    if len(labelled) < min_rows:
        raise PreconditionFailed(
            f"not enough labelled rows to train: {len(labelled)} < min_train_rows {min_rows}; "
            "fetch more price history or lower min_train_rows in the model policy"
        )
    gap = dataset.horizon_steps
    train_end = labelled[int(len(labelled) * config.train_fraction) - 1]
    validation_end = labelled[int(len(labelled) * (config.train_fraction + config.validation_fraction)) - 1]
    train = labelled[labelled <= train_end]
    validation = labelled[(labelled > train_end + gap) & (labelled <= validation_end)]
    test = labelled[labelled > validation_end + gap]
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        if len(part) < MIN_PART_ROWS:
            raise PreconditionFailed(
                f"the {name} part has {len(part)} rows after purge gaps of {gap} bars; "
                f"need at least {MIN_PART_ROWS}: fetch more history"
            )
    return Split(train=train, validation=validation, test=test)


def train(
    dataset: Dataset, *, rates: CostRates[Any], min_train_rows: int, config: TrainConfig | None = None
) -> TrainingResult:
    """Fit both models, keep the better on validation AUC, choose the threshold, report test metrics."""
    config = config or TrainConfig()
    split = purged_split(dataset, config, min_rows=min_train_rows)
    x = dataset.features.to_numpy(dtype=np.float64)
    y = dataset.labels.to_numpy(dtype=np.float64)
    for name, part in (("train", split.train), ("validation", split.validation)):
        _require_both_classes(name, y[part])
    features = dataset.feature_names
    fitted: dict[str, Predictor] = {
        "xgboost": _fit_xgboost(x, y, split, features, config),
        "logistic": _fit_logistic(x[split.train], y[split.train], features),
    }
    summaries = {kind: _candidate_summary(model, x, y, split) for kind, model in fitted.items()}
    kind = max(summaries, key=lambda k: (summaries[k]["validation_auc"] or 0.0, k == "xgboost"))
    chosen = fitted[kind]
    validation_probs = chosen.predict_proba(x[split.validation])
    threshold, search = choose_threshold(dataset, split.validation, validation_probs, rates, config)
    metrics: dict[str, Any] = {
        "model_kind": kind,
        "candidates": summaries,
        "split": split.describe(dataset),
        "class_balance": {name: _balance(y[rows]) for name, rows in _parts(split)},
        "threshold_search": search,
        "test": evaluate(dataset, split.test, chosen.predict_proba(x[split.test]), threshold, rates),
    }
    if config.walk_forward_folds > 0:
        metrics["walk_forward"] = walk_forward(dataset, kind, config, summaries[kind], x, y)
    labelled_rows = int(dataset.labels.notna().sum())
    return TrainingResult(chosen, threshold, _json_safe(metrics), split, labelled_rows, fitted)


def _parts(split: Split) -> list[tuple[str, IntArray]]:
    return [("train", split.train), ("validation", split.validation), ("test", split.test)]


def _require_both_classes(name: str, labels: FloatArray) -> None:
    present = set(np.unique(labels).astype(int).tolist())
    if present != {0, 1}:
        only = "none" if not present else str(sorted(present)[0])
        raise PreconditionFailed(
            f"the {name} part has only label {only}: both classes (profitable and not) are needed; "
            "use more history, a different horizon, or lower costs"
        )


def _balance(labels: FloatArray) -> dict[str, Any]:
    return {"rows": len(labels), "positive_rate": float(labels.mean()) if len(labels) else None}


def _xgboost_params(config: TrainConfig) -> dict[str, Any]:
    return {
        "max_depth": config.max_depth,
        "learning_rate": config.learning_rate,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "tree_method": "hist",
        "random_state": config.seed,
        "n_jobs": config.n_jobs,
    }


def _fit_xgboost(
    x: FloatArray, y: FloatArray, split: Split, features: tuple[str, ...], config: TrainConfig
) -> XGBoostPredictor:
    import xgboost as xgb

    model = xgb.XGBClassifier(
        **_xgboost_params(config),
        n_estimators=config.n_estimators,
        early_stopping_rounds=config.early_stopping_rounds,
        eval_metric="auc",
    )
    model.fit(
        x[split.train], y[split.train], eval_set=[(x[split.validation], y[split.validation])], verbose=False
    )
    # Keep only the trees up to the best validation round, so every later prediction uses exactly them.
    booster = model.get_booster()[: int(model.best_iteration) + 1]
    return XGBoostPredictor(booster, features)


def _fit_logistic(x: FloatArray, y: FloatArray, features: tuple[str, ...]) -> LinearPredictor:
    with np.errstate(all="ignore"):
        impute = np.nanmedian(np.where(np.isnan(x).all(axis=0), 0.0, x), axis=0)
    impute = np.nan_to_num(impute, nan=0.0)
    filled = np.where(np.isnan(x), impute, x)
    mean, std = filled.mean(axis=0), filled.std(axis=0)
    scale = np.where(std > 1e-12, std, 1.0)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((filled - mean) / scale, y)
    return LinearPredictor(
        features, impute, mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0])
    )


def _candidate_summary(model: Predictor, x: FloatArray, y: FloatArray, split: Split) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "validation_auc": _auc(y[split.validation], model.predict_proba(x[split.validation])),
        "test_auc": _auc(y[split.test], model.predict_proba(x[split.test])),
    }
    if isinstance(model, XGBoostPredictor):
        summary["trees"] = model.booster.num_boosted_rounds()
    return summary


def _auc(labels: FloatArray, probs: FloatArray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, probs)) if len(np.unique(labels)) == 2 else None


def _part_prices(dataset: Dataset, rows: IntArray) -> tuple[FloatArray, FloatArray, slice]:
    """Open and close from a part's first row through the exit bar of its last row."""
    window = exit_window(dataset, rows)
    prices = dataset.prices.iloc[window]
    return prices["open"].to_numpy(), prices["close"].to_numpy(), window


def _part_signal(rows: IntArray, window: slice, take: NDArray[np.bool_]) -> NDArray[np.bool_]:
    signal = np.zeros(window.stop - window.start, dtype=bool)
    signal[rows[take] - window.start] = True
    return signal


def choose_threshold(
    dataset: Dataset,
    rows: IntArray,
    probs: FloatArray,
    rates: CostRates[Any],
    config: TrainConfig | None = None,
) -> tuple[float, list[dict[str, Any]]]:
    """The probability cut that maximises the backtest return on these rows; ties → higher precision."""
    config = config or TrainConfig()
    labels = dataset.labels.to_numpy()[rows]
    open_, _close, window = _part_prices(dataset, rows)
    candidates = np.unique(np.quantile(probs, config.threshold_quantiles))
    table: list[dict[str, Any]] = []
    for cut in candidates:
        take = probs >= cut
        signal_bars = select_signal_bars(_part_signal(rows, window, take), dataset.horizon_steps)
        entries = signal_bars + 1
        growth = costs.round_trip_growth(open_[entries], open_[entries + dataset.horizon_steps], rates)
        table.append(
            {
                "threshold": float(cut),
                "total_return": float(np.prod(growth) - 1),
                "trades": len(signal_bars),
                "precision": float(labels[take].mean()) if take.any() else 0.0,
                "coverage": float(take.mean()),
            }
        )
    best = max(table, key=lambda row: (round(row["total_return"], 12), row["precision"], row["threshold"]))
    return best["threshold"], table


def evaluate(
    dataset: Dataset, rows: IntArray, probs: FloatArray, threshold: float, rates: CostRates[Any]
) -> dict[str, Any]:
    """Out-of-sample metrics at a fixed threshold: ranking, calibration, and the backtest."""
    labels = dataset.labels.to_numpy()[rows]
    take = probs >= threshold
    open_, close, window = _part_prices(dataset, rows)
    backtest = run_backtest(
        open_,
        close,
        _part_signal(rows, window, take),
        horizon_steps=dataset.horizon_steps,
        rates=rates,
        timeframe=dataset.timeframe,
    )
    from sklearn.metrics import average_precision_score, brier_score_loss

    positives = labels == 1
    return {
        "rows": len(rows),
        "auc": _auc(labels, probs),
        "pr_auc": float(average_precision_score(labels, probs)) if positives.any() else None,
        "brier": float(brier_score_loss(labels, probs)),
        "precision": float(positives[take].mean()) if take.any() else None,
        "recall": float(take[positives].mean()) if positives.any() else None,
        "coverage": float(take.mean()),
        "calibration": calibration_table(probs, labels),
        "backtest": backtest.metrics.to_dict(),
    }


def calibration_table(
    probs: FloatArray, labels: FloatArray, buckets: int = CALIBRATION_BUCKETS
) -> list[dict[str, Any]]:
    """Predicted vs observed positive rate per probability bucket of equal width (empty buckets left out)."""
    bucket = np.minimum((probs * buckets).astype(np.int64), buckets - 1)
    counts = np.bincount(bucket, minlength=buckets)
    predicted = np.bincount(bucket, weights=probs, minlength=buckets)
    observed = np.bincount(bucket, weights=labels, minlength=buckets)
    return [
        {
            "low": i / buckets,
            "high": (i + 1) / buckets,
            "rows": int(counts[i]),
            "mean_predicted": float(predicted[i] / counts[i]),
            "observed_rate": float(observed[i] / counts[i]),
        }
        for i in np.flatnonzero(counts)
    ]


def walk_forward(
    dataset: Dataset, kind: str, config: TrainConfig, summary: dict[str, Any], x: FloatArray, y: FloatArray
) -> dict[str, Any]:
    """AUC over k expanding folds (each tested on the next block after a purge gap), chosen model kind."""
    labelled = np.flatnonzero(dataset.labels.notna().to_numpy()).astype(np.int64)
    folds = config.walk_forward_folds
    cuts = [int(len(labelled) * i / (folds + 1)) for i in range(1, folds + 2)]
    aucs: list[float | None] = []
    for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
        train_rows = labelled[:start]
        test_rows = labelled[start:stop]
        test_rows = test_rows[test_rows > train_rows[-1] + dataset.horizon_steps]
        if len(np.unique(y[train_rows])) < 2 or not len(test_rows):
            aucs.append(None)
            continue
        model = _fit_fixed(kind, x[train_rows], y[train_rows], dataset.feature_names, config, summary)
        aucs.append(_auc(y[test_rows], model.predict_proba(x[test_rows])))
    scored = [a for a in aucs if a is not None]
    return {
        "folds": folds,
        "auc": aucs,
        "auc_mean": float(np.mean(scored)) if scored else None,
        "auc_std": float(np.std(scored)) if scored else None,
    }


def _fit_fixed(
    kind: str,
    x: FloatArray,
    y: FloatArray,
    features: tuple[str, ...],
    config: TrainConfig,
    summary: dict[str, Any],
) -> Predictor:
    if kind == "logistic":
        return _fit_logistic(x, y, features)
    import xgboost as xgb

    model = xgb.XGBClassifier(
        **_xgboost_params(config), n_estimators=int(summary.get("trees", config.n_estimators))
    )
    model.fit(x, y, verbose=False)
    return XGBoostPredictor(model.get_booster(), features)


def _json_safe(value: Any) -> Any:
    """Metrics as plain JSON: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
