"""APScheduler inside the service, leader only: with several processes exactly one runs jobs."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import Conflict
from myassistant.core.locks import NamedLock, named_lock
from myassistant.jobs.registry import JobDefinition, JobTable
from myassistant.jobs.runner import JobContext, JobLocks, mark_abandoned_runs, run_job

logger = logging.getLogger("myassistant.scheduler")

LEADER_LOCK = "scheduler-leader"
ELECTION_JOB_ID = "_leader_election"


class Scheduler:
    """Tries to become leader every `election_interval_s`; only the leader schedules the jobs."""

    def __init__(
        self,
        *,
        database: Database,
        settings: Settings,
        jobs: JobTable,
        locks: JobLocks,
        election_interval_s: float = 30.0,
    ) -> None:
        self.database = database
        self.settings = settings
        self.jobs = jobs
        self.locks = locks
        self.election_interval_s = election_interval_s
        self._leader_lock: NamedLock = named_lock(database, LEADER_LOCK, lock_dir=locks.lock_dir)
        self._scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        )

    @property
    def is_leader(self) -> bool:
        return self._leader_lock.held

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()
        self._scheduler.add_job(
            self.try_become_leader, "interval", seconds=self.election_interval_s, id=ELECTION_JOB_ID
        )
        self.try_become_leader()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self._leader_lock.release()

    def try_become_leader(self) -> bool:
        """Take the leader lock if it is free and schedule every job; True when leader."""
        if self.is_leader:
            return True
        if not self._leader_lock.acquire():
            return False
        logger.info("this process is the scheduler leader; scheduling %d jobs", len(self.jobs.all()))
        for definition in self.jobs.all():
            with self.database.session() as session:
                abandoned = mark_abandoned_runs(
                    session, job=definition.name, lock=self.locks.for_job(definition.name)
                )
            if abandoned:
                logger.warning(
                    "job %s: %d run(s) left unfinished by a stopped process", definition.name, abandoned
                )
            self._scheduler.add_job(
                self._run,
                definition.trigger,
                args=[definition],
                id=definition.name,
                name=definition.name,
                replace_existing=True,
                **definition.trigger_args,
            )
        return True

    def _run(self, definition: JobDefinition) -> None:
        context = JobContext(database=self.database, settings=self.settings, source="scheduler")
        try:
            run_job(definition.name, definition.func, context, self.locks)
        except Conflict:
            logger.info("job %s skipped: a manual run is in progress", definition.name)

    def next_runs(self) -> dict[str, str | None]:
        runs: dict[str, str | None] = {}
        for definition in self.jobs.all():
            job = self._scheduler.get_job(definition.name) if self.running else None
            next_run = getattr(job, "next_run_time", None) if job else None
            runs[definition.name] = next_run.isoformat() if next_run else None
        return runs

    def state(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "running": self.running,
            "leader": self.is_leader,
            "next_runs": self.next_runs(),
        }
