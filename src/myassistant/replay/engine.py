"""Running replays: compute each pair's predictions in workers, run the loop, store the results.

A replay never touches the live paper account, the signal log, the model registry or Telegram: it
reads prices, news, runs and settings, and writes only its `replays` row and its own files. Each
pair's bars, features and predictions are computed in one go by a worker (joblib processes, or Dask
when DASK_SCHEDULER_ADDRESS is set, through `ml.fanout.parallel_backend`) from its own read-only
connection; the decision loop then runs over all pairs in memory (`replay.logic`). Results are
written to a staging folder and renamed into place, so a failure leaves no half-written files.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import DomainError, InvalidInput
from myassistant.jobs.runner import Progress
from myassistant.market import service as market
from myassistant.market.logic import Pair, timeframe_delta
from myassistant.market.schemas import checked_pair
from myassistant.ml import registry
from myassistant.ml.dataset import Frames
from myassistant.ml.fanout import parallel_backend
from myassistant.ml.features import WARMUP_BARS, build_features
from myassistant.ml.fitting import Costs, Trained, head_to_head, train_frames
from myassistant.ml.frames import NEWS_LOOKBACK, trailing_frames
from myassistant.ml.labels import make_labels
from myassistant.ml.policy import ModelPolicy, RunSummary, decide_promotion, is_stale
from myassistant.ml.predictors import Predictor
from myassistant.ml.tables import ModelRun
from myassistant.ml.training import TrainConfig
from myassistant.news import service as news_service
from myassistant.replay import logic
from myassistant.replay.logic import FloatArray, IntArray, ModelUsed, PairSeries, ReplayOutcome
from myassistant.replay.schemas import ReplaySpec, ReplaySummary
from myassistant.replay.service import (
    FAILED,
    MAX_ERROR_LENGTH,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    json_safe,
    queue,
    replay_dir,
    stored,
)
from myassistant.signals.logic import forward_returns
from myassistant.signals.risk import RiskPolicy
from myassistant.trading.costs import rates_from_bps
from myassistant.trading.logic import BrokerSettings

logger = logging.getLogger("myassistant.replay")


@dataclass(frozen=True)
class PairTask:
    """One pair's share of a replay, sent to a worker: everything it needs besides the database."""

    pair: Pair
    start: datetime
    end: datetime
    mode: str
    run_id: int | None
    retrain_every: timedelta
    train_bars: int
    model_policy: ModelPolicy
    costs: Costs
    config: TrainConfig | None = None


PairWorker = Callable[[Settings, PairTask], PairSeries]


# --- run: workers, loop, files ------------------------------------------------------------------------


def run_queued(
    database: Database,
    *,
    settings: Settings,
    replay_id: int,
    job_run_id: int | None = None,
    progress: Progress | None = None,
    config: TrainConfig | None = None,
    worker: PairWorker | None = None,
) -> ReplaySummary:
    """Run a queued replay to the end; a failure (a dying worker too) fails it with its error, re-raised."""
    with database.session() as session:
        row = stored(session, replay_id)
        if row.status != QUEUED:
            raise InvalidInput(
                f"replay_id: replay {replay_id} is {row.status}, not queued", field="replay_id"
            )
        row.status, row.started_at, row.job_run_id = RUNNING, clock.now(), job_run_id
        params = dict(row.params)
    try:
        metrics = execute(
            settings,
            replay_id,
            params,
            progress=progress or _quiet,
            config=config,
            worker=worker or predict_pair,
        )
    except Exception as exc:
        error = exc.detail if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        logger.warning("replay %s failed: %s", replay_id, error)
        _finish(database, replay_id, FAILED, {}, error)
        raise
    return _finish(database, replay_id, SUCCEEDED, metrics, None)


def _quiet(_done: int, _total: int, _label: str) -> None:
    return None


def _finish(
    database: Database, replay_id: int, status: str, metrics: dict[str, Any], error: str | None
) -> ReplaySummary:
    with database.session() as session:
        row = stored(session, replay_id)
        row.status, row.metrics, row.finished_at = status, metrics, clock.now()
        row.error = error[:MAX_ERROR_LENGTH] if error else None
        session.flush()
        return ReplaySummary.model_validate(row)


def execute(
    settings: Settings,
    replay_id: int,
    params: dict[str, Any],
    *,
    progress: Progress,
    config: TrainConfig | None = None,
    worker: PairWorker | None = None,
) -> dict[str, Any]:
    """Predictions in workers, the loop (twice for a what-if), then the files; returns the metrics."""
    tasks = tasks_of(params, config)
    steps = len(tasks) + 1 + (params["compare"] is not None)
    series = predict_pairs(
        settings, tasks, n_jobs=int(params["n_jobs"]), progress=progress, total=steps, worker=worker
    )
    policy = RiskPolicy.model_validate(params["risk_policy"])
    broker = BrokerSettings.model_validate(params["broker"])
    outcome = logic.run(series, policy=policy, broker=broker)
    progress(len(tasks) + 1, steps, "decisions replayed")
    tables = _tables(outcome, series)
    metrics: dict[str, Any] = json_safe(outcome.metrics | {"per_pair": _per_pair(series, outcome)})
    if params["compare"] is not None:
        alternative = logic.run(
            series,
            policy=RiskPolicy.model_validate(params["compare"].get("risk_policy", params["risk_policy"])),
            broker=BrokerSettings.model_validate(params["compare"].get("broker", params["broker"])),
        )
        progress(steps, steps, "what-if replayed")
        comparison = logic.compare(outcome, alternative)
        tables |= {f"b_{name}": frame for name, frame in _tables(alternative, series).items()}
        tables["what_if"] = _what_if_rows(comparison)
        metrics["what_if"] = json_safe(
            {
                "b": comparison["b"],
                "total_return_difference": comparison["total_return_difference"],
                **{
                    side: {k: v for k, v in comparison[side].items() if k != "buys"}
                    for side in ("blocked_only_by_a", "blocked_only_by_b")
                },
            }
        )
    metrics["open_positions_at_end"] = outcome.open_positions
    write_results(replay_dir(settings, replay_id), tables)
    return metrics


def tasks_of(params: dict[str, Any], config: TrainConfig | None = None) -> list[PairTask]:
    broker = BrokerSettings.model_validate(params["broker"])
    costs = Costs(fee_bps=float(broker.fee_bps), slippage_bps=float(broker.slippage_bps))
    return [
        PairTask(
            pair=Pair(**pair),
            start=datetime.fromisoformat(params["start"]),
            end=datetime.fromisoformat(params["end"]),
            mode=params["mode"],
            run_id=params["run_id"],
            retrain_every=timedelta(days=float(params["retrain_every_days"])),
            train_bars=int(params["train_bars"]),
            model_policy=ModelPolicy.model_validate(params["model_policy"]),
            costs=costs,
            config=config,
        )
        for pair in params["pairs"]
    ]


def predict_pairs(
    settings: Settings,
    tasks: Sequence[PairTask],
    *,
    n_jobs: int,
    progress: Progress,
    total: int | None = None,
    worker: PairWorker | None = None,
) -> list[PairSeries]:
    """Every pair's series, computed in worker processes (or on the Dask cluster), in the pairs' order."""
    import joblib

    work = joblib.delayed(worker or predict_pair)
    done: list[PairSeries] = []
    with parallel_backend(min(n_jobs, len(tasks)), dask_address=settings.dask_scheduler_address):
        for series in joblib.Parallel(return_as="generator")(work(settings, task) for task in tasks):
            done.append(series)
            progress(len(done), total or len(tasks), f"{series.pair.symbol}: {len(series.models)} models")
    return done


# --- one pair, in a worker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _PairData:
    prices: pd.DataFrame  # warm-up (and walk-forward training) bars, the window, and the bars after it
    news: pd.DataFrame
    news_since: datetime | None
    run: ModelRun | None


def predict_pair(settings: Settings, task: PairTask) -> PairSeries:
    """Load one pair's bars and news (one connection, a few queries), then features and predictions."""
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.session(write=False) as session:
            data = _load(session, task)
            fixed = (
                registry.MODEL_CACHE.get(data.run, settings.artifacts_dir) if data.run is not None else None
            )
            session.expunge_all()
    finally:
        database.dispose()
    return series_for(task, data, fixed)


def _load(session: Session, task: PairTask) -> _PairData:
    pair, step = task.pair, timeframe_delta(task.pair.timeframe)
    before = WARMUP_BARS + (task.train_bars if task.mode == "walk_forward" else 0)
    read = functools.partial(
        market.load_prices, session, exchange=pair.exchange, symbol=pair.symbol, timeframe=pair.timeframe
    )
    history = read(end=task.start - step, limit=before)
    window = read(start=task.start, end=task.end + step * (pair.horizon_steps + 1))
    prices = pd.concat([history, window]) if not history.empty else window
    first_close = prices.index[0] + step
    last_close = pd.Timestamp(task.end) + step
    news = news_service.annotated_news_frame(
        session, since=(first_close - NEWS_LOOKBACK).to_pydatetime(), until=last_close.to_pydatetime()
    )
    run = session.get(ModelRun, task.run_id) if task.run_id is not None else None
    return _PairData(prices, news, news_service.news_history_start(session), run)


def series_for(task: PairTask, data: _PairData, fixed: Predictor | None) -> PairSeries:
    """Features of every bar (the live row's function, over the whole span at once), then predictions."""
    pair = task.pair
    features = build_features(
        data.prices, data.news, symbol=pair.symbol, timeframe=pair.timeframe, news_since=data.news_since
    )
    index = data.prices.index
    window = np.flatnonzero((index >= pd.Timestamp(task.start)) & (index <= pd.Timestamp(task.end)))
    bar_ns = index[window].as_unit("ns").asi8
    models: tuple[ModelUsed, ...]
    if fixed is not None and data.run is not None:
        models = (_run_model(data.run),)
        prob = fixed.predict_proba(_rows(features, window, fixed))
        threshold = np.full(len(window), models[0].threshold)
        model = np.zeros(len(window), dtype=np.int64)
        failures: tuple[dict[str, Any], ...] = ()
    else:
        models, prob, threshold, model, failures = _walk_forward(task, data, features, window)
    rates = rates_from_bps(task.costs.fee_bps, task.costs.slippage_bps)
    labels = make_labels(data.prices, horizon_steps=pair.horizon_steps, timeframe=pair.timeframe, rates=rates)
    earned = forward_returns(
        data.prices,
        list(index[window]),
        horizon_steps=pair.horizon_steps,
        timeframe=pair.timeframe,
        rates=rates,
    )
    return PairSeries(
        pair=pair,
        bar_ns=np.asarray(bar_ns, dtype=np.int64),
        open=data.prices["open"].to_numpy(dtype=np.float64)[window],
        close=data.prices["close"].to_numpy(dtype=np.float64)[window],
        prob=np.asarray(prob, dtype=np.float64),
        threshold=threshold,
        model=model,
        vol_norm=features["vol_norm"].to_numpy(dtype=np.float64)[window],
        ret_std_24=features["ret_std_24"].to_numpy(dtype=np.float64)[window],
        forward_return=np.array([np.nan if v is None else v for v in earned], dtype=np.float64),
        label=labels.to_numpy(dtype=np.float64)[window],
        models=models,
        failures=failures,
    )


def _rows(features: pd.DataFrame, rows: IntArray, predictor: Predictor) -> FloatArray:
    values: FloatArray = features.loc[:, list(predictor.features)].to_numpy(dtype=np.float64)
    return values[rows]


def _run_model(run: ModelRun) -> ModelUsed:
    return ModelUsed(
        id=f"run {run.id}",
        run_id=run.id,
        kind=run.model_kind or "",
        threshold=float(run.threshold if run.threshold is not None else 0.5),
        trained_at=run.created_at,
        data_start=run.data_start,
        data_end=run.data_end,
        test_auc=run.test_auc,
        test_return=run.test_return,
        reason="fixed run",
    )


@dataclass
class _Incumbent:
    used: ModelUsed
    index: int
    predictor: Predictor
    summary: RunSummary
    test_start: pd.Timestamp


def _walk_forward(
    task: PairTask, data: _PairData, features: pd.DataFrame, window: IntArray
) -> tuple[tuple[ModelUsed, ...], FloatArray, FloatArray, IntArray, tuple[dict[str, Any], ...]]:
    """Retrain every `retrain_every` on the bars closed by then; each model decides only later bars."""
    n = len(window)
    prob, threshold = np.full(n, np.nan), np.full(n, np.nan)
    model = np.full(n, logic.NO_MODEL, dtype=np.int64)
    bar_index = data.prices.index[window]
    models: list[ModelUsed] = []
    failures: list[dict[str, Any]] = []
    current: _Incumbent | None = None
    moments = _moments(task)
    for k, moment in enumerate(moments):
        current = _retrain(task, data, moment, k, current, models, failures)
        if current is None:
            continue
        until = moments[k + 1] if k + 1 < len(moments) else None
        rows = (bar_index >= pd.Timestamp(moment)) & (
            bar_index < pd.Timestamp(until) if until is not None else True
        )
        chosen = np.flatnonzero(rows)
        if len(chosen):
            prob[chosen] = current.predictor.predict_proba(_rows(features, window[chosen], current.predictor))
            threshold[chosen], model[chosen] = current.used.threshold, current.index
    return tuple(models), prob, threshold, model, tuple(failures)


def _moments(task: PairTask) -> list[datetime]:
    count = int((task.end - task.start) / task.retrain_every) + 1
    return [task.start + task.retrain_every * k for k in range(count)]


def _retrain(
    task: PairTask,
    data: _PairData,
    moment: datetime,
    k: int,
    current: _Incumbent | None,
    models: list[ModelUsed],
    failures: list[dict[str, Any]],
) -> _Incumbent | None:
    """Train on the bars closed by `moment`, then the promotion gate against the current model."""
    started = time.perf_counter()
    frames = trailing_frames(
        data.prices,
        data.news,
        timeframe=task.pair.timeframe,
        bars=task.train_bars,
        before=moment,
        news_since=data.news_since,
    )
    try:
        trained = _train(task, frames, moment)
    except DomainError as exc:
        failures.append({"moment": moment.isoformat(), "error": exc.detail})
        return current
    except Exception as exc:  # a library crash costs this model, as a failed nightly run would
        failures.append({"moment": moment.isoformat(), "error": f"{type(exc).__name__}: {exc}"})
        return current
    duration = time.perf_counter() - started
    result = trained.result
    test = result.metrics["test"]
    candidate = RunSummary(
        id=k,
        status="succeeded",
        created_at=moment,
        test_auc=test["auc"],
        test_return=test["backtest"]["total_return"],
    )
    challenge = None
    if current is not None and not is_stale(current.summary, task.model_policy, moment):
        challenge = head_to_head(
            trained.holdout,
            candidate=result.predictor,
            candidate_threshold=result.threshold,
            current=current.predictor,
            current_threshold=current.used.threshold,
            current_test_start=current.test_start,
            current_name=f"model {current.used.id}",
        )
    decision = decide_promotion(
        candidate, current.summary if current else None, task.model_policy, moment, challenge
    )
    used = ModelUsed(
        id=f"{task.pair.symbol}@{moment:%Y-%m-%dT%H:%MZ}",
        kind=result.predictor.kind,
        threshold=float(result.threshold),
        trained_at=moment,
        data_start=trained.data_start,
        data_end=trained.data_end,
        test_auc=candidate.test_auc,
        test_return=candidate.test_return,
        promoted=decision.promote,
        reason=decision.reason,
        duration_s=duration,
    )
    models.append(used)
    if not decision.promote:
        return current
    test_start = pd.Timestamp(result.metrics["split"]["test"]["start"])
    return _Incumbent(used, len(models) - 1, result.predictor, candidate, test_start)


def _train(task: PairTask, frames: Frames | None, moment: datetime) -> Trained:
    if frames is None:
        raise InvalidInput(f"no bars had closed by {moment.isoformat()}")
    return train_frames(
        pair=checked_pair(task.pair),
        frames=frames,
        policy=task.model_policy,
        costs=task.costs,
        config=task.config or TrainConfig(),
    )


# --- results --------------------------------------------------------------------------------------------


def write_results(target: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Every table as parquet in a staging folder, renamed into place whole: never half a result."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name, frame in tables.items():
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        if target.exists():  # a replay is written once; a leftover of a crashed run is replaced
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _tables(outcome: ReplayOutcome, series: Sequence[PairSeries]) -> dict[str, pd.DataFrame]:
    models = pd.DataFrame.from_records(
        [{"symbol": s.pair.symbol, **m.as_dict()} for s in series for m in s.models],
        columns=["symbol", *ModelUsed.__dataclass_fields__],
    )
    return {
        "curve": outcome.curve,
        "trades": outcome.trades,
        "decisions": outcome.decisions,
        "vetoes": outcome.vetoes,
        "orders": outcome.orders,
        "models": models.astype({"trained_at": "string", "data_start": "string", "data_end": "string"}),
    }


def _what_if_rows(comparison: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "blocked_by": side[-1],
            **{k: v for k, v in buy.items() if k != "filters"},
            "filters": ",".join(buy["filters"]),
        }
        for side in ("blocked_only_by_a", "blocked_only_by_b")
        for buy in comparison[side]["buys"]
    ]
    return pd.DataFrame.from_records(
        rows, columns=["blocked_by", "symbol", "bar_dt", "forward_return", "filters"]
    )


def _per_pair(series: Sequence[PairSeries], outcome: ReplayOutcome) -> dict[str, Any]:
    decided = outcome.decisions.groupby("symbol").size().to_dict() if len(outcome.decisions) else {}
    return {
        s.pair.symbol: {
            "bars": len(s),
            "decisions": int(decided.get(s.pair.symbol, 0)),
            "bars_without_model": int(np.isnan(s.prob).sum()),
            "models_trained": len(s.models),
            "models_promoted": sum(m.promoted for m in s.models),
            "training_s": round(sum(m.duration_s for m in s.models), 3),
            "training_failures": list(s.failures[:20]),
            "oos_auc": logic.out_of_sample_auc([s]),
        }
        for s in series
    }


def run_spec(
    database: Database,
    *,
    settings: Settings,
    spec: ReplaySpec,
    job_run_id: int | None = None,
    progress: Progress | None = None,
    config: TrainConfig | None = None,
    worker: PairWorker | None = None,
) -> ReplaySummary:
    """Queue and run a replay in one go (the CLI, the automation action, tests)."""
    with database.session() as session:
        queued = queue(session, settings=settings, spec=spec)
    return run_queued(
        database,
        settings=settings,
        replay_id=queued.id,
        job_run_id=job_run_id,
        progress=progress,
        config=config,
        worker=worker,
    )
