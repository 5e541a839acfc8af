"""Trained models as predictors: probabilities, per-feature contributions, and a code-free file format.

XGBoost models serialise as the Booster's own JSON; the logistic baseline as plain JSON (imputation
values, scaler mean/scale, coefficients, intercept) evaluated with numpy. Neither format runs code
when loaded, unlike pickle.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from myassistant.core.errors import InvalidInput

if TYPE_CHECKING:  # xgboost is imported when a model is first used: the service starts without it
    import xgboost as xgb

FloatArray = NDArray[np.float64]
ModelKind = Literal["xgboost", "logistic"]
MODEL_KINDS: tuple[ModelKind, ...] = ("xgboost", "logistic")


class Predictor(Protocol):
    kind: ModelKind
    features: tuple[str, ...]

    def predict_proba(self, rows: FloatArray) -> FloatArray:
        """P(label = 1) per row; `rows` has the columns of `features`, NaN allowed."""
        ...

    def contributions(self, row: FloatArray) -> dict[str, float]:
        """Each feature's additive share of the log-odds for one row, plus "bias"."""
        ...

    def to_bytes(self) -> bytes: ...


class XGBoostPredictor:
    kind: ModelKind = "xgboost"

    def __init__(self, booster: xgb.Booster, features: tuple[str, ...]) -> None:
        booster.feature_names = list(features)
        # One thread: single-row predictions are latency-bound, and training ran elsewhere.
        booster.set_param({"nthread": 1})
        self.booster = booster
        self.features = features

    def predict_proba(self, rows: FloatArray) -> FloatArray:
        return np.asarray(self.booster.inplace_predict(_as_matrix(rows, self.features)), dtype=np.float64)

    def contributions(self, row: FloatArray) -> dict[str, float]:
        import xgboost as xgb

        matrix = xgb.DMatrix(
            _as_matrix(row, self.features), feature_names=list(self.features), missing=np.nan
        )
        values = self.booster.predict(matrix, pred_contribs=True)[0]
        return {name: float(v) for name, v in zip((*self.features, "bias"), values, strict=True)}

    def to_bytes(self) -> bytes:
        return bytes(self.booster.save_raw(raw_format="json"))

    @classmethod
    def from_bytes(cls, raw: bytes, features: tuple[str, ...]) -> XGBoostPredictor:
        import xgboost as xgb

        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError as exc:
            raise InvalidInput(f"not a valid XGBoost model file: {str(exc).splitlines()[0]}") from exc
        return cls(booster, features)


class LinearPredictor:
    """Logistic regression on standardised features with train-median imputation, in numpy."""

    kind: ModelKind = "logistic"

    def __init__(
        self,
        features: tuple[str, ...],
        impute: FloatArray,
        mean: FloatArray,
        scale: FloatArray,
        coef: FloatArray,
        intercept: float,
    ) -> None:
        self.features = features
        self.impute, self.mean, self.scale, self.coef = impute, mean, scale, coef
        self.intercept = intercept

    def standardise(self, rows: FloatArray) -> FloatArray:
        matrix = _as_matrix(rows, self.features)
        filled = np.where(np.isnan(matrix), self.impute, matrix)
        return (filled - self.mean) / self.scale

    def predict_proba(self, rows: FloatArray) -> FloatArray:
        logits = self.standardise(rows) @ self.coef + self.intercept
        return np.asarray(1 / (1 + np.exp(-logits)), dtype=np.float64)

    def contributions(self, row: FloatArray) -> dict[str, float]:
        shares = self.standardise(row)[0] * self.coef
        return {**{n: float(v) for n, v in zip(self.features, shares, strict=True)}, "bias": self.intercept}

    def to_bytes(self) -> bytes:
        document = {
            "format": "myassistant.logistic/1",
            "features": list(self.features),
            "impute": self.impute.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }
        return json.dumps(document, indent=1).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, features: tuple[str, ...]) -> LinearPredictor:
        try:
            doc = json.loads(raw)
            arrays = [np.asarray(doc[key], dtype=np.float64) for key in ("impute", "mean", "scale", "coef")]
            intercept = float(doc["intercept"])
            stored = tuple(str(name) for name in doc["features"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"not a valid logistic model file: {exc}") from exc
        if stored != features or any(a.shape != (len(features),) for a in arrays):
            raise InvalidInput("logistic model file does not match its feature list")
        impute, mean, scale, coef = arrays
        return cls(features, impute, mean, scale, coef, intercept)


def predictor_from_bytes(kind: str, raw: bytes, features: tuple[str, ...]) -> Predictor:
    if kind == "xgboost":
        return XGBoostPredictor.from_bytes(raw, features)
    if kind == "logistic":
        return LinearPredictor.from_bytes(raw, features)
    raise InvalidInput(f"unknown model kind {kind!r}; known: {list(MODEL_KINDS)}")


def top_contributions(predictor: Predictor, row: FloatArray, *, limit: int = 5) -> list[dict[str, Any]]:
    """The features that moved this row's prediction most, largest first (the bias excluded)."""
    shares = predictor.contributions(row)
    shares.pop("bias", None)
    ranked = sorted(shares.items(), key=lambda item: abs(item[1]), reverse=True)[:limit]
    values = dict(zip(predictor.features, _as_matrix(row, predictor.features)[0], strict=True))
    return [
        {
            "feature": name,
            "contribution": share,
            "value": None if np.isnan(values[name]) else float(values[name]),
        }
        for name, share in ranked
    ]


def _as_matrix(rows: FloatArray, features: tuple[str, ...]) -> FloatArray:
    matrix = np.asarray(rows, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != len(features):
        raise InvalidInput(f"expected rows of {len(features)} features, got shape {matrix.shape}")
    return matrix
