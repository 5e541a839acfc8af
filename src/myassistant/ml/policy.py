"""Model policy (a config doc) and the pure decisions built on it: model health and promotion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from myassistant.core import configdocs

HealthStatus = Literal["ok", "stale", "weak", "missing"]


class ModelPolicy(BaseModel):
    """When a pair's model needs retraining, and how much data training needs."""

    model_config = ConfigDict(extra="forbid")

    max_age_days: float = Field(default=7, gt=0, le=3650, description="older models are stale")
    retrain_if_auc_below: float = Field(default=0.55, ge=0, le=1, description="weaker test AUC is 'weak'")
    min_train_rows: int = Field(
        default=200, ge=50, le=100_000_000, description="labelled rows needed to train"
    )
    train_bars: int = Field(
        default=8000,
        ge=100,
        le=400_000,
        description="bars a training run (and a default dataset) uses as rows, the latest closed ones; "
        "missing history is fetched first, plus the features' warm-up bars before them",
    )

    @model_validator(mode="after")
    def _enough_bars_for_min_rows(self) -> ModelPolicy:
        if self.train_bars < self.min_train_rows:
            raise ValueError(
                f"train_bars ({self.train_bars}) must be at least min_train_rows ({self.min_train_rows}): "
                "training could never have enough rows"
            )
        return self


MODEL_POLICY = configdocs.register("model_policy", ModelPolicy)


@dataclass(frozen=True)
class RunSummary:
    """What the decisions need to know about a run."""

    id: int
    status: str
    created_at: datetime
    test_auc: float | None
    test_return: float | None


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    reason: str
    age_days: float | None = None


@dataclass(frozen=True)
class HeadToHead:
    """Both runs scored on the same rows: the candidate's test rows that the current run never trained,
    validated or chose its threshold on."""

    rows: int
    start: datetime
    end: datetime
    candidate_auc: float | None
    candidate_return: float
    current_auc: float | None
    current_return: float


@dataclass(frozen=True)
class NotComparable:
    """Why the runs could not be scored on shared rows (the decision then uses each run's own test)."""

    reason: str


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    comparison: dict[str, Any] | None = None  # the figures compared, for the audit trail


def age_days(run: RunSummary, now: datetime) -> float:
    return (now - run.created_at) / timedelta(days=1)


def health_status(run: RunSummary | None, policy: ModelPolicy, now: datetime) -> Health:
    """ok, or why not: missing (no model), stale (too old), weak (test AUC under the bar)."""
    if run is None:
        return Health("missing", "no model for this pair")
    age = age_days(run, now)
    if age > policy.max_age_days:
        return Health(
            "stale", f"run {run.id} is {age:.1f} days old (max_age_days {policy.max_age_days:g})", age
        )
    if run.test_auc is None:
        return Health("weak", f"run {run.id} has no test AUC (a single class in its test part)", age)
    if run.test_auc < policy.retrain_if_auc_below:
        return Health(
            "weak",
            f"run {run.id} test AUC {run.test_auc:.3f} < retrain_if_auc_below "
            f"{policy.retrain_if_auc_below:g}",
            age,
        )
    return Health("ok", f"run {run.id}: {age:.1f} days old, test AUC {run.test_auc:.3f}", age)


def decide_promotion(
    candidate: RunSummary,
    current: RunSummary | None,
    policy: ModelPolicy,
    now: datetime,
    head_to_head: HeadToHead | NotComparable | None = None,
) -> PromotionDecision:
    """Promote when there is no current model, it is stale, or the candidate beats it out of sample.

    "Beats" is judged on `head_to_head` (the same rows for both) when given; otherwise, and said so
    in the reason, on each run's own test window.
    """
    if candidate.status != "succeeded":
        return PromotionDecision(False, f"run {candidate.id} did not succeed")
    if current is None:
        return PromotionDecision(True, "no promoted model for this pair yet")
    if current.id == candidate.id:
        return PromotionDecision(False, f"run {candidate.id} is already the promoted model")
    if is_stale(current, policy, now):
        return PromotionDecision(
            True,
            f"current run {current.id} is stale "
            f"({age_days(current, now):.1f} days > {policy.max_age_days:g})",
        )
    if isinstance(head_to_head, HeadToHead):
        figures = {
            "basis": "shared_rows",
            "rows": head_to_head.rows,
            "start": head_to_head.start.isoformat(),
            "end": head_to_head.end.isoformat(),
            "candidate": {"auc": head_to_head.candidate_auc, "total_return": head_to_head.candidate_return},
            "current": {"auc": head_to_head.current_auc, "total_return": head_to_head.current_return},
        }
        new = _rank(head_to_head.candidate_auc, head_to_head.candidate_return)
        old = _rank(head_to_head.current_auc, head_to_head.current_return)
        comparison = (
            f"on the same {head_to_head.rows} out-of-sample rows "
            f"({head_to_head.start:%Y-%m-%d %H:%M} → {head_to_head.end:%Y-%m-%d %H:%M} UTC): "
            f"test AUC {_fmt(head_to_head.candidate_auc)} vs {_fmt(head_to_head.current_auc)}, "
            f"backtest return {_fmt(head_to_head.candidate_return)} vs {_fmt(head_to_head.current_return)}"
        )
    else:
        new = _rank(candidate.test_auc, candidate.test_return)
        old = _rank(current.test_auc, current.test_return)
        why = head_to_head.reason if head_to_head else "no shared rows were scored"
        figures = {
            "basis": "own_test_windows",
            "why": why,
            "candidate": {"auc": candidate.test_auc, "total_return": candidate.test_return},
            "current": {"auc": current.test_auc, "total_return": current.test_return},
        }
        comparison = (
            f"test AUC {_fmt(candidate.test_auc)} vs {_fmt(current.test_auc)}, "
            f"test backtest return {_fmt(candidate.test_return)} vs {_fmt(current.test_return)}, "
            f"each on its own test window ({why})"
        )
    if new > old:
        return PromotionDecision(True, f"beats current run {current.id} out of sample: {comparison}", figures)
    return PromotionDecision(
        False, f"does not beat current run {current.id} out of sample: {comparison}", figures
    )


def is_stale(run: RunSummary, policy: ModelPolicy, now: datetime) -> bool:
    return age_days(run, now) > policy.max_age_days


def _rank(auc: float | None, total_return: float | None) -> tuple[float, float]:
    """Test AUC first, test backtest return second; an unknown figure ranks below any known one."""
    unknown = float("-inf")
    return (auc if auc is not None else unknown, total_return if total_return is not None else unknown)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
