from __future__ import annotations

import numpy as np
import pytest

from myassistant.core.errors import InvalidInput
from myassistant.market.logic import Pair
from myassistant.market.schemas import checked_pair
from myassistant.ml.dataset import build_dataset
from myassistant.ml.predictors import top_contributions
from myassistant.ml.training import TrainConfig, train
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.ml import make_news, make_prices

RATES = rates_from_bps(10, 5)
DATASET = build_dataset(
    make_prices(1500, seed=6, autocorrelation=0.3, volatility=0.006),
    make_news(),
    symbol="BTC/USDT",
    timeframe="15m",
    horizon_steps=4,
    rates=RATES,
)
RESULT = train(DATASET, rates=RATES, min_train_rows=200, config=TrainConfig(n_estimators=30, n_jobs=1))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


@pytest.mark.parametrize("kind", ["xgboost", "logistic"])
def test_contributions_add_up_to_the_prediction(kind: str) -> None:
    predictor = RESULT.candidates[kind]
    row = DATASET.features.to_numpy()[-1]
    shares = predictor.contributions(row)
    assert set(shares) == {*predictor.features, "bias"}
    assert sum(shares.values()) == pytest.approx(_logit(predictor.predict_proba(row)[0]), abs=1e-5)


def test_top_contributions_rank_features_by_influence() -> None:
    row = DATASET.features.to_numpy()[-1]
    top = top_contributions(RESULT.predictor, row, limit=3)
    assert len(top) == 3 and [abs(t["contribution"]) for t in top] == sorted(
        (abs(t["contribution"]) for t in top), reverse=True
    )
    assert {t["feature"] for t in top} <= set(RESULT.predictor.features)


def test_pair_values_from_service_callers_are_validated_as_invalid_input() -> None:
    assert checked_pair(Pair("Bybit", "btc/usdt", "15m", 3)).symbol == "BTC/USDT"
    with pytest.raises(InvalidInput, match="invalid pair: malformed symbol"):
        checked_pair(Pair("bybit", "BTC", "15m", 3))
