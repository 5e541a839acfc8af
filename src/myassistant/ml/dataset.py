"""A dataset: point-in-time features, the forward label and the prices the backtest needs, row-aligned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from myassistant.ml.features import FEATURE_COLUMNS, build_features
from myassistant.ml.labels import make_labels
from myassistant.trading.costs import CostRates

if TYPE_CHECKING:  # pandas loads with the first features built, not when the service starts
    import pandas as pd


@dataclass(frozen=True)
class Frames:
    """What a dataset or a live row is built from, as read from the database.

    `prices`: bars (index `ts` = open time, UTC), with warm-up history before `first_row`;
    `news`: the annotated articles those bars need (news frame contract); `news_since`: when the
    system's news history starts, so a slice of the news is judged like the full history;
    `first_row`: the first bar that becomes a row (earlier bars only warm the features up).
    """

    prices: pd.DataFrame
    news: pd.DataFrame | None
    news_since: datetime | None = None
    first_row: datetime | None = None


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
    news_since: datetime | None = None,
    first_row: datetime | None = None,
) -> Dataset:
    """Features and labels from the prices and news frames of the data contracts.

    Bars before `first_row` only warm the features up: they are computed over, then left out.
    """
    import pandas as pd

    features = build_features(prices, news, symbol=symbol, timeframe=timeframe, news_since=news_since)
    labels = make_labels(prices, horizon_steps=horizon_steps, timeframe=timeframe, rates=rates)
    keep = slice(None) if first_row is None else prices.index >= pd.Timestamp(first_row)
    return Dataset(
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        features=features.loc[keep, list(FEATURE_COLUMNS)],
        labels=labels.loc[keep],
        prices=prices.loc[keep, ["open", "close"]].astype(np.float64),
    )


def dataset_from_frames(
    frames: Frames, *, symbol: str, timeframe: str, horizon_steps: int, rates: CostRates[Any]
) -> Dataset:
    """`build_dataset` over frames read from the database."""
    return build_dataset(
        frames.prices,
        frames.news,
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        rates=rates,
        news_since=frames.news_since,
        first_row=frames.first_row,
    )
