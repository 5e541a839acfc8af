"""The FastAPI application factory."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from myassistant import __version__
from myassistant.api import diagnostics, openapi
from myassistant.api.errors import install_error_handlers
from myassistant.api.guards import check_request
from myassistant.api.limits import BodySizeLimitMiddleware
from myassistant.api.routes import (
    automation,
    dataset,
    memory,
    model,
    news,
    notify,
    prices,
    replay,
    report,
    risk,
    signals,
    system,
    trade,
    watchlist,
)
from myassistant.api.security import BearerTokenMiddleware
from myassistant.bot.poller import start_in_service
from myassistant.catalog import action_table, job_table, task_table
from myassistant.catalog.first_run import start_first_run_discovery
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.logging import setup_logging
from myassistant.jobs import isolation
from myassistant.jobs.runner import JobLocks
from myassistant.jobs.scheduler import Scheduler

logger = logging.getLogger("myassistant.api")
# Shutdown waits this long for a first-run discovery still talking to the exchange.
FIRST_RUN_JOIN_S = 30.0

ROUTERS: tuple[APIRouter, ...] = (
    system.router,
    memory.router,
    risk.router,
    signals.router,
    replay.router,
    trade.router,
    automation.router,
    notify.router,
    model.router,
    news.router,
    prices.router,
    watchlist.router,
    dataset.router,
    report.router,
)

DESCRIPTION = (
    "Self-hosted crypto research and signal assistant: news, prices, datasets, models, signals, "
    "risk policy, Telegram notifications, paper trading and reports. Mutating routes need "
    "`Authorization: Bearer <API_TOKEN>` when API_TOKEN is set."
)


def _fastapi_class(settings: Settings) -> Callable[..., FastAPI]:
    if settings.enable_docs and settings.offline_docs:
        try:
            from fastapi_offline import FastAPIOffline
        except ImportError:
            logger.warning(
                "OFFLINE_DOCS=1 but fastapi-offline is not installed; /docs loads assets from a CDN"
            )
        else:
            return FastAPIOffline
    return FastAPI


def _docs_kwargs(settings: Settings) -> dict[str, Any]:
    if settings.enable_docs:
        return {"docs_url": "/docs", "redoc_url": "/redoc", "openapi_url": "/openapi.json"}
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}


def _stop_training_workers() -> None:
    """Training workers are processes of their own: stopping the service stops them (a training run in
    progress fails and is recorded), instead of leaving them to finish or idle out minutes later."""
    if "joblib" in sys.modules:  # nothing trained in this process: no worker to stop
        from myassistant.ml.fanout import release_workers

        release_workers()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    for line in diagnostics.boot_lines():
        logger.info(line)
    settings: Settings = app.state.settings
    first_run = None
    if settings.scheduler_enabled:
        app.state.scheduler = Scheduler(
            database=app.state.db, settings=settings, jobs=app.state.jobs, locks=app.state.job_locks
        )
        app.state.scheduler.start()
        first_run = start_first_run_discovery(app.state.db, settings, app.state.job_locks)
    if settings.telegram_bot_enabled:
        app.state.bot = start_in_service(
            database=app.state.db, settings=settings, scheduler=lambda: app.state.scheduler
        )
    try:
        yield
    finally:
        if app.state.bot is not None:
            app.state.bot.shutdown()
        # First: a training job the scheduler waits for then ends at once.
        isolation.stop_all()
        _stop_training_workers()
        if app.state.scheduler is not None:
            app.state.scheduler.shutdown()
        if first_run is not None:
            first_run.join(FIRST_RUN_JOIN_S)
        if app.state.owns_db:
            app.state.db.dispose()


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the service for `settings`; pass `database` to share an existing engine."""
    settings = settings or Settings()
    setup_logging(settings.log_level, settings.secret_values())
    app = _fastapi_class(settings)(
        title="myassistant",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        dependencies=[Depends(check_request)],
        **_docs_kwargs(settings),
    )
    app.state.settings = settings
    app.state.owns_db = database is None
    app.state.db = database or Database(settings.database_url)
    app.state.jobs = job_table()
    app.state.actions = action_table()
    app.state.tasks = task_table()
    app.state.job_locks = JobLocks(app.state.db, settings)
    app.state.scheduler = None
    app.state.bot = None
    # Outermost first: CORS, request id and crash guard, token, body size, then the routes.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(BearerTokenMiddleware, token=settings.api_token)
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app, settings)
    return app
