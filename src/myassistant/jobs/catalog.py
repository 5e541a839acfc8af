"""The product's jobs and actions: what runs, when, and the function each calls."""

from __future__ import annotations

import logging
import threading

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import Conflict
from myassistant.jobs.registry import JobDefinition, JobTable, daily, define, every
from myassistant.jobs.runner import JobContext, JobLocks, JobOutcome, acquire_job_lock, run_locked
from myassistant.market import jobs as market_jobs
from myassistant.market import service as market
from myassistant.market.schemas import DiscoverRequest, PricesFetchRequest
from myassistant.ml import jobs as ml_jobs
from myassistant.ml.schemas import DatasetBuildRequest, TrainMissingRequest, TrainRequest
from myassistant.news import jobs as news_jobs
from myassistant.news.schemas import AnalyzeRequest
from myassistant.notify import alerts
from myassistant.signals import jobs as signal_jobs

# Scheduled jobs (SPEC §13), in the order they are listed.
JOBS: tuple[JobDefinition, ...] = (
    define(
        "discover_watchlist",
        market_jobs.discover_watchlist,
        daily(0, 30),
        "refresh the watchlist with the most liquid spot pairs",
        params=DiscoverRequest,
    ),
    define(
        "fetch_news",
        news_jobs.fetch_news,
        every(10),
        "fetch the news feeds",
        params=news_jobs.FetchNewsParams,
    ),
    # Two minutes after each fetch, so the new articles are annotated in the same ten minutes.
    define(
        "analyze_news",
        news_jobs.analyze_news,
        ("cron", {"minute": "2-59/10"}),
        "annotate new articles",
        params=AnalyzeRequest,
    ),
    define(
        "fetch_prices",
        market_jobs.fetch_prices,
        every(15, offset_s=20),
        "fetch the watchlist's new closed bars, just after each 15-minute close",
        params=PricesFetchRequest,
    ),
    define(
        "make_signals",
        signal_jobs.make_signals,
        every(15, offset_s=40),
        "refresh prices, signal every watchlist pair on its last closed bar, paper-trade BUYs, apply exits",
    ),
    define(
        "train_models",
        ml_jobs.train_models,
        daily(2, 0),
        "train the watchlist pairs whose model is missing, stale or weak (model policy)",
    ),
    define(
        "check_alerts",
        alerts.check_alerts_job,
        every(10, offset_s=30),
        "Telegram alert, once per incident, when a job or feed keeps failing or a model goes stale",
    ),
)

# One-off actions for POST /automation/run {"action": ...}; never scheduled.
ACTIONS: tuple[JobDefinition, ...] = (
    define(
        "signal_once",
        signal_jobs.signal_once,
        ("manual", {}),
        "one pair (symbol, exchange, timeframe, horizon_steps): signal and paper-trade a BUY",
        params=signal_jobs.SignalOnceParams,
    ),
    define(
        "scan_watchlist",
        signal_jobs.scan_watchlist,
        ("manual", {}),
        "signal every watchlist pair, never trade",
    ),
    define(
        "train_missing",
        ml_jobs.train_missing,
        ("manual", {}),
        "train the watchlist pairs that need it now (params: fetch)",
        params=TrainMissingRequest,
    ),
)

# Run by CLI commands through the runner (a job_runs row each, never overlapping); neither scheduled
# nor actions: the API has its own routes for them (POST /dataset/build, POST /model/train).
TASKS: tuple[JobDefinition, ...] = (
    define(
        "build_dataset",
        ml_jobs.build_dataset,
        ("manual", {}),
        "build and store one pair's dataset",
        params=DatasetBuildRequest,
    ),
    define("train", ml_jobs.train, ("manual", {}), "train one pair's model", params=TrainRequest),
)


def job_table() -> JobTable:
    return JobTable(JOBS)


def action_table() -> JobTable:
    return JobTable(ACTIONS, kind="action")


def task_table() -> JobTable:
    return JobTable(TASKS, kind="task")


def table(kind: str) -> JobTable:
    """The table of a kind: "job", "action" or "task"."""
    return {"job": job_table, "action": action_table, "task": task_table}[kind]()


logger = logging.getLogger("myassistant.jobs")
FIRST_RUN_SOURCE = "startup"


def discover_on_first_run(database: Database, settings: Settings, locks: JobLocks) -> JobOutcome | None:
    """Run `discover_watchlist` (source "startup") when the watchlist was never set; None otherwise.

    The check happens under the job's lock, so two replicas starting together, or a discovery
    started meanwhile from the API, never make it run twice.
    """
    definition = job_table().get("discover_watchlist")
    try:
        lock = acquire_job_lock(definition.name, locks)
    except Conflict:
        return None  # someone is discovering right now
    try:
        with database.session(write=False) as session:
            if not market.watchlist_never_set(session):
                return None
        context = JobContext(database=database, settings=settings, source=FIRST_RUN_SOURCE)
        return run_locked(definition.name, definition.func, context)
    finally:
        lock.release()


def start_first_run_discovery(database: Database, settings: Settings, locks: JobLocks) -> threading.Thread:
    """`discover_on_first_run` in a background thread, so start-up never waits for the exchange."""

    def work() -> None:
        try:
            outcome = discover_on_first_run(database, settings, locks)
        except Exception:  # the service keeps starting; the next start tries again
            logger.exception("first-run watchlist discovery could not run")
            return
        if outcome is not None:
            logger.info("first run: watchlist discovery %s (%s)", outcome.status, outcome.error or "")

    thread = threading.Thread(target=work, name="first-run-discovery", daemon=True)
    thread.start()
    return thread
