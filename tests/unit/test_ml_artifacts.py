from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from myassistant.core.errors import InvalidInput, PreconditionFailed
from myassistant.ml import artifacts
from myassistant.ml.dataset import build_dataset
from myassistant.ml.training import TrainConfig, train
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.ml import make_prices, tiny_predictor

CREATED = datetime(2026, 1, 15, 12, 0, 5, tzinfo=UTC)
RATES = rates_from_bps(10, 5)


def _trained():
    dataset = build_dataset(
        make_prices(1500, seed=2, autocorrelation=0.3, volatility=0.006),
        None,
        symbol="BTC/USDT",
        timeframe="15m",
        horizon_steps=4,
        rates=RATES,
    )
    config = TrainConfig(n_estimators=30, early_stopping_rounds=10, n_jobs=1)
    return dataset, train(dataset, rates=RATES, min_train_rows=200, config=config)


DATASET, RESULT = _trained()


def _save(predictor, tmp_path: Path, **details) -> artifacts.SavedModel:
    return artifacts.save_model(
        predictor,
        artifacts_dir=tmp_path,
        exchange="bybit",
        symbol="BTC/USDT",
        timeframe="15m",
        horizon_steps=4,
        created_at=CREATED,
        details={"threshold": 0.5, **details},
    )


def _load(saved: artifacts.SavedModel, tmp_path: Path, predictor):
    return artifacts.load_predictor(
        saved.model_file,
        artifacts_dir=tmp_path,
        sha256=saved.sha256,
        kind=predictor.kind,
        features=predictor.features,
    )


@pytest.mark.parametrize("kind", ["xgboost", "logistic"])
def test_a_loaded_model_gives_identical_probabilities(kind: str, tmp_path: Path) -> None:
    predictor = RESULT.candidates[kind]
    saved = _save(predictor, tmp_path)
    loaded = _load(saved, tmp_path, predictor)
    rows = DATASET.features.to_numpy()
    np.testing.assert_array_equal(loaded.predict_proba(rows), predictor.predict_proba(rows))
    assert loaded.contributions(rows[-1]) == pytest.approx(predictor.contributions(rows[-1]))


def test_files_are_named_by_pair_horizon_and_utc_time_and_never_collide(tmp_path: Path) -> None:
    first, second = _save(tiny_predictor(), tmp_path), _save(tiny_predictor(), tmp_path)
    assert first.model_file == "bybit_BTC-USDT_15m_h4_20260115T120005Z.model.json"
    assert first.meta_file == "bybit_BTC-USDT_15m_h4_20260115T120005Z.meta.json"
    assert second.model_file == "bybit_BTC-USDT_15m_h4_20260115T120005Z-2.model.json"
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == sorted(
        [first.model_file, first.meta_file, second.model_file, second.meta_file]
    )


def test_metadata_records_features_threshold_versions_range_and_hash(tmp_path: Path) -> None:
    saved = _save(RESULT.predictor, tmp_path, data_range={"start": "a", "end": "b"}, metrics={"auc": 0.6})
    meta = json.loads((tmp_path / "models" / saved.meta_file).read_text())
    assert (
        meta["model_sha256"]
        == saved.sha256
        == artifacts.sha256_of((tmp_path / "models" / saved.model_file).read_bytes())
    )
    assert meta["features"] == list(RESULT.predictor.features)
    assert meta["threshold"] == 0.5 and meta["data_range"] == {"start": "a", "end": "b"}
    assert {"python", "numpy", "pandas", "xgboost", "sklearn"} <= set(meta["versions"])
    assert "unknown" not in meta["versions"].values()
    assert (
        artifacts.read_metadata(saved.meta_file, artifacts_dir=tmp_path)["model_kind"]
        == RESULT.predictor.kind
    )


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    predictor = RESULT.candidates["logistic"]
    saved = _save(predictor, tmp_path)
    path = tmp_path / "models" / saved.model_file
    path.write_text(path.read_text().replace('"intercept": ', '"intercept": 1'))
    with pytest.raises(PreconditionFailed, match="integrity check"):
        _load(saved, tmp_path, predictor)


def test_paths_outside_the_models_dir_are_refused(tmp_path: Path) -> None:
    predictor = tiny_predictor()
    saved = _save(predictor, tmp_path)
    outside = tmp_path / "elsewhere.model.json"
    outside.write_bytes((tmp_path / "models" / saved.model_file).read_bytes())
    link = tmp_path / "models" / "link.model.json"
    try:
        os.symlink(outside, link)
        links = [link.name]
    except OSError:  # symlinks may need privileges on Windows
        links = []
    odd = ["a\x00b", "x" * 300, str(tmp_path / "models" / ("y" * 300))]
    candidates = [str(outside), f"../{outside.name}", "/etc/passwd", *odd] + links
    for candidate in candidates:
        with pytest.raises(InvalidInput, match="not a file inside|does not exist"):
            artifacts.load_predictor(
                candidate,
                artifacts_dir=tmp_path,
                sha256=saved.sha256,
                kind="logistic",
                features=predictor.features,
            )


def test_a_model_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    junk = tmp_path / "models" / "junk.model.json"
    junk.write_bytes(b"not json")
    for kind in ("xgboost", "logistic"):
        with pytest.raises(InvalidInput, match="not a valid"):
            artifacts.load_predictor(
                junk.name,
                artifacts_dir=tmp_path,
                sha256=artifacts.sha256_of(b"not json"),
                kind=kind,
                features=("a",),
            )
