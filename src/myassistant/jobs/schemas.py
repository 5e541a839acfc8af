"""API models of the automation endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job: str
    source: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    error: str | None
    stats: dict[str, Any]
    progress: dict[str, Any] | None = Field(
        default=None, description="a running run's latest progress: done, total, label (this process only)"
    )


class JobStatus(BaseModel):
    name: str
    description: str
    schedule: str
    next_run: str | None
    last_run: JobRunRead | None


class AutomationStatus(BaseModel):
    scheduler_enabled: bool
    scheduler_running: bool
    leader: bool
    jobs: list[JobStatus]


class RunRequest(BaseModel):
    """Either a scheduled job by name, or an action with its parameters."""

    model_config = ConfigDict(extra="allow")

    job: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    wait: bool = Field(default=True, description="false: start in the background and answer 202")


class RunAccepted(BaseModel):
    job: str
    status: str = "started"
    run_id: int = Field(description="the run's job_runs id: follow it in GET /automation/runs")


class JobOutcomeRead(BaseModel):
    run_id: int
    job: str
    status: str
    started_at: datetime
    finished_at: datetime
    duration_s: float
    error: str | None
    stats: dict[str, Any]
