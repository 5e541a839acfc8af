"""Training orchestration: one pair, or every watchlist pair the model policy says needs it; each run
recorded (failures too) and put through the promotion gate.

Long work never holds a database transaction: the session is committed before fetching from the
exchange and before training, so SQLite's write lock is taken only for the short inserts.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import Conflict, DomainError
from myassistant.core.locks import lock_dir_for, named_lock
from myassistant.market.logic import Pair
from myassistant.market.schemas import checked_pair
from myassistant.ml import registry
from myassistant.ml.dataset import Frames
from myassistant.ml.fanout import FramesLoader, fit_many
from myassistant.ml.fitting import (
    Costs,
    FitAttempt,
    Fitted,
    TrainingCrashed,
    attempt_fit,
    costs_of,
    head_to_head,
)
from myassistant.ml.frames import load_frames, training_frames
from myassistant.ml.health import get_policy, needs_training, pairs_health, watchlist_pairs
from myassistant.ml.history import ensure_history, training_bars
from myassistant.ml.policy import HeadToHead, ModelPolicy, NotComparable
from myassistant.ml.schemas import (
    HistoryRead,
    ModelHealthRead,
    ModelRunRead,
    PairTrainOutcome,
    PromotionRead,
    TrainMissingReport,
)
from myassistant.ml.tables import ModelRun
from myassistant.ml.training import MIN_PART_ROWS, TrainConfig, rows_from
from myassistant.trading.service import broker_settings

logger = logging.getLogger("myassistant.ml")
TRAINING_LOCK = "ml-training"  # one cross-process lock for train_models and train_missing
# Called after each pair of train_missing: its outcome, how many pairs are done, and how many in all.
PairProgress = Callable[[PairTrainOutcome, int, int], None]


@dataclass(frozen=True)
class TrainOutcome:
    """The recorded run, the promotion decision, and the error when the run failed.

    A failed run is recorded, not raised, so the caller's transaction can commit it; an API route
    answers `error.status_code` with `error.detail` and the run id.
    """

    run: ModelRunRead
    promotion: PromotionRead | None
    error: DomainError | None


def record_attempt(
    session: Session, *, settings: Settings, attempt: FitAttempt, policy: ModelPolicy, source: str
) -> TrainOutcome:
    """Store the run of an attempt (failures too) and, when it succeeded, run the promotion gate."""
    if attempt.fitted is None:
        error = attempt.error or TrainingCrashed("training produced no model")
        return _failed(session, attempt.pair, source, error, attempt.duration_s)
    fitted = attempt.fitted
    result, test = fitted.result, fitted.result.metrics["test"]
    run = registry.record_run(
        session,
        pair=attempt.pair,
        status="succeeded",
        source=source,
        model_kind=result.predictor.kind,
        features=result.predictor.features,
        threshold=result.threshold,
        metrics=result.metrics,
        test_auc=test["auc"],
        test_return=test["backtest"]["total_return"],
        data_start=fitted.data_start,
        data_end=fitted.data_end,
        rows=result.rows,
        saved=fitted.saved,
        duration_s=attempt.duration_s,
    )
    challenge = functools.partial(_guarded_head_to_head, settings, fitted)
    promotion = registry.consider_promotion(session, run=run, policy=policy, challenge=challenge)
    return TrainOutcome(ModelRunRead.model_validate(run), PromotionRead.model_validate(promotion), None)


def _guarded_head_to_head(
    settings: Settings, fitted: Fitted, current: ModelRun
) -> HeadToHead | NotComparable:
    """`_head_to_head`, where a crash only costs the comparison, never the run being recorded."""
    try:
        return _head_to_head(settings, fitted, current)
    except Exception as exc:  # the traceback goes to the log; the decision falls back and says why
        logger.exception("scoring current run %s against the new run crashed", current.id)
        return NotComparable(f"scoring current run {current.id} crashed: {type(exc).__name__}")


def _head_to_head(settings: Settings, fitted: Fitted, current: ModelRun) -> HeadToHead | NotComparable:
    """Score the new model and the pair's current one on the new test rows the current one never saw."""
    split = (current.metrics or {}).get("split", {})
    if "test" not in split:
        return NotComparable(f"current run {current.id} records no test window")
    current_test_start = pd.Timestamp(split["test"]["start"])
    rows = rows_from(fitted.holdout, current_test_start)
    if len(rows) < MIN_PART_ROWS:
        return NotComparable(
            f"only {len(rows)} of the new test rows are out of sample for current run {current.id}"
        )
    try:
        incumbent = registry.MODEL_CACHE.get(current, settings.artifacts_dir)
    except DomainError as exc:
        return NotComparable(f"current run {current.id} could not be loaded: {exc.detail}")
    return head_to_head(
        fitted.holdout,
        candidate=fitted.result.predictor,
        candidate_threshold=fitted.result.threshold,
        current=incumbent,
        current_threshold=float(current.threshold if current.threshold is not None else 0.5),
        current_test_start=current_test_start,
        current_name=f"current run {current.id}",
    )


def train_pair_from_frames(
    session: Session,
    *,
    settings: Settings,
    exchange: str,
    symbol: str,
    timeframe: str,
    horizon_steps: int,
    prices: pd.DataFrame,
    news: pd.DataFrame | None,
    news_since: datetime | None = None,
    first_row: datetime | None = None,
    policy: ModelPolicy | None = None,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
    source: str = "api",
) -> TrainOutcome:
    """Train one pair, record the run (failures too) and consider promoting it.

    The heavy work runs before the first statement on `session` when `policy` is given, so a
    caller that has not started a transaction holds SQLite's write lock only for the inserts.
    """
    pair = checked_pair(Pair(exchange, symbol, timeframe, horizon_steps))
    policy = policy or get_policy(session)
    frames = Frames(prices=prices, news=news, news_since=news_since, first_row=first_row)
    attempt = attempt_fit(
        settings=settings, pair=pair, frames=frames, policy=policy, costs=costs, config=config
    )
    return record_attempt(session, settings=settings, attempt=attempt, policy=policy, source=source)


def _failed(session: Session, pair: Pair, source: str, error: DomainError, duration_s: float) -> TrainOutcome:
    run = registry.record_run(
        session, pair=pair, status="failed", source=source, error=error.detail, duration_s=duration_s
    )
    return TrainOutcome(ModelRunRead.model_validate(run), None, error)


# --- training from the database -------------------------------------------------------------------


@dataclass(frozen=True)
class PairTrainingResult:
    outcome: TrainOutcome
    history: HistoryRead | None


def train_pair(
    session: Session,
    *,
    settings: Settings,
    pair: Pair,
    fetch: bool = True,
    source: str = "api",
    config: TrainConfig | None = None,
) -> PairTrainingResult:
    """Train one pair on its last `train_bars` stored closed bars, fetching missing history first.

    Every attempt leaves a run row: a failed fetch or missing prices are recorded as a failed run
    and reported in `outcome.error` (the caller commits, then answers its status code).
    """
    key = checked_pair(pair)
    policy = get_policy(session)
    costs = costs_of(broker_settings(session))
    started = time.perf_counter()
    history: HistoryRead | None = None
    try:
        if fetch:
            history, error = ensure_history(session, settings=settings, pair=key, bars=training_bars(policy))
            if error is not None:
                raise error
        frames = load_frames(session, pair=key, bars=policy.train_bars)
    except DomainError as exc:
        return PairTrainingResult(_failed(session, key, source, exc, time.perf_counter() - started), history)
    session.commit()  # nothing held while training
    attempt = attempt_fit(
        settings=settings, pair=key, frames=frames, policy=policy, costs=costs, config=config
    )
    attempt = replace(attempt, duration_s=time.perf_counter() - started)
    return PairTrainingResult(
        record_attempt(session, settings=settings, attempt=attempt, policy=policy, source=source), history
    )


def train_missing(
    session: Session,
    *,
    settings: Settings,
    fetch: bool = True,
    source: str = "api",
    n_jobs: int = 2,
    config: TrainConfig | None = None,
    on_pair: PairProgress | None = None,
) -> TrainMissingReport:
    """Train exactly the watchlist pairs whose model is not ok under the policy; report every pair.

    Missing history is fetched first (one pair at a time); several pairs train in worker processes
    (`train_many`), one pair in this process.
    """
    policy = get_policy(session)
    costs = costs_of(broker_settings(session))
    found = pairs_health(session, pairs=watchlist_pairs(session, settings=settings), policy=policy)
    session.commit()
    done: dict[tuple[str, str, str, int], PairTrainOutcome] = {}

    def report(outcome: PairTrainOutcome) -> None:
        done[(outcome.exchange, outcome.symbol, outcome.timeframe, outcome.horizon_steps)] = outcome
        if on_pair is not None:
            on_pair(outcome, len(done), len(found))

    health_of = {pair.key(): health for pair, health in found}
    fetched: dict[tuple[str, str, str, int], int] = {}
    to_train: list[Pair] = []
    for pair, health in found:
        if not needs_training(health):
            report(_pair_outcome(pair, health, "skipped", f"ok: {health.reason}"))
            continue
        if fetch:
            history, error = ensure_history(session, settings=settings, pair=pair, bars=training_bars(policy))
            fetched[pair.key()] = history.fetched_bars
            if error is not None:
                failed = _failed(session, pair, source, error, 0.0)
                session.commit()
                report(_from_run(pair, health, failed, history.fetched_bars))
                continue
        to_train.append(pair)
    train_many(
        session,
        settings=settings,
        pairs=to_train,
        frames_for=functools.partial(training_frames, bars=policy.train_bars),
        policy=policy,
        n_jobs=n_jobs,
        costs=costs,
        config=config,
        source=source,
        on_result=lambda trained: report(
            _from_run(
                trained.pair, health_of[trained.pair.key()], trained.outcome, fetched.get(trained.pair.key())
            )
        ),
    )
    ordered = [done[pair.key()] for pair, _ in found]
    return TrainMissingReport(
        trained=sum(o.action == "trained" for o in ordered),
        skipped=sum(o.action == "skipped" for o in ordered),
        failed=sum(o.action == "failed" for o in ordered),
        pairs=ordered,
    )


@dataclass(frozen=True)
class PairTrained:
    """What training did for one pair: the recorded run and its promotion decision."""

    pair: Pair
    outcome: TrainOutcome

    @property
    def run_id(self) -> int:
        return self.outcome.run.id

    @property
    def status(self) -> str:
        return self.outcome.run.status

    @property
    def error(self) -> str | None:
        return self.outcome.run.error

    @property
    def promotion(self) -> str | None:
        return self.outcome.promotion.action if self.outcome.promotion else None


def train_many(
    session: Session,
    *,
    settings: Settings,
    pairs: Sequence[Pair],
    frames_for: FramesLoader,
    policy: ModelPolicy,
    n_jobs: int = 2,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
    source: str = "scheduler",
    on_result: Callable[[PairTrained], None] | None = None,
) -> list[PairTrained]:
    """Fit every pair in parallel (`fanout.fit_many`) and record each run here, one commit per pair."""
    session.commit()  # no transaction (nor SQLite's write lock) is held while the workers train
    done: list[PairTrained] = []
    attempts = fit_many(
        settings=settings,
        pairs=pairs,
        frames_for=frames_for,
        policy=policy,
        n_jobs=n_jobs,
        costs=costs,
        config=config,
    )
    for attempt in attempts:
        outcome = record_attempt(session, settings=settings, attempt=attempt, policy=policy, source=source)
        session.commit()
        trained = PairTrained(pair=attempt.pair, outcome=outcome)
        done.append(trained)
        if on_result is not None:
            on_result(trained)
    return done


@contextmanager
def _training_lock(database: Database, settings: Settings) -> Iterator[None]:
    """Held while train_models or train_missing runs, whichever process started it; 409 when taken."""
    lock = named_lock(database, TRAINING_LOCK, lock_dir=lock_dir_for(database, settings.artifacts_dir))
    if not lock.acquire():
        raise Conflict("model training (train_models / train_missing) is already running; try again later")
    try:
        yield
    finally:
        lock.release()


def train_missing_exclusive(
    database: Database,
    *,
    settings: Settings,
    fetch: bool = True,
    source: str = "api",
    on_pair: PairProgress | None = None,
) -> TrainMissingReport:
    """`train_missing` in its own session under the training lock (Conflict, 409, when it is taken).

    The one entry point for POST /model/train_missing and the train_models / train_missing jobs.
    """
    with _training_lock(database, settings), database.session() as session:
        return train_missing(session, settings=settings, fetch=fetch, source=source, on_pair=on_pair)


def _pair_outcome(
    pair: Pair, health: ModelHealthRead, action: str, reason: str, **extra: Any
) -> PairTrainOutcome:
    return PairTrainOutcome(**pair.as_dict(), action=action, health=health.status, reason=reason, **extra)


def _from_run(
    pair: Pair, health: ModelHealthRead, outcome: TrainOutcome, fetched_bars: int | None
) -> PairTrainOutcome:
    run = outcome.run
    common = {"run_id": run.id, "fetched_bars": fetched_bars}
    if run.status != "succeeded":
        return _pair_outcome(pair, health, "failed", run.error or "failed", **common)
    promotion = outcome.promotion
    decision = f"{promotion.action}: {promotion.reason}" if promotion else "not considered for promotion"
    return _pair_outcome(
        pair,
        health,
        "trained",
        f"was {health.status} ({health.reason}); {decision}",
        promotion=promotion.action if promotion else None,
        test_auc=run.test_auc,
        **common,
    )
