"""The model registry: runs, each pair's choice (pin → promoted → fallback), promotion and the model cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.db import insert_ignoring_conflicts
from myassistant.core.errors import InvalidInput, NotFound, PreconditionFailed
from myassistant.market.logic import Pair
from myassistant.market.schemas import checked_pair
from myassistant.ml import artifacts
from myassistant.ml.artifacts import SavedModel
from myassistant.ml.policy import (
    HeadToHead,
    ModelPolicy,
    NotComparable,
    RunSummary,
    decide_promotion,
    is_stale,
)
from myassistant.ml.predictors import Predictor
from myassistant.ml.tables import ActiveModel, ModelPromotion, ModelRun

ChoiceSource = Literal["pin", "pair", "fallback"]
SUCCEEDED = "succeeded"
CACHE_SIZE = 64
IN_CHUNK = 500  # values per IN (...) list, well under any backend's bound-parameter limit
Challenge = Callable[[ModelRun], HeadToHead | NotComparable]


@dataclass(frozen=True)
class LoadedModel:
    """A verified model ready to predict, with the run it came from and why it was chosen."""

    run_id: int
    source: ChoiceSource
    predictor: Predictor
    threshold: float
    features: tuple[str, ...]
    created_at: datetime

    def predict(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.predictor.predict_proba(rows)


def summary(run: ModelRun) -> RunSummary:
    return RunSummary(
        id=run.id,
        status=run.status,
        created_at=run.created_at,
        test_auc=run.test_auc,
        test_return=run.test_return,
    )


def pair_of(run: ModelRun) -> Pair:
    return Pair(
        exchange=run.exchange, symbol=run.symbol, timeframe=run.timeframe, horizon_steps=run.horizon_steps
    )


def record_run(
    session: Session,
    *,
    pair: Pair,
    status: Literal["succeeded", "failed"],
    source: str,
    error: str | None = None,
    model_kind: str | None = None,
    features: tuple[str, ...] = (),
    threshold: float | None = None,
    metrics: dict[str, Any] | None = None,
    test_auc: float | None = None,
    test_return: float | None = None,
    data_start: datetime | None = None,
    data_end: datetime | None = None,
    rows: int | None = None,
    saved: SavedModel | None = None,
    duration_s: float | None = None,
) -> ModelRun:
    """Store one training attempt (failures too) and return the row."""
    if status == SUCCEEDED and (saved is None or model_kind is None or threshold is None):
        raise ValueError("a successful run needs its saved model, kind and threshold")
    run = ModelRun(
        **pair.as_dict(),
        status=status,
        error=error,
        source=source,
        data_start=data_start,
        data_end=data_end,
        rows=rows,
        model_kind=model_kind,
        features=list(features),
        threshold=threshold,
        test_auc=test_auc,
        test_return=test_return,
        metrics=metrics or {},
        model_file=saved.model_file if saved else None,
        meta_file=saved.meta_file if saved else None,
        model_sha256=saved.sha256 if saved else None,
        duration_s=duration_s,
        created_at=clock.now(),
    )
    session.add(run)
    session.flush()
    return run


def pair_filter(table: type[ActiveModel | ModelRun | ModelPromotion], pair: Pair) -> Any:
    """The WHERE clause selecting `pair`'s rows of a model table (one with the four pair columns)."""
    return (
        (table.exchange == pair.exchange)
        & (table.symbol == pair.symbol)
        & (table.timeframe == pair.timeframe)
        & (table.horizon_steps == pair.horizon_steps)
    )


def find_active(session: Session, pair: Pair) -> ActiveModel | None:
    return session.scalars(select(ActiveModel).where(pair_filter(ActiveModel, pair))).one_or_none()


def ensure_active(session: Session, pair: Pair) -> ActiveModel:
    """The pair's active_models row, created (race-free) when missing."""
    session.execute(
        insert_ignoring_conflicts(session, ActiveModel.__table__).values(
            **pair.as_dict(), updated_at=clock.now()
        )
    )
    row = find_active(session, pair)
    assert row is not None
    return row


def audit(
    session: Session,
    *,
    pair: Pair,
    action: str,
    reason: str,
    run_id: int | None,
    previous_run_id: int | None,
    comparison: dict[str, Any] | None = None,
) -> ModelPromotion:
    entry = ModelPromotion(
        **pair.as_dict(),
        action=action,
        run_id=run_id,
        previous_run_id=previous_run_id,
        reason=reason,
        comparison=comparison,
        created_at=clock.now(),
    )
    session.add(entry)
    session.flush()
    return entry


def consider_promotion(
    session: Session,
    *,
    run: ModelRun,
    policy: ModelPolicy,
    challenge: Challenge | None = None,
) -> ModelPromotion:
    """Make `run` its pair's automatic choice if it passes the gate; record the decision either way.

    `challenge` scores the current run against `run` on shared rows; it is called only when the
    comparison can decide (there is a fresh current run).
    """
    pair = pair_of(run)
    active = ensure_active(session, pair)
    current = session.get(ModelRun, active.promoted_run_id) if active.promoted_run_id else None
    now = clock.now()
    current_summary = summary(current) if current else None
    head_to_head = None
    if (
        challenge is not None
        and current is not None
        and current_summary is not None
        and current.id != run.id
        and not is_stale(current_summary, policy, now)
    ):
        head_to_head = challenge(current)
    decision = decide_promotion(summary(run), current_summary, policy, now, head_to_head)
    if decision.promote:
        active.promoted_run_id, active.promoted_at, active.updated_at = run.id, now, now
    return audit(
        session,
        pair=pair,
        action="promoted" if decision.promote else "refused",
        reason=decision.reason,
        comparison=decision.comparison,
        run_id=run.id,
        previous_run_id=current.id if current else None,
    )


Choice = tuple[ModelRun, ChoiceSource]
PairTuple = tuple[str, str, str, int]  # Pair.key()


def resolve_choice(session: Session, pair: Pair) -> Choice | None:
    """Manual pin → the pair's promoted run → the newest promoted run for the same timeframe and horizon."""
    active = find_active(session, pair)
    if active is not None and active.pinned_run_id is not None:
        return _run(session, active.pinned_run_id), "pin"
    if active is not None and active.promoted_run_id is not None:
        return _run(session, active.promoted_run_id), "pair"
    fallback = _fallback(session, pair.timeframe, pair.horizon_steps)
    return (fallback, "fallback") if fallback is not None else None


def resolve_choices(session: Session, pairs: Sequence[Pair]) -> dict[PairTuple, Choice | None]:
    """`resolve_choice` of each pair, by `pair.key()`, in a few queries whatever the number of pairs:
    their active rows, their runs, and one fallback per distinct timeframe and horizon."""
    own: dict[PairTuple, tuple[int, ChoiceSource]] = {}
    for key, row in _active_rows(session, pairs).items():
        if row.pinned_run_id is not None:
            own[key] = (row.pinned_run_id, "pin")
        elif row.promoted_run_id is not None:
            own[key] = (row.promoted_run_id, "pair")
    runs = _runs_by_id(session, sorted({run_id for run_id, _ in own.values()}))
    shapes = sorted({(pair.timeframe, pair.horizon_steps) for pair in pairs if pair.key() not in own})
    fallbacks = {shape: _fallback(session, *shape) for shape in shapes}
    choices: dict[PairTuple, Choice | None] = {}
    for pair in pairs:
        if pair.key() in own:
            run_id, source = own[pair.key()]
            if run_id not in runs:
                raise NotFound(f"model run {run_id} not found")
            choices[pair.key()] = (runs[run_id], source)
        else:
            fallback = fallbacks[(pair.timeframe, pair.horizon_steps)]
            choices[pair.key()] = (fallback, "fallback") if fallback is not None else None
    return choices


def _active_rows(session: Session, pairs: Sequence[Pair]) -> dict[PairTuple, ActiveModel]:
    """The active_models rows of `pairs`, by pair key (rows selected by symbol, then matched on all four)."""
    wanted = {pair.key() for pair in pairs}
    symbols = sorted({pair.symbol for pair in pairs})
    rows: dict[PairTuple, ActiveModel] = {}
    for start in range(0, len(symbols), IN_CHUNK):
        query = select(ActiveModel).where(ActiveModel.symbol.in_(symbols[start : start + IN_CHUNK]))
        for row in session.scalars(query):
            key = (row.exchange, row.symbol, row.timeframe, row.horizon_steps)
            if key in wanted:
                rows[key] = row
    return rows


def _runs_by_id(session: Session, ids: Sequence[int]) -> dict[int, ModelRun]:
    runs: dict[int, ModelRun] = {}
    for start in range(0, len(ids), IN_CHUNK):
        query = select(ModelRun).where(ModelRun.id.in_(ids[start : start + IN_CHUNK]))
        runs.update((run.id, run) for run in session.scalars(query))
    return runs


def _fallback(session: Session, timeframe: str, horizon_steps: int) -> ModelRun | None:
    """The newest promoted run of any pair for this timeframe and horizon."""
    return session.scalars(
        select(ModelRun)
        .join(ActiveModel, ActiveModel.promoted_run_id == ModelRun.id)
        .where(ModelRun.timeframe == timeframe, ModelRun.horizon_steps == horizon_steps)
        .order_by(ModelRun.created_at.desc(), ModelRun.id.desc())
        .limit(1)
    ).first()


def _run(session: Session, run_id: int) -> ModelRun:
    run = session.get(ModelRun, run_id)
    if run is None:
        raise NotFound(f"model run {run_id} not found")
    return run


def load_model_for(
    session: Session, *, settings: Settings, exchange: str, symbol: str, timeframe: str, horizon_steps: int
) -> LoadedModel:
    """The model to use for a pair, verified and cached; PreconditionFailed names what is missing."""
    pair = checked_pair(Pair(exchange, symbol, timeframe, horizon_steps))
    choice = resolve_choice(session, pair)
    if choice is None:
        raise PreconditionFailed(
            f"no model for {pair.exchange} {pair.symbol} {pair.timeframe} h{pair.horizon_steps}: no pin, no "
            f"promoted run for the pair and none for {pair.timeframe} h{pair.horizon_steps} on any pair; "
            "train one first"
        )
    run, source = choice
    predictor = MODEL_CACHE.get(run, settings.artifacts_dir, pair=pair.key())
    return LoadedModel(
        run_id=run.id,
        source=source,
        predictor=predictor,
        threshold=float(run.threshold if run.threshold is not None else 0.5),
        features=predictor.features,
        created_at=run.created_at,
    )


def load_run_predictor(run: ModelRun, artifacts_dir: Path) -> Predictor:
    """Load a registered run's model from disk after the location and sha256 checks."""
    if run.status != SUCCEEDED or not run.model_file or not run.model_sha256 or not run.model_kind:
        raise PreconditionFailed(f"model run {run.id} has no usable model (status {run.status})")
    return artifacts.load_predictor(
        run.model_file,
        artifacts_dir=artifacts_dir,
        sha256=run.model_sha256,
        kind=run.model_kind,
        features=tuple(str(f) for f in run.features),
    )


class ModelCache:
    """Verified predictors by run and file; a pair's old entry is dropped when its choice changes."""

    def __init__(self, max_entries: int = CACHE_SIZE) -> None:
        self._entries: OrderedDict[tuple[Any, ...], Predictor] = OrderedDict()
        self._choice: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.loads = 0

    @staticmethod
    def _key(run: ModelRun, artifacts_dir: Path) -> tuple[Any, ...]:
        models = str(artifacts.models_dir(artifacts_dir).resolve())
        return (models, run.id, run.model_file, run.model_sha256)

    def get(self, run: ModelRun, artifacts_dir: Path, *, pair: tuple[Any, ...] | None = None) -> Predictor:
        key = self._key(run, artifacts_dir)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
        if cached is None:
            cached = load_run_predictor(run, artifacts_dir)
            with self._lock:
                self.loads += 1
                self._entries[key] = cached
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        if pair is not None:
            self._note_choice((key[0], *pair), key)
        return cached

    def _note_choice(self, pair: tuple[Any, ...], key: tuple[Any, ...]) -> None:
        with self._lock:
            previous = self._choice.get(pair)
            self._choice[pair] = key
            if previous is not None and previous != key and previous not in self._choice.values():
                self._entries.pop(previous, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._choice.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._entries


MODEL_CACHE = ModelCache()
NOT_A_REGISTERED_PATH = (
    "path is not the file of a registered model run; give a run's model_file or meta_file "
    "(as listed by GET /model/runs), or pin by run_id"
)


def pin(
    session: Session,
    *,
    settings: Settings,
    pair: Pair,
    run_id: int | None = None,
    path: str | None = None,
    action: Literal["pinned", "rolled_back"] = "pinned",
    reason: str | None = None,
) -> ActiveModel:
    """Pin a run by id, or by the path of a registered model file inside the models dir; checks the file."""
    run = _run(session, run_id) if run_id is not None else _run_for_path(session, settings, path or "")
    if (run.timeframe, run.horizon_steps) != (pair.timeframe, pair.horizon_steps):
        raise InvalidInput(
            f"run {run.id} predicts {run.timeframe} h{run.horizon_steps}, "
            f"not {pair.timeframe} h{pair.horizon_steps}"
        )
    if run.status != SUCCEEDED:
        raise InvalidInput(f"run {run.id} failed ({run.error}); only successful runs can be pinned")
    MODEL_CACHE.get(run, settings.artifacts_dir)  # refuses a missing or altered file before pinning it
    active = ensure_active(session, pair)
    previous = active.pinned_run_id
    now = clock.now()
    active.pinned_run_id, active.pinned_at, active.updated_at = run.id, now, now
    audit(
        session,
        pair=pair,
        action=action,
        reason=reason or (f"manual pin of run {run.id}" + (f" by path {path}" if path else "")),
        run_id=run.id,
        previous_run_id=previous,
    )
    return active


def _run_for_path(session: Session, settings: Settings, path: str) -> ModelRun:
    name = artifacts.name_inside_models(path, artifacts_dir=settings.artifacts_dir)
    run = None
    if name is not None:
        run = session.scalars(
            select(ModelRun).where((ModelRun.model_file == name) | (ModelRun.meta_file == name)).limit(1)
        ).first()
    if run is None:
        # One answer for every such path: whether a file exists, or where, is none of the caller's business.
        raise InvalidInput(NOT_A_REGISTERED_PATH)
    return run


def unpin(session: Session, *, pair: Pair) -> ActiveModel:
    active = find_active(session, pair)
    if active is None or active.pinned_run_id is None:
        raise PreconditionFailed(f"{pair.symbol} {pair.timeframe} h{pair.horizon_steps} has no pin to remove")
    previous, now = active.pinned_run_id, clock.now()
    active.pinned_run_id, active.pinned_at, active.updated_at = None, None, now
    audit(
        session,
        pair=pair,
        action="unpinned",
        reason=f"pin of run {previous} removed",
        run_id=None,
        previous_run_id=previous,
    )
    return active


def rollback(session: Session, *, settings: Settings, pair: Pair) -> ActiveModel:
    """Pin the run that was the pair's promoted choice before the current one."""
    active = find_active(session, pair)
    if active is None or active.promoted_run_id is None:
        raise PreconditionFailed(f"{pair.symbol} {pair.timeframe} h{pair.horizon_steps} has no promoted run")
    latest = session.scalars(
        select(ModelPromotion)
        .where(
            ModelPromotion.action == "promoted",
            ModelPromotion.run_id == active.promoted_run_id,
            pair_filter(ModelPromotion, pair),
        )
        .order_by(ModelPromotion.id.desc())
        .limit(1)
    ).first()
    if latest is None or latest.previous_run_id is None:
        raise PreconditionFailed(
            f"run {active.promoted_run_id} was the pair's first promoted run: nothing to roll back to"
        )
    return pin(
        session,
        settings=settings,
        pair=pair,
        run_id=latest.previous_run_id,
        action="rolled_back",
        reason=f"rolled back from run {active.promoted_run_id} to run {latest.previous_run_id}",
    )
