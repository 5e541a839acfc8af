"""The product's jobs and actions: what runs, when, and the function each calls."""

from __future__ import annotations

from myassistant.jobs.registry import JobDefinition, JobTable, define, every
from myassistant.notify import alerts
from myassistant.signals import jobs as signal_jobs

# Scheduled jobs (SPEC §13), in the order they are listed.
JOBS: tuple[JobDefinition, ...] = (
    define(
        "make_signals",
        signal_jobs.make_signals,
        every(15, offset_s=40),
        "refresh prices, signal every watchlist pair on its last closed bar, paper-trade BUYs, apply exits",
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
    ),
    define(
        "scan_watchlist",
        signal_jobs.scan_watchlist,
        ("manual", {}),
        "signal every watchlist pair, never trade",
    ),
)


def job_table() -> JobTable:
    return JobTable(JOBS)


def action_table() -> JobTable:
    return JobTable(ACTIONS, kind="action")
