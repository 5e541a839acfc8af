"""Model services: frames from the database, training (one pair or the ones that need it), runs,
promotions, pins, policy and health.

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
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import Conflict, DomainError, InvalidInput, PreconditionFailed
from myassistant.core.locks import lock_dir_for, named_lock
from myassistant.market import logic as market_logic
from myassistant.market import service as market
from myassistant.ml import registry
from myassistant.ml.artifacts import SavedModel, save_model
from myassistant.ml.dataset import Frames, dataset_from_frames
from myassistant.ml.features import NEWS_WINDOWS_H, WARMUP_BARS, build_features
from myassistant.ml.policy import MODEL_POLICY, HeadToHead, ModelPolicy, NotComparable, health_status
from myassistant.ml.predictors import Predictor
from myassistant.ml.schemas import (
    ActiveModelRead,
    ActiveModelUpdate,
    HistoryRead,
    ModelHealthRead,
    ModelRunRead,
    PairKey,
    PairTrainOutcome,
    PromotionRead,
    RunBrief,
    TrainMissingReport,
)
from myassistant.ml.tables import ModelPromotion, ModelRun
from myassistant.ml.timeframes import timeframe_delta
from myassistant.ml.training import (
    MIN_PART_ROWS,
    Holdout,
    TrainConfig,
    TrainingResult,
    holdout_of,
    rows_from,
    score_on,
    train,
)
from myassistant.news import service as news_service
from myassistant.trading.costs import DEFAULT_FEE_BPS, DEFAULT_SLIPPAGE_BPS, rates_from_bps
from myassistant.trading.service import broker_settings

logger = logging.getLogger("myassistant.ml")
NEWS_LOOKBACK = timedelta(hours=max(NEWS_WINDOWS_H))
TRAINING_LOCK = "ml-training"  # one cross-process lock for train_models and train_missing
# Called after each pair of train_missing: its outcome, how many pairs are done, and how many in all.
PairProgress = Callable[[PairTrainOutcome, int, int], None]


class TrainingCrashed(DomainError):
    """Training failed for a reason that is not the caller's (a bug or a library error)."""

    status_code = 500


@dataclass(frozen=True)
class Costs:
    fee_bps: float = DEFAULT_FEE_BPS
    slippage_bps: float = DEFAULT_SLIPPAGE_BPS


def training_costs(session: Session) -> Costs:
    """The paper broker's fee and slippage: models are labelled and judged with what trades pay."""
    broker = broker_settings(session)
    return Costs(fee_bps=float(broker.fee_bps), slippage_bps=float(broker.slippage_bps))


@dataclass(frozen=True)
class Fitted:
    """A trained and saved model, before anything is written to the database."""

    result: TrainingResult
    saved: SavedModel
    data_start: datetime
    data_end: datetime
    holdout: Holdout  # the test rows, to score the pair's current model on the same data


@dataclass(frozen=True)
class TrainOutcome:
    """The recorded run, the promotion decision, and the error when the run failed.

    A failed run is recorded, not raised, so the caller's transaction can commit it; an API route
    answers `error.status_code` with `error.detail` and the run id.
    """

    run: ModelRunRead
    promotion: PromotionRead | None
    error: DomainError | None


@dataclass(frozen=True)
class FitAttempt:
    """The result of fitting one pair (in this process or a worker): the model, or why it failed."""

    pair: PairKey
    fitted: Fitted | None
    error: DomainError | None
    duration_s: float


@dataclass(frozen=True)
class Trained:
    """A trained model and what it was trained on, nothing saved yet."""

    result: TrainingResult
    data_start: datetime
    data_end: datetime
    holdout: Holdout  # the test rows, to score another model on the same data


def train_frames(
    *, pair: PairKey, frames: Frames, policy: ModelPolicy, costs: Costs, config: TrainConfig
) -> Trained:
    """Features → labels → purged splits → training → threshold on validation; no file, no database."""
    try:
        rates = rates_from_bps(costs.fee_bps, costs.slippage_bps)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    dataset = dataset_from_frames(
        frames, symbol=pair.symbol, timeframe=pair.timeframe, horizon_steps=pair.horizon_steps, rates=rates
    )
    result = train(dataset, rates=rates, min_train_rows=policy.min_train_rows, config=config)
    index = dataset.features.index
    return Trained(
        result=replace(result, candidates={}),  # only the chosen model travels back from a worker
        data_start=index[0].to_pydatetime(),
        data_end=index[-1].to_pydatetime(),
        holdout=holdout_of(dataset, result.split, rates),
    )


def fit_pair(
    *,
    settings: Settings,
    pair: PairKey,
    frames: Frames,
    policy: ModelPolicy,
    costs: Costs,
    config: TrainConfig,
) -> Fitted:
    """`train_frames`, then the model files; pure computation plus the artifact files."""
    trained = train_frames(pair=pair, frames=frames, policy=policy, costs=costs, config=config)
    result = trained.result
    details = {
        "threshold": result.threshold,
        "costs": {"fee_bps": costs.fee_bps, "slippage_bps": costs.slippage_bps},
        "data_range": {"start": trained.data_start.isoformat(), "end": trained.data_end.isoformat()},
        "news_since": frames.news_since.isoformat() if frames.news_since else None,
        "rows": result.rows,
        "metrics": result.metrics,
    }
    saved = save_model(
        result.predictor,
        artifacts_dir=settings.artifacts_dir,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
        horizon_steps=pair.horizon_steps,
        created_at=clock.now(),
        details=details,
    )
    return Fitted(
        result=result,
        saved=saved,
        data_start=trained.data_start,
        data_end=trained.data_end,
        holdout=trained.holdout,
    )


def attempt_fit(
    *,
    settings: Settings,
    pair: PairKey,
    frames: Frames,
    policy: ModelPolicy,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
) -> FitAttempt:
    """`fit_pair` with every failure caught: nothing is raised, nothing touches the database."""
    started = time.perf_counter()
    fitted: Fitted | None = None
    error: DomainError | None = None
    try:
        fitted = fit_pair(
            settings=settings,
            pair=pair,
            frames=frames,
            policy=policy,
            costs=costs or Costs(),
            config=config or TrainConfig(),
        )
    except DomainError as exc:
        error = exc
    except Exception as exc:  # a crash must still leave its run row; the traceback goes to the log
        logger.exception("training %s %s %s h%s crashed", *pair.key())
        error = TrainingCrashed(f"training crashed: {type(exc).__name__}: {exc}")
    return FitAttempt(pair=pair, fitted=fitted, error=error, duration_s=time.perf_counter() - started)


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


def head_to_head(
    holdout: Holdout,
    *,
    candidate: Predictor,
    candidate_threshold: float,
    current: Predictor,
    current_threshold: float,
    current_test_start: pd.Timestamp,
    current_name: str,
) -> HeadToHead | NotComparable:
    """Both models on the candidate's test rows from where the current model's own test part began."""
    rows = rows_from(holdout, current_test_start)
    if len(rows) < MIN_PART_ROWS:
        return NotComparable(f"only {len(rows)} of the new test rows are out of sample for {current_name}")
    missing = set(current.features) - set(holdout.dataset.feature_names)
    if missing:
        return NotComparable(f"{current_name} uses features the new data lacks: {sorted(missing)}")
    new = score_on(holdout, rows, candidate, candidate_threshold)
    old = score_on(holdout, rows, current, current_threshold)
    index = holdout.dataset.features.index
    return HeadToHead(
        rows=len(rows),
        start=index[rows[0]].to_pydatetime(),
        end=index[rows[-1]].to_pydatetime(),
        candidate_auc=new.auc,
        candidate_return=new.total_return,
        current_auc=old.auc,
        current_return=old.total_return,
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
    pair = PairKey.of(exchange=exchange, symbol=symbol, timeframe=timeframe, horizon_steps=horizon_steps)
    policy = policy or get_policy(session)
    frames = Frames(prices=prices, news=news, news_since=news_since, first_row=first_row)
    attempt = attempt_fit(
        settings=settings, pair=pair, frames=frames, policy=policy, costs=costs, config=config
    )
    return record_attempt(session, settings=settings, attempt=attempt, policy=policy, source=source)


def _failed(
    session: Session, pair: PairKey, source: str, error: DomainError, duration_s: float
) -> TrainOutcome:
    run = registry.record_run(
        session, pair=pair, status="failed", source=source, error=error.detail, duration_s=duration_s
    )
    return TrainOutcome(ModelRunRead.model_validate(run), None, error)


def where_given(query: Select[Any], table: type[Any], **equal: object) -> Select[Any]:
    """`query` filtered on each column whose value is given (None means no filter)."""
    for name, value in equal.items():
        if value is not None:
            query = query.where(getattr(table, name) == value)
    return query


def list_runs(
    session: Session,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    horizon_steps: int | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[ModelRunRead]:
    """Runs, newest first, filtered by any of the pair's fields and status."""
    query = select(ModelRun).order_by(ModelRun.created_at.desc(), ModelRun.id.desc()).limit(limit)
    query = where_given(query, ModelRun, exchange=exchange, symbol=symbol, timeframe=timeframe)
    query = where_given(query, ModelRun, horizon_steps=horizon_steps, status=status)
    return [ModelRunRead.model_validate(row) for row in session.scalars(query)]


def list_promotions(
    session: Session,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    horizon_steps: int | None = None,
    limit: int = 50,
) -> list[PromotionRead]:
    """The promotion audit trail, newest first."""
    query = select(ModelPromotion).order_by(ModelPromotion.id.desc()).limit(limit)
    query = where_given(
        query,
        ModelPromotion,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
    )
    return [PromotionRead.model_validate(row) for row in session.scalars(query)]


def _brief(session: Session, run_id: int | None) -> RunBrief | None:
    run = session.get(ModelRun, run_id) if run_id is not None else None
    return RunBrief.model_validate(run) if run is not None else None


def active_view(session: Session, *, pair: PairKey) -> ActiveModelRead:
    """What the registry would use for a pair now, and why (no model file is loaded)."""
    active = registry.find_active(session, pair)
    newest = session.scalars(
        select(ModelRun)
        .where(registry.pair_filter(ModelRun, pair))
        .order_by(ModelRun.created_at.desc(), ModelRun.id.desc())
        .limit(1)
    ).first()
    choice = registry.resolve_choice(session, pair)
    notes = {
        "pin": "pinned manually",
        "pair": "the pair's promoted run",
        "fallback": "no model of its own: newest promoted run for the same timeframe and horizon",
    }
    return ActiveModelRead(
        **pair.model_dump(),
        pinned_run=_brief(session, active.pinned_run_id if active else None),
        pinned_at=active.pinned_at if active else None,
        promoted_run=_brief(session, active.promoted_run_id if active else None),
        promoted_at=active.promoted_at if active else None,
        newest_run=RunBrief.model_validate(newest) if newest is not None else None,
        effective_run=RunBrief.model_validate(choice[0]) if choice else None,
        effective_source=choice[1] if choice else None,
        note=notes[choice[1]] if choice else "no model: train one for this pair",
    )


def update_active(session: Session, *, settings: Settings, update: ActiveModelUpdate) -> ActiveModelRead:
    """Pin (by run id or registered path), unpin, or roll back; every change is audited."""
    pair = PairKey(**update.model_dump(include=set(PairKey.model_fields)))
    if update.action == "pin":
        registry.pin(session, settings=settings, pair=pair, run_id=update.run_id, path=update.path)
    elif update.action == "unpin":
        registry.unpin(session, pair=pair)
    else:
        registry.rollback(session, settings=settings, pair=pair)
    return active_view(session, pair=pair)


def get_policy(session: Session) -> ModelPolicy:
    """The model policy in force (defaults until first written); GET/POST /model/policy edit it."""
    return configdocs.get(session, MODEL_POLICY).value


def health_for(session: Session, *, pair: PairKey, policy: ModelPolicy) -> ModelHealthRead:
    """A pair's model health; a fallback from another pair counts as missing (the pair needs its own)."""
    return _health_of(pair, registry.resolve_choice(session, pair), policy)


def _health_of(pair: PairKey, choice: registry.Choice | None, policy: ModelPolicy) -> ModelHealthRead:
    own = choice if choice is not None and choice[1] != "fallback" else None
    health = health_status(registry.summary(own[0]) if own else None, policy, clock.now())
    reason = health.reason
    if choice is not None and own is None:
        reason += f" (signals use run {choice[0].id} of {choice[0].symbol} as a fallback)"
    return ModelHealthRead(
        **pair.model_dump(),
        status=health.status,
        reason=reason,
        run_id=own[0].id if own else None,
        source=own[1] if own else None,
        age_days=health.age_days,
        test_auc=own[0].test_auc if own else None,
    )


def pairs_health(
    session: Session, *, pairs: Sequence[PairKey], policy: ModelPolicy
) -> list[tuple[PairKey, ModelHealthRead]]:
    """Every pair with its model health, in the order given (`health_for` of each, in a few queries)."""
    choices = registry.resolve_choices(session, pairs)
    return [(pair, _health_of(pair, choices[pair.key()], policy)) for pair in pairs]


def needs_training(health: ModelHealthRead) -> bool:
    """What train_missing trains: a pair whose model is missing, stale or weak."""
    return health.status != "ok"


def pairs_needing_training(
    session: Session, *, pairs: Sequence[PairKey], policy: ModelPolicy
) -> list[tuple[PairKey, ModelHealthRead]]:
    """The pairs whose health is not ok, with their health (what train_missing trains)."""
    return [
        (pair, health)
        for pair, health in pairs_health(session, pairs=pairs, policy=policy)
        if needs_training(health)
    ]


# --- frames from the database ---------------------------------------------------------------------


class PairLike(Protocol):
    """Anything naming a pair: `PairKey`, or `market.logic.Pair` from `pairs_for_jobs`."""

    @property
    def exchange(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def timeframe(self) -> str: ...
    @property
    def horizon_steps(self) -> int: ...


def as_pair_key(pair: PairLike) -> PairKey:
    if isinstance(pair, PairKey):
        return pair
    return PairKey.of(
        exchange=pair.exchange, symbol=pair.symbol, timeframe=pair.timeframe, horizon_steps=pair.horizon_steps
    )


def _no_prices(
    pair: PairKey, detail: str = "no prices stored", fix: str = "fetch prices first"
) -> PreconditionFailed:
    return PreconditionFailed(
        f"{detail} for {pair.exchange} {pair.symbol} {pair.timeframe}; {fix} "
        "(POST /prices/fetch, `myassistant fetch-prices`, or train with fetch=true)"
    )


def _news_for(session: Session, prices: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """The annotated articles the bars' news windows see: from the first window's start to the last close."""
    first_close = prices.index[0] + timeframe_delta(timeframe)
    last_close = prices.index[-1] + timeframe_delta(timeframe)
    return news_service.annotated_news_frame(
        session, since=(first_close - NEWS_LOOKBACK).to_pydatetime(), until=last_close.to_pydatetime()
    )


def load_frames(
    session: Session,
    *,
    settings: Settings,
    pair: PairLike,
    start: datetime | None = None,
    end: datetime | None = None,
    bars: int | None = None,
) -> Frames:
    """Stored prices and news for dataset rows `start..end`, or the last `bars` rows up to `end`.

    Each row gets WARMUP_BARS bars of history before it (loaded too, marked by `first_row`), so its
    features equal what the live row computes; rows without that much stored history are left out.
    `end` defaults to the newest stored bar; neither `start` nor `bars` means every stored bar.
    News: only the window the bars need, plus the start of the news history (`news_since`).
    PreconditionFailed (412) when nothing or too little is stored. `settings` is unused today.
    """
    key = as_pair_key(pair)
    if start is not None and bars is not None:
        raise InvalidInput("give start (with an optional end) or bars, not both")
    step = timeframe_delta(key.timeframe)
    read = functools.partial(
        market.load_prices, session, exchange=key.exchange, symbol=key.symbol, timeframe=key.timeframe
    )
    if start is not None:
        prices = read(start=start - WARMUP_BARS * step, end=end)
        wanted_first = pd.Timestamp(start)
    else:
        prices = read(end=end, limit=bars + WARMUP_BARS if bars is not None else None)
        wanted_first = prices.index[-bars] if bars is not None and len(prices) >= bars else None
    if prices.empty or (wanted_first is not None and wanted_first > prices.index[-1]):
        raise _no_prices(
            key, "no prices stored" if start is None and end is None else "no prices in that range"
        )
    warmed = prices.index[0] + WARMUP_BARS * step
    first_row = warmed if wanted_first is None else max(warmed, wanted_first)
    if first_row > prices.index[-1]:
        raise _no_prices(
            key,
            f"too little history: {len(prices)} bars stored up to {prices.index[-1].isoformat()}, and a "
            f"dataset row needs {WARMUP_BARS} bars ({WARMUP_BARS * step}) of history before it",
            "fetch older history (with `since`)",
        )
    return Frames(
        prices=prices,
        news=_news_for(session, prices, key.timeframe),
        news_since=news_service.news_history_start(session),
        first_row=first_row.to_pydatetime(),
    )


def trailing_frames(
    prices: pd.DataFrame,
    news: pd.DataFrame | None,
    *,
    timeframe: str,
    bars: int,
    before: datetime,
    news_since: datetime | None,
) -> Frames | None:
    """`load_frames(bars=...)` over frames already in memory: the last `bars` rows closed by `before`.

    The same rows, warm-up and news window as a training run started at `before` would read from
    the database (the replay's walk-forward trains this way); None when nothing had closed by then.
    """
    step = timeframe_delta(timeframe)
    end = int(prices.index.searchsorted(pd.Timestamp(before) - step, side="right"))
    window = prices.iloc[max(0, end - bars - WARMUP_BARS) : end]
    if window.empty:
        return None
    first_row = max(window.index[0] + WARMUP_BARS * step, window.index[max(0, len(window) - bars)])
    if first_row > window.index[-1]:
        return None
    seen = news
    if news is not None and not news.empty:
        first_close, last_close = window.index[0] + step, window.index[-1] + step
        moments = news["first_seen_at"]
        seen = news[(moments >= first_close - NEWS_LOOKBACK) & (moments < last_close)]
    return Frames(prices=window, news=seen, news_since=news_since, first_row=first_row.to_pydatetime())


class LiveRow(NamedTuple):
    """The feature row of the newest stored (closed) bar, built exactly as training rows are."""

    bar_ts: datetime  # open time of that bar, UTC
    features: pd.DataFrame  # one row, index `ts`, columns FEATURE_COLUMNS (select a model's own features)
    prices: pd.DataFrame  # the bars used, oldest first; the last one is `bar_ts`

    @property
    def warmed_up(self) -> bool:
        """False when fewer than WARMUP_BARS bars were stored: the row may differ from a training row."""
        return len(self.prices) >= WARMUP_BARS


class NewsMemo:
    """News reads shared by the live rows of one pass over the watchlist.

    Every pair of a timeframe sees the same news window at the same bar, so a scan reads it (and
    the news history start) once instead of once per pair. Frames are read-only to their users.
    """

    def __init__(self) -> None:
        self._frames: dict[tuple[pd.Timestamp, str], pd.DataFrame] = {}
        self._history_read = False
        self._history_start: datetime | None = None

    def frame(self, session: Session, bar: pd.DataFrame, timeframe: str) -> pd.DataFrame:
        """The articles the news windows of `bar` (a one-row price frame) see."""
        key = (bar.index[-1], timeframe)
        if key not in self._frames:
            self._frames[key] = _news_for(session, bar, timeframe)
        return self._frames[key]

    def history_start(self, session: Session) -> datetime | None:
        if not self._history_read:
            self._history_start, self._history_read = news_service.news_history_start(session), True
        return self._history_start


def live_feature_row(
    session: Session,
    *,
    settings: Settings,
    pair: PairLike,
    bar_ts: datetime | None = None,
    news: NewsMemo | None = None,
) -> LiveRow:
    """The features of the pair's newest stored bar (or of `bar_ts`), from WARMUP_BARS bars of history.

    For the decision loop: stable signature. Stored bars are closed bars, so by default `bar_ts` is
    the last closed bar the store knows; comparing it with the clock (is it the latest?) is the
    caller's call. PreconditionFailed (412) when no prices are stored (or not the bar asked for).
    `settings` is unused today; `news` shares news reads across the pairs of one scan.
    """
    news = news or NewsMemo()
    key = as_pair_key(pair)
    prices = market.load_prices(
        session,
        exchange=key.exchange,
        symbol=key.symbol,
        timeframe=key.timeframe,
        end=bar_ts,
        limit=WARMUP_BARS,
    )
    if prices.empty:
        raise _no_prices(key)
    if bar_ts is not None and prices.index[-1] != pd.Timestamp(bar_ts):
        raise _no_prices(key, f"the bar of {bar_ts.isoformat()} is not stored")
    features = build_features(
        prices,
        news.frame(session, prices.iloc[-1:], key.timeframe),
        symbol=key.symbol,
        timeframe=key.timeframe,
        news_since=news.history_start(session),
    )
    return LiveRow(bar_ts=prices.index[-1].to_pydatetime(), features=features.iloc[-1:], prices=prices)


# --- history for training -------------------------------------------------------------------------


def training_bars(policy: ModelPolicy) -> int:
    """Bars a training run reads: the policy's rows plus the features' warm-up before them."""
    return policy.train_bars + WARMUP_BARS


def _stored_since(session: Session, pair: PairKey, start_ms: int) -> tuple[int, int | None]:
    """How many bars are stored from `start_ms` on, and the first one's open time (ms)."""
    count, first = market.stored_span(
        session,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
        start=market_logic.from_ms(start_ms),
    )
    return count, None if first is None else market_logic.to_ms(first)


def ensure_history(
    session: Session, *, settings: Settings, pair: PairKey, bars: int
) -> tuple[HistoryRead, DomainError | None]:
    """Fetch what the store lacks of the last `bars` closed bars: older history first, then the tail.

    Commits (no transaction is held while waiting on the exchange); an exchange failure is returned,
    not raised, with what the store holds after it.
    """
    try:
        step = market_logic.timeframe_ms(pair.timeframe)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    newest = market_logic.last_closed_open(market_logic.to_ms(clock.now()), pair.timeframe)
    start_ms = newest - (bars - 1) * step
    stored, first = _stored_since(session, pair, start_ms)
    session.commit()
    if stored >= bars:
        return HistoryRead(bars_needed=bars, bars_stored=stored, fetched_bars=0), None
    fetch = functools.partial(
        market.fetch_prices,
        session,
        settings=settings,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
    )
    fetched, error = 0, None
    try:
        if first is None or first > start_ms:  # older history: from the window start up to what is stored
            head_end = newest if first is None else first - step
            head = fetch(since=market_logic.from_ms(start_ms), limit=(head_end - start_ms) // step + 1)
            fetched += head.new_bars
        if first is not None:  # the tail after the newest stored bar, and holes in between
            fetched += fetch().new_bars
    except DomainError as exc:
        error = exc
    session.rollback()  # a failed fetch may leave its page transaction open; stored pages are committed
    stored, _ = _stored_since(session, pair, start_ms)
    session.commit()
    history = HistoryRead(
        bars_needed=bars, bars_stored=stored, fetched_bars=fetched, error=error.detail if error else None
    )
    return history, error


# --- training from the database -------------------------------------------------------------------


@dataclass(frozen=True)
class PairTrainingResult:
    outcome: TrainOutcome
    history: HistoryRead | None


def train_pair(
    session: Session,
    *,
    settings: Settings,
    pair: PairLike,
    fetch: bool = True,
    source: str = "api",
    config: TrainConfig | None = None,
) -> PairTrainingResult:
    """Train one pair on its last `train_bars` stored closed bars, fetching missing history first.

    Every attempt leaves a run row: a failed fetch or missing prices are recorded as a failed run
    and reported in `outcome.error` (the caller commits, then answers its status code).
    """
    key = as_pair_key(pair)
    policy = get_policy(session)
    costs = training_costs(session)
    started = time.perf_counter()
    history: HistoryRead | None = None
    try:
        if fetch:
            history, error = ensure_history(session, settings=settings, pair=key, bars=training_bars(policy))
            if error is not None:
                raise error
        frames = load_frames(session, settings=settings, pair=key, bars=policy.train_bars)
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


def training_frames(settings: Settings, pair: PairKey, *, bars: int) -> Frames:
    """Frames for training `pair`, read in a worker process through its own connection."""
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.session(write=False) as session:
            return load_frames(session, settings=settings, pair=pair, bars=bars)
    finally:
        database.dispose()


def watchlist_pairs(session: Session, *, settings: Settings) -> list[PairKey]:
    """Every watchlist pair (defaults filled in), as the model services name pairs.

    A pair the model tables cannot hold (a symbol longer than their columns) is logged and left
    out, so one odd entry does not stop health checks and training for the others.
    """
    pairs: list[PairKey] = []
    for pair in market.pairs_for_jobs(session, settings=settings):
        try:
            pairs.append(as_pair_key(pair))
        except InvalidInput as exc:
            logger.warning("watchlist pair %s %s left out of model work: %s", pair.exchange, pair.symbol, exc)
    return pairs


def health_report(session: Session, *, settings: Settings) -> list[ModelHealthRead]:
    """Model health of every watchlist pair under the current policy."""
    pairs = watchlist_pairs(session, settings=settings)
    return [health for _, health in pairs_health(session, pairs=pairs, policy=get_policy(session))]


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
    (`fanout.train_many`), one pair in this process.
    """
    from myassistant.ml.fanout import train_many  # fanout builds on this module

    policy = get_policy(session)
    costs = training_costs(session)
    found = pairs_health(session, pairs=watchlist_pairs(session, settings=settings), policy=policy)
    session.commit()
    done: dict[tuple[str, str, str, int], PairTrainOutcome] = {}

    def report(outcome: PairTrainOutcome) -> None:
        done[(outcome.exchange, outcome.symbol, outcome.timeframe, outcome.horizon_steps)] = outcome
        if on_pair is not None:
            on_pair(outcome, len(done), len(found))

    health_of = {pair.key(): health for pair, health in found}
    fetched: dict[tuple[str, str, str, int], int] = {}
    to_train: list[PairKey] = []
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
    pair: PairKey, health: ModelHealthRead, action: str, reason: str, **extra: Any
) -> PairTrainOutcome:
    return PairTrainOutcome(**pair.model_dump(), action=action, health=health.status, reason=reason, **extra)


def _from_run(
    pair: PairKey, health: ModelHealthRead, outcome: TrainOutcome, fetched_bars: int | None
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
