"""The product's jobs and actions: what runs, when, and the function each calls."""

from __future__ import annotations

from myassistant.jobs.registry import JobDefinition, JobTable

# Scheduled jobs (SPEC §13), in the order they are listed.
JOBS: tuple[JobDefinition, ...] = ()

# One-off actions for POST /automation/run {"action": ...}; never scheduled.
ACTIONS: tuple[JobDefinition, ...] = ()


def job_table() -> JobTable:
    return JobTable(JOBS)


def action_table() -> JobTable:
    return JobTable(ACTIONS, kind="action")
