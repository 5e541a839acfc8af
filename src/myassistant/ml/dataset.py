"""A dataset: point-in-time features, the forward label and the prices the backtest needs, row-aligned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from myassistant.ml.features import FEATURE_COLUMNS, build_features
from myassistant.ml.labels import make_labels
from myassistant.trading.costs import CostRates


@dataclass(frozen=True)
class Dataset:
    """Rows are bars (index `ts` = open time); the last rows have no label (their future is unknown)."""

    symbol: str
    timeframe: str
    horizon_steps: int
    features: pd.DataFrame
    labels: pd.Series
    prices: pd.DataFrame  # open and close, for backtests

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.features.columns)

    def frame(self) -> pd.DataFrame:
        """Features plus `label`, as stored in a parquet artifact."""
        return self.features.assign(label=self.labels)

    def summary(self) -> dict[str, Any]:
        """Rows, labelled rows, range and class balance, for dataset metadata."""
        labelled = self.labels.dropna()
        positives = int((labelled == 1).sum())
        index = self.features.index
        return {
            "rows": len(index),
            "labelled_rows": len(labelled),
            "start": index[0].isoformat() if len(index) else None,
            "end": index[-1].isoformat() if len(index) else None,
            "features": list(self.feature_names),
            "positives": positives,
            "negatives": len(labelled) - positives,
            "positive_rate": positives / len(labelled) if len(labelled) else None,
        }


def build_dataset(
    prices: pd.DataFrame,
    news: pd.DataFrame | None,
    *,
    symbol: str,
    timeframe: str,
    horizon_steps: int,
    rates: CostRates[Any],
) -> Dataset:
    """Features and labels from the prices and news frames of the data contracts."""
    features = build_features(prices, news, symbol=symbol, timeframe=timeframe)
    labels = make_labels(prices, horizon_steps=horizon_steps, timeframe=timeframe, rates=rates)
    return Dataset(
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        features=features[list(FEATURE_COLUMNS)],
        labels=labels,
        prices=prices[["open", "close"]].astype(np.float64),
    )
