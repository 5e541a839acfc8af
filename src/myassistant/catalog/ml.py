"""Model work for the jobs runner: nightly training, train_missing, and the CLI's build-dataset and train.

Whoever starts them (scheduler, CLI, `POST /automation/run`), they run through the runner, so each
run has its `job_runs` row and never overlaps itself. The nightly job and train_missing do the same
work under different names, so they also share one cross-process training lock.

Each callback imports its domain service when it runs, so the service starts without the training code.
"""

from __future__ import annotations

from typing import Any

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.jobs.isolation import run_isolated
from myassistant.jobs.runner import Finished, JobContext, Progress, parse_params
from myassistant.ml.schemas import (
    DatasetBuildRequest,
    DatasetRead,
    TrainMissingReport,
    TrainMissingRequest,
    TrainRequest,
    TrainResponse,
)
from myassistant.notify import summaries
from myassistant.notify.logic import TrainingLine


def _train_missing(context: JobContext, *, fetch: bool) -> Finished:
    """Train what needs it (in a process of its own unless TRAINING_ISOLATED=0), then tell the chat what
    this run did (once per run, when notifications are on); the report is POST /model/train_missing's
    answer."""
    if context.settings.training_isolated:
        report = run_isolated(
            train_missing_isolated, context.settings, fetch, context.source, progress=context.progress
        )
    else:
        report = _train(context.database, context.settings, fetch, context.source, context.progress)
    stats: dict[str, Any] = report.model_dump(mode="json")
    if context.run_id is not None:
        stats["telegram"] = summaries.send_training_summary(
            context.database,
            settings=context.settings,
            run_id=context.run_id,
            source=context.source,
            lines=training_lines(report),
        )
    return Finished(stats, result=report)


def train_missing_isolated(
    settings: Settings, fetch: bool, source: str, *, progress: Progress
) -> TrainMissingReport:
    """The training of a run, in the isolated process: its own database connection."""
    database = Database(settings.database_url)
    try:
        return _train(database, settings, fetch, source, progress)
    finally:
        database.dispose()


def _train(
    database: Database, settings: Settings, fetch: bool, source: str, progress: Progress
) -> TrainMissingReport:
    from myassistant.ml import service  # loaded where the training runs, not when the service starts

    return service.train_missing_exclusive(
        database,
        settings=settings,
        fetch=fetch,
        source=source,
        on_pair=lambda outcome, done, total: progress(done, total, f"{outcome.symbol}: {outcome.action}"),
    )


def training_lines(report: TrainMissingReport) -> list[TrainingLine]:
    return [
        TrainingLine(
            symbol=pair.symbol,
            timeframe=pair.timeframe,
            action=pair.action,
            test_auc=pair.test_auc,
            promotion=pair.promotion,
            reason=pair.reason,
        )
        for pair in report.pairs
    ]


def train_models(context: JobContext) -> Finished:
    """Nightly: train the watchlist pairs whose model the policy says is missing, stale or weak."""
    return _train_missing(context, fetch=True)


def train_missing(context: JobContext) -> Finished:
    """The train_missing action (and POST /model/train_missing): like train_models; params
    `{"fetch": false}` train on stored bars only."""
    return _train_missing(context, fetch=parse_params(TrainMissingRequest, context.params).fetch)


def build_dataset(context: JobContext) -> DatasetRead:
    """Build and store one pair's dataset; params and result as POST /dataset/build's."""
    from myassistant.ml import dataset_store

    request = parse_params(DatasetBuildRequest, context.params)
    with context.database.session() as session:
        return dataset_store.build(session, settings=context.settings, request=request)


def train(context: JobContext) -> TrainResponse:
    """Train one pair; params and result as POST /model/train's. A failed run is recorded, then
    raised with its run id and history, which the route answers with the error's status."""
    from myassistant.ml import service

    request = parse_params(TrainRequest, context.params)
    with context.database.session() as session:
        result = service.train_pair(
            session,
            settings=context.settings,
            pair=request.pair(context.settings),
            fetch=request.fetch,
            source=context.source,
        )
    outcome = result.outcome
    if outcome.error is not None:  # raised after the commit above, so the failed run stays
        outcome.error.extra.update(run_id=outcome.run.id, history=result.history)
        raise outcome.error
    return TrainResponse(run=outcome.run, promotion=outcome.promotion, history=result.history)
