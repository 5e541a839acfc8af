"""A first run that works: a fresh install has an empty watchlist, so every scheduled job would do
nothing until the nightly discovery; the service discovers once on start instead."""

from __future__ import annotations

import logging
import threading

from myassistant.catalog import job_table
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import Conflict
from myassistant.jobs.runner import JobContext, JobLocks, JobOutcome, acquire_job_lock, run_locked
from myassistant.market import service as market

logger = logging.getLogger("myassistant.jobs")
FIRST_RUN_SOURCE = "startup"


def discover_on_first_run(database: Database, settings: Settings, locks: JobLocks) -> JobOutcome | None:
    """Run `discover_watchlist` (source "startup") when the watchlist was never set; None otherwise.

    The check happens under the job's lock, so two replicas starting together, or a discovery
    started meanwhile from the API, never make it run twice.
    """
    definition = job_table().get("discover_watchlist")
    try:
        lock = acquire_job_lock(definition.name, locks, database)
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
