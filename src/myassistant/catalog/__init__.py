"""The job catalog: the product's one table of jobs, actions and CLI tasks, and their thin callbacks.

An entry point like the API and the CLI: it may import any domain, and no domain imports it. Each
callback parses its parameters, calls one domain service and returns the stats a run records;
`myassistant.jobs` runs them (lock, job_runs row, progress) for the scheduler, the API and the CLI.
"""

from __future__ import annotations

from typing import Any

from myassistant.catalog import alerts
from myassistant.catalog import market as market_jobs
from myassistant.catalog import ml as ml_jobs
from myassistant.catalog import news as news_jobs
from myassistant.catalog import replay as replay_jobs
from myassistant.catalog import reports as report_jobs
from myassistant.catalog import signals as signal_jobs
from myassistant.core.config import Settings
from myassistant.jobs.registry import JobDefinition, JobTable, daily, define, every
from myassistant.market.schemas import DiscoverRequest, PricesFetchRequest
from myassistant.ml.schemas import DatasetBuildRequest, TrainMissingRequest, TrainRequest
from myassistant.news.schemas import AnalyzeRequest
from myassistant.replay.schemas import ReplayJobParams
from myassistant.reports.schemas import ReportRequest
from myassistant.signals.schemas import SignalOnceParams


def pair_lock(params: Any, settings: Settings) -> str:
    """One lock per pair for jobs on one pair (the settings' defaults complete it): two pairs may run
    at once, the same pair never twice."""
    exchange = (params.exchange or settings.default_exchange).strip().lower()
    timeframe = params.timeframe or settings.default_timeframe
    horizon = params.horizon_steps or settings.default_horizon_steps
    return f"{exchange}:{params.symbol.strip().upper()}:{timeframe}:{horizon}"


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
        "build_report",
        report_jobs.build_report,
        daily(0, 50),
        "build the previous UTC day's HTML report (params: date, lang) and send it to Telegram",
        params=ReportRequest,
    ),
    define(
        "check_alerts",
        alerts.check_alerts,
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
        params=SignalOnceParams,
        lock_key=pair_lock,
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
    define(
        "replay",
        replay_jobs.replay,
        ("manual", {}),
        "replay the decision loop over history on a separate account (params as POST /replay)",
        params=ReplayJobParams,
    ),
)

# Run by CLI commands and by their own API routes (POST /dataset/build, POST /model/train) through the
# runner (a job_runs row each, never overlapping for the same pair); neither scheduled nor actions.
TASKS: tuple[JobDefinition, ...] = (
    define(
        "build_dataset",
        ml_jobs.build_dataset,
        ("manual", {}),
        "build and store one pair's dataset",
        params=DatasetBuildRequest,
        lock_key=pair_lock,
    ),
    define(
        "train",
        ml_jobs.train,
        ("manual", {}),
        "train one pair's model",
        params=TrainRequest,
        lock_key=pair_lock,
    ),
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
