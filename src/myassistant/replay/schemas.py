"""API models of replays: what to replay, and what a replay answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from myassistant.ml.schemas import PairRequest
from myassistant.signals.risk import RiskPolicy
from myassistant.trading.logic import BrokerSettings

MAX_PAIRS = 100
MAX_ROW_ID = 2**63 - 1
ReplayMode = Literal["walk_forward", "fixed"]


class ReplayPairIn(PairRequest):
    """A pair to replay: the same fields and defaults as every pair in a request body."""


class WhatIf(BaseModel):
    """The alternative replayed over the same predictions: another risk policy, broker settings, or both."""

    model_config = ConfigDict(extra="forbid")

    risk_policy: RiskPolicy | None = None
    broker: BrokerSettings | None = None

    @model_validator(mode="after")
    def _something_differs(self) -> WhatIf:
        if self.risk_policy is None and self.broker is None:
            raise ValueError("compare needs a risk_policy, a broker, or both")
        return self


class ReplaySpec(BaseModel):
    """What to replay; every default is resolved and stored with the replay, so it can be read back."""

    model_config = ConfigDict(extra="forbid")

    pairs: list[ReplayPairIn] | None = Field(
        default=None, min_length=1, max_length=MAX_PAIRS, description="default: the watchlist"
    )
    start: datetime | None = Field(
        default=None, description="first bar (open time, UTC); default: 30 days before end"
    )
    end: datetime | None = Field(
        default=None, description="last bar (open time, UTC); default: the newest stored bar of the pairs"
    )
    mode: ReplayMode = Field(
        default="walk_forward",
        description="walk_forward: retrain as the nightly job would; fixed: one recorded run (run_id)",
    )
    run_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="the run of mode fixed")
    retrain_every_days: float | None = Field(
        default=None, gt=0, le=3650, description="walk_forward; default: the model policy's max_age_days"
    )
    train_bars: int | None = Field(
        default=None, ge=100, le=400_000, description="walk_forward; default: the model policy's train_bars"
    )
    risk_policy: RiskPolicy | None = Field(default=None, description="default: the stored risk policy")
    broker: BrokerSettings | None = Field(
        default=None, description="default: the stored paper broker settings (a separate replay account)"
    )
    compare: WhatIf | None = Field(
        default=None, description="a second policy or broker replayed over the same predictions"
    )
    n_jobs: int = Field(default=2, ge=1, le=64, description="worker processes for the pairs")

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if end is not None and start is not None and start > end:
            raise ValueError(f"start ({start.isoformat()}) is after end ({end.isoformat()})")
        return end

    @model_validator(mode="after")
    def _mode_fields(self) -> ReplaySpec:
        if self.mode == "fixed" and self.run_id is None:
            raise ValueError("run_id: mode fixed replays one recorded run; give its run_id")
        if self.mode == "walk_forward" and self.run_id is not None:
            raise ValueError("run_id: only mode fixed uses a recorded run; walk_forward trains its own")
        if self.mode == "fixed" and (self.retrain_every_days is not None or self.train_bars is not None):
            raise ValueError("retrain_every_days and train_bars are walk_forward settings; mode is fixed")
        return self


class ReplayRequest(ReplaySpec):
    wait: bool = Field(default=True, description="false: queue it, answer 202 with the replay id at once")


class ReplayJobParams(ReplaySpec):
    """The `replay` action's params: a replay spec, or the id of one POST /replay queued."""

    replay_id: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="run the queued replay with this id (its own params)"
    )


class ReplayAccepted(BaseModel):
    replay_id: int
    run_id: int = Field(description="the job run: follow its progress in GET /automation/runs")
    job: str = "replay"
    status: str = "queued"


class ReplaySummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str = Field(description="queued, running, succeeded or failed")
    mode: str
    params: dict[str, Any] = Field(description="everything the replay used, defaults resolved")
    metrics: dict[str, Any]
    error: str | None
    job_run_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CurvePoint(BaseModel):
    time: datetime = Field(description="bar close")
    equity: float
    cash: float
    open_positions: int
    buy_and_hold: float | None = Field(
        default=None,
        description="the same pairs bought at the window's first open in equal parts and marked at this "
        "close, costs included (None for replays stored before it was kept)",
    )


class ReplayRead(ReplaySummary):
    """A replay with its results: the equity curve (evenly thinned), trades and vetoes (paged)."""

    curve: list[CurvePoint] = Field(default_factory=list)
    curve_points_total: int = 0
    trades: list[dict[str, Any]] = Field(default_factory=list, description="round trips, oldest first")
    trades_total: int = 0
    vetoes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="BUYs the risk policy blocked: filters and what they would have earned",
    )
    vetoes_total: int = 0
    open_positions: list[dict[str, Any]] = Field(default_factory=list, description="held at the window's end")
    models: list[dict[str, Any]] = Field(
        default_factory=list, description="the models that decided, per pair"
    )
    what_if: dict[str, Any] | None = Field(default=None, description="the compare policy, side by side")
    what_if_curve: list[CurvePoint] = Field(
        default_factory=list, description="the compare side's equity curve, thinned like `curve`"
    )
    files: dict[str, str] = Field(default_factory=dict, description="parquet files under ARTIFACTS_DIR")
