"""API models of the Model endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from myassistant.core.errors import InvalidInput, describe_validation_errors, field_errors
from myassistant.ml.timeframes import TIMEFRAME_PATTERN

EXCHANGE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,31}$"
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9._-]{0,14}/[A-Z0-9][A-Z0-9._-]{0,14}(:[A-Z0-9._-]{1,14})?$"
MAX_HORIZON_STEPS = 10_000
MAX_ROW_ID = 2**63 - 1  # BIGINT: larger ids cannot exist


def normalise_exchange(value: str) -> str:
    return value.strip().lower()


def normalise_symbol(value: str) -> str:
    return value.strip().upper()


class PairKey(BaseModel):
    """Exchange, symbol, timeframe and horizon: what a model is trained for."""

    model_config = ConfigDict(extra="forbid")

    exchange: str = Field(pattern=EXCHANGE_PATTERN, examples=["bybit"])
    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["BTC/USDT"])
    timeframe: str = Field(pattern=TIMEFRAME_PATTERN, examples=["15m"])
    horizon_steps: int = Field(ge=1, le=MAX_HORIZON_STEPS, examples=[12])

    @field_validator("exchange", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return normalise_exchange(value) if isinstance(value, str) else value

    @field_validator("symbol", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return normalise_symbol(value) if isinstance(value, str) else value

    def key(self) -> tuple[str, str, str, int]:
        return (self.exchange, self.symbol, self.timeframe, self.horizon_steps)

    @classmethod
    def of(cls, *, exchange: str, symbol: str, timeframe: str, horizon_steps: int) -> PairKey:
        """Validated pair for service callers: bad values are InvalidInput (422), never a crash."""
        try:
            return cls(exchange=exchange, symbol=symbol, timeframe=timeframe, horizon_steps=horizon_steps)
        except ValidationError as exc:
            errors = exc.errors()
            raise InvalidInput(
                f"invalid pair: {describe_validation_errors(errors)}", errors=field_errors(errors)
            ) from exc


class PairRead(BaseModel):
    """The pair fields of every Model response."""

    model_config = ConfigDict(from_attributes=True)

    exchange: str
    symbol: str
    timeframe: str
    horizon_steps: int


class ModelRunRead(PairRead):
    id: int
    status: Literal["succeeded", "failed"]
    error: str | None
    source: str
    data_start: datetime | None
    data_end: datetime | None
    rows: int | None
    model_kind: str | None
    features: list[str]
    threshold: float | None
    test_auc: float | None
    test_return: float | None
    metrics: dict[str, Any]
    model_file: str | None = Field(description="relative to <ARTIFACTS_DIR>/models")
    meta_file: str | None
    model_sha256: str | None
    duration_s: float | None
    created_at: datetime


class RunBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    exchange: str
    symbol: str
    status: str
    model_kind: str | None
    test_auc: float | None
    test_return: float | None
    threshold: float | None
    created_at: datetime


class PromotionRead(PairRead):
    id: int
    action: Literal["promoted", "refused", "pinned", "unpinned", "rolled_back"]
    run_id: int | None
    previous_run_id: int | None
    reason: str
    created_at: datetime


class ActiveModelRead(PairRead):
    """A pair's pin, promoted and newest runs, and the one `load_model_for` would use now."""

    pinned_run: RunBrief | None
    pinned_at: datetime | None
    promoted_run: RunBrief | None
    promoted_at: datetime | None
    newest_run: RunBrief | None
    effective_run: RunBrief | None
    effective_source: Literal["pin", "pair", "fallback"] | None
    note: str


class ActiveModelUpdate(PairKey):
    """Pin a run (by id, or by the path of its registered file), unpin, or roll back."""

    action: Literal["pin", "unpin", "rollback"] = Field(
        default="pin",
        description="pin: use this run for the pair; unpin: back to the automatic choice; "
        "rollback: pin the run that was promoted before the current one",
    )
    run_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    path: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _target_matches_action(self) -> ActiveModelUpdate:
        given = (self.run_id is not None) + (self.path is not None)
        if self.action == "pin" and given != 1:
            raise ValueError("pin needs exactly one of run_id or path")
        if self.action != "pin" and given:
            raise ValueError(f"{self.action} takes no run_id or path")
        return self


class ModelHealthRead(PairRead):
    status: Literal["ok", "stale", "weak", "missing"]
    reason: str
    run_id: int | None
    source: Literal["pin", "pair", "fallback"] | None
    age_days: float | None
    test_auc: float | None
