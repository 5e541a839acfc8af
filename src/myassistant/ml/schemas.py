"""API models of the Model endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from myassistant.core.clock import ensure_utc
from myassistant.market import logic as market_logic
from myassistant.market.logic import EARLIEST, MAX_HORIZON_STEPS, Pair
from myassistant.market.schemas import ExchangeId, Symbol, Timeframe, pair_with_defaults

if TYPE_CHECKING:
    from myassistant.core.config import Settings

HorizonSteps = Annotated[int, Field(ge=1, le=MAX_HORIZON_STEPS, description="bars a trade is held")]

MAX_ROW_ID = 2**63 - 1  # BIGINT: larger ids cannot exist


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
    comparison: dict[str, Any] | None = Field(
        default=None,
        description="what a promotion decision compared: basis 'shared_rows' (both runs scored on the "
        "same out-of-sample rows) or 'own_test_windows', with both runs' test AUC and backtest return",
    )
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


class ActiveModelUpdate(BaseModel):
    """Pin a run (by id, or by the path of its registered file), unpin, or roll back."""

    model_config = ConfigDict(extra="forbid")

    exchange: ExchangeId = Field(examples=["bybit"])
    symbol: Symbol = Field(examples=["BTC/USDT"])
    timeframe: Timeframe = Field(examples=["15m"])
    horizon_steps: HorizonSteps = Field(examples=[12])

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

    def pair(self) -> Pair:
        return Pair(self.exchange, self.symbol, self.timeframe, self.horizon_steps)


class ModelHealthRead(PairRead):
    status: Literal["ok", "stale", "weak", "missing"]
    reason: str
    run_id: int | None
    source: Literal["pin", "pair", "fallback"] | None
    age_days: float | None
    test_auc: float | None


# --- datasets, training, health ------------------------------------------------------------------

# Times outside this range cannot be a bar of any exchange (and far ones overflow time-zone arithmetic).
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
MAX_DATASET_BARS = 400_000


def _bounded_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    value = ensure_utc(value)  # ValueError ("time out of range") when it has no UTC equivalent
    if not EARLIEST <= value <= LATEST_TIME:
        raise ValueError(f"time must be between {EARLIEST.date()} and {LATEST_TIME.date()}")
    return value


class PairRequest(BaseModel):
    """A pair in a request body: only `symbol` is required, the rest default to the settings."""

    model_config = ConfigDict(extra="forbid")

    exchange: ExchangeId | None = Field(default=None, description="default: DEFAULT_EXCHANGE")
    symbol: Symbol = Field(examples=["BTC/USDT"])
    timeframe: Timeframe | None = Field(default=None, description="default: DEFAULT_TIMEFRAME")
    horizon_steps: HorizonSteps | None = Field(default=None, description="default: DEFAULT_HORIZON_STEPS")

    def pair(self, settings: Settings) -> Pair:
        """The full pair, defaults filled in from the settings."""
        return pair_with_defaults(
            settings,
            exchange=self.exchange,
            symbol=self.symbol,
            timeframe=self.timeframe,
            horizon_steps=self.horizon_steps,
        )


def _in_years(schema: dict[str, Any]) -> None:
    """Schema: the time falls in the years _bounded_utc accepts (2100 itself left out)."""
    for option in schema.get("anyOf", []):
        if option.get("type") == "string":
            option["pattern"] = market_logic.YEAR_2010_OR_LATER


class DatasetBuildRequest(PairRequest):
    """Rows from `start` to `end`, or the last `bars` bars up to `end` (default: the policy's train_bars)."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["start", "bars"]}})

    start: datetime | None = Field(
        default=None,
        description="first row's bar open time (UTC when naive), 2010-2099",
        json_schema_extra=lambda schema: _in_years(schema),
    )
    end: datetime | None = Field(
        default=None,
        description="last row's bar open time, 2010-2099; default: newest stored",
        json_schema_extra=lambda schema: _in_years(schema),
    )
    bars: int | None = Field(
        default=None, ge=1, le=MAX_DATASET_BARS, description="rows, counted back from end"
    )

    @field_validator("start", "end")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        return _bounded_utc(value)

    @model_validator(mode="after")
    def _one_way_to_pick_rows(self) -> DatasetBuildRequest:
        if self.start is not None and self.bars is not None:
            raise ValueError("give start (with an optional end) or bars, not both")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("start must not be after end")
        return self


class ClassBalance(BaseModel):
    positives: int
    negatives: int
    positive_rate: float | None


class DatasetRead(PairRead):
    id: int
    data_start: datetime = Field(description="first row's bar open time")
    data_end: datetime = Field(description="last row's bar open time")
    rows: int
    labelled_rows: int = Field(description="rows whose future is known (the last horizon_steps + 1 are not)")
    features: list[str]
    class_balance: ClassBalance
    params: dict[str, Any]
    path: str = Field(description="the parquet file")
    relative_path: str = Field(description="relative to ARTIFACTS_DIR, as stored")
    sha256: str
    size_bytes: int
    created_at: datetime


class TrainRequest(PairRequest):
    fetch: bool = Field(
        default=True, description="fetch the price history training needs first (policy train_bars + warm-up)"
    )


class HistoryRead(BaseModel):
    """What the store held of the history a run needs, and what was fetched for it."""

    bars_needed: int
    bars_stored: int
    fetched_bars: int
    error: str | None = None


class TrainResponse(BaseModel):
    run: ModelRunRead
    promotion: PromotionRead | None
    history: HistoryRead | None


class TrainMissingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fetch: bool = Field(default=True, description="fetch missing price history before training")


class PairTrainOutcome(PairRead):
    """What train_missing did for one watchlist pair."""

    action: Literal["trained", "skipped", "failed"]
    health: Literal["ok", "stale", "weak", "missing"] = Field(description="the pair's health before")
    reason: str
    run_id: int | None = None
    promotion: Literal["promoted", "refused"] | None = None
    test_auc: float | None = None
    fetched_bars: int | None = None


class TrainMissingReport(BaseModel):
    trained: int
    skipped: int
    failed: int
    pairs: list[PairTrainOutcome]
