"""The product's jobs: what runs, when, and the function each calls."""

from __future__ import annotations

from myassistant.jobs.registry import JobDefinition, JobTable

JOBS: tuple[JobDefinition, ...] = ()


def job_table() -> JobTable:
    return JobTable(JOBS)
