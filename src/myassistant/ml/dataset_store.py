"""Datasets as parquet artifacts under `<ARTIFACTS_DIR>/datasets`, each with a `datasets` metadata row."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.errors import PreconditionFailed
from myassistant.market.logic import Pair
from myassistant.ml import health, runs
from myassistant.ml.artifacts import artifact_stem, create_exclusive, sha256_of
from myassistant.ml.schemas import DatasetBuildRequest, DatasetRead
from myassistant.ml.tables import DatasetArtifact
from myassistant.trading.costs import rates_from_bps
from myassistant.trading.service import broker_settings

if TYPE_CHECKING:  # building loads pandas and the feature code; listing stored datasets does not
    from myassistant.ml.dataset import Dataset

DATASETS_SUBDIR = "datasets"
PARQUET_SUFFIX = ".parquet"


def datasets_dir(artifacts_dir: Path) -> Path:
    return artifacts_dir / DATASETS_SUBDIR


def build(session: Session, *, settings: Settings, request: DatasetBuildRequest) -> DatasetRead:
    """Build a pair's dataset from the stored prices and news, save it as parquet and record it.

    Without `start` or `bars` the rows are the last `train_bars` (model policy) stored bars, as
    training would use. 412 when no prices are stored or there are fewer labelled rows than the
    policy's `min_train_rows`.
    """
    from myassistant.ml.dataset import dataset_from_frames
    from myassistant.ml.features import WARMUP_BARS
    from myassistant.ml.fitting import costs_of
    from myassistant.ml.frames import load_frames

    pair = request.pair(settings)
    policy = health.get_policy(session)
    costs = costs_of(broker_settings(session))
    bars = request.bars if request.bars is not None or request.start is not None else policy.train_bars
    frames = load_frames(session, pair=pair, start=request.start, end=request.end, bars=bars)
    session.commit()  # nothing held while computing
    rates = rates_from_bps(costs.fee_bps, costs.slippage_bps)
    dataset = dataset_from_frames(
        frames, symbol=pair.symbol, timeframe=pair.timeframe, horizon_steps=pair.horizon_steps, rates=rates
    )
    summary = dataset.summary()
    if summary["labelled_rows"] < policy.min_train_rows:
        raise PreconditionFailed(
            f"too few rows for {pair.exchange} {pair.symbol} {pair.timeframe} h{pair.horizon_steps}: "
            f"{summary['labelled_rows']} labelled rows < min_train_rows {policy.min_train_rows}; "
            "widen the range or fetch more price history"
        )
    params = {
        "fee_bps": costs.fee_bps,
        "slippage_bps": costs.slippage_bps,
        "warmup_bars": WARMUP_BARS,
        "news_since": frames.news_since.isoformat() if frames.news_since else None,
        "news_articles": 0 if frames.news is None else len(frames.news),
    }
    return _store(session, settings=settings, pair=pair, dataset=dataset, summary=summary, params=params)


def _parquet_bytes(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.frame().to_parquet(buffer, engine="pyarrow")
    return buffer.getvalue()


def _store(
    session: Session,
    *,
    settings: Settings,
    pair: Pair,
    dataset: Dataset,
    summary: dict[str, Any],
    params: dict[str, Any],
) -> DatasetRead:
    raw = _parquet_bytes(dataset)
    created_at = clock.now()
    directory = datasets_dir(settings.artifacts_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = create_exclusive(directory, artifact_stem(*pair.key(), created_at), raw, suffix=PARQUET_SUFFIX)
    index = dataset.features.index
    row = DatasetArtifact(
        **pair.as_dict(),
        data_start=index[0].to_pydatetime(),
        data_end=index[-1].to_pydatetime(),
        rows=summary["rows"],
        labelled_rows=summary["labelled_rows"],
        features=summary["features"],
        class_balance={k: summary[k] for k in ("positives", "negatives", "positive_rate")},
        params=params,
        path=f"{DATASETS_SUBDIR}/{path.name}",
        sha256=sha256_of(raw),
        size_bytes=len(raw),
        created_at=created_at,
    )
    try:
        session.add(row)
        session.flush()
    except BaseException:
        path.unlink(missing_ok=True)  # no file without its row
        raise
    return to_read(row, settings)


def to_read(row: DatasetArtifact, settings: Settings) -> DatasetRead:
    return DatasetRead(
        exchange=row.exchange,
        symbol=row.symbol,
        timeframe=row.timeframe,
        horizon_steps=row.horizon_steps,
        id=row.id,
        data_start=row.data_start,
        data_end=row.data_end,
        rows=row.rows,
        labelled_rows=row.labelled_rows,
        features=[str(name) for name in row.features],
        class_balance=row.class_balance,
        params=row.params,
        path=str((settings.artifacts_dir / row.path).resolve()),
        relative_path=row.path,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
    )


def list_datasets(
    session: Session,
    *,
    settings: Settings,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    horizon_steps: int | None = None,
    limit: int = 50,
) -> list[DatasetRead]:
    """Stored datasets, newest first, filtered by any of the pair's fields."""
    query = select(DatasetArtifact).order_by(DatasetArtifact.created_at.desc(), DatasetArtifact.id.desc())
    query = runs.where_given(query, DatasetArtifact, exchange=exchange, symbol=symbol, timeframe=timeframe)
    query = runs.where_given(query, DatasetArtifact, horizon_steps=horizon_steps)
    return [to_read(row, settings) for row in session.scalars(query.limit(limit))]
