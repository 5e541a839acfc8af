"""Model work for the jobs runner: nightly training, train_missing, and the CLI's build-dataset and train.

Whoever starts them (scheduler, CLI, `POST /automation/run`), they run through the runner, so each
run has its `job_runs` row and never overlaps itself. The nightly job and train_missing do the same
work under different names, so they also share one cross-process training lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import Conflict, InvalidInput, describe_validation_errors, field_errors
from myassistant.core.locks import lock_dir_for, named_lock
from myassistant.jobs.runner import JobContext
from myassistant.ml import datasets, service
from myassistant.ml.schemas import DatasetBuildRequest, PairTrainOutcome, TrainMissingRequest, TrainRequest

TRAINING_LOCK = "ml-training"
# A callable the CLI passes in the params of train_missing, called with each pair's outcome.
PROGRESS_PARAM = "on_pair"

RequestT = TypeVar("RequestT", bound=BaseModel)


@contextmanager
def training_lock(database: Database, settings: Settings) -> Iterator[None]:
    """Held while train_models or train_missing runs, whichever process started it; 409 when taken."""
    lock = named_lock(database, TRAINING_LOCK, lock_dir=lock_dir_for(database, settings.artifacts_dir))
    if not lock.acquire():
        raise Conflict("model training (train_models / train_missing) is already running; try again later")
    try:
        yield
    finally:
        lock.release()


def _parse(model: type[RequestT], params: dict[str, Any]) -> RequestT:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid parameters: {describe_validation_errors(exc.errors())}",
            errors=field_errors(exc.errors()),
        ) from None


def _train_missing(context: JobContext, *, fetch: bool) -> dict[str, Any]:
    progress = context.params.get(PROGRESS_PARAM)
    on_pair: Callable[[PairTrainOutcome], None] | None = progress if callable(progress) else None
    with training_lock(context.database, context.settings), context.database.session() as session:
        report = service.train_missing(
            session, settings=context.settings, fetch=fetch, source=context.source, on_pair=on_pair
        )
    return report.model_dump(mode="json")


def train_models(context: JobContext) -> dict[str, Any]:
    """Nightly: train the watchlist pairs whose model the policy says is missing, stale or weak."""
    return _train_missing(context, fetch=True)


def train_missing(context: JobContext) -> dict[str, Any]:
    """The train_missing action: like train_models; params `{"fetch": false}` trains on stored bars only."""
    params = {k: v for k, v in context.params.items() if k != PROGRESS_PARAM}
    return _train_missing(context, fetch=_parse(TrainMissingRequest, params).fetch)


def build_dataset(context: JobContext) -> dict[str, Any]:
    """Build and store one pair's dataset; params as the body of POST /dataset/build."""
    request = _parse(DatasetBuildRequest, context.params)
    with context.database.session() as session:
        built = datasets.build(session, settings=context.settings, request=request)
    return built.model_dump(mode="json")


def train(context: JobContext) -> dict[str, Any]:
    """Train one pair; params as the body of POST /model/train. A failed run is recorded, then raised."""
    request = _parse(TrainRequest, context.params)
    with context.database.session() as session:
        result = service.train_pair(
            session,
            settings=context.settings,
            pair=request.pair(context.settings),
            fetch=request.fetch,
            source=context.source,
        )
    if result.outcome.error is not None:  # raised after the commit above, so the failed run stays
        raise result.outcome.error
    return {
        "run": result.outcome.run.model_dump(mode="json"),
        "promotion": result.outcome.promotion.model_dump(mode="json") if result.outcome.promotion else None,
        "history": result.history.model_dump(mode="json") if result.history else None,
    }
