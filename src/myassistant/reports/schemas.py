"""API models of the daily report: its record, the build request and each section's figures.

Every section is a plain model the report template, the API and the dashboard can all read; the
charts are drawn from these figures at build time and are not part of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from myassistant.core import clock
from myassistant.market.logic import EARLIEST

Lang = Literal["en", "ru"]


def past_or_current_day(day: dt.date) -> dt.date:
    """A UTC day a report can cover: today at the latest, and not before any exchange had candles."""
    today = clock.now().date()
    if day > today:
        raise ValueError(f"{day.isoformat()} is in the future (today is {today.isoformat()} UTC)")
    if day < EARLIEST.date():
        raise ValueError(f"{day.isoformat()} is before {EARLIEST.date().isoformat()}: no market data")
    return day


ReportDay = Annotated[dt.date, AfterValidator(past_or_current_day)]


class ReportRequest(BaseModel):
    """`POST /report/daily` and the `build_report` job's parameters."""

    model_config = ConfigDict(extra="forbid")

    date: ReportDay | None = Field(
        default=None, description="the UTC day (YYYY-MM-DD), today at the latest; default: yesterday"
    )
    lang: Lang | None = Field(default=None, description="en or ru; default: UI_LANG")


class ReportRead(BaseModel):
    """One built report: which day and language, where its file is and what it holds."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    date: dt.date
    lang: str
    path: str = Field(description="the HTML file, relative to ARTIFACTS_DIR")
    size: int = Field(description="bytes")
    sha256: str
    created_at: dt.datetime
    job_run_id: int | None = Field(description="the build_report run that wrote it")


# --- sections ------------------------------------------------------------------------------------


class Count(BaseModel):
    name: str
    count: int


class PairMove(BaseModel):
    exchange: str
    symbol: str
    change_pct: float


class ReplayHeadline(BaseModel):
    id: int
    total_return: float | None = Field(description="after costs, a fraction")
    buy_and_hold_return: float | None = Field(description="the same pairs held over the window, a fraction")


class SummarySection(BaseModel):
    """The top of the report: the account, the signals, the best and worst pair and what went wrong."""

    quote: str | None = None
    equity: float | None = None
    equity_change: float | None = None
    equity_change_pct: float | None = None
    signals: int = 0
    buys: int = 0
    blocked: int = 0
    best_pair: PairMove | None = None
    worst_pair: PairMove | None = None
    failed_job_runs: int = 0
    failing_feeds: int = 0
    stale_models: int = 0
    replays: int = Field(default=0, description="replays created or finished during the day")
    failed_replays: int = 0
    latest_replay: ReplayHeadline | None = Field(default=None, description="the day's newest finished replay")


class HourSentiment(BaseModel):
    hour: dt.datetime = Field(description="start of the UTC hour")
    articles: int
    mean_compound: float | None = Field(description="mean VADER compound of the hour's scored articles")


class Headline(BaseModel):
    title: str
    url: str | None = Field(description="the article's link; None unless it is http(s)")
    source: str
    compound: float
    first_seen_at: dt.datetime


class NewsSection(BaseModel):
    """Articles first seen during the day."""

    articles: int = 0
    analysed: int = 0
    by_source: list[Count] = Field(default_factory=list)
    by_lang: list[Count] = Field(default_factory=list)
    sentiment_by_hour: list[HourSentiment] = Field(default_factory=list)
    top_tags: list[Count] = Field(default_factory=list)
    most_positive: list[Headline] = Field(default_factory=list)
    most_negative: list[Headline] = Field(default_factory=list)


class PairMarket(BaseModel):
    exchange: str
    symbol: str
    timeframe: str
    bars: int = Field(description="bars of the day stored")
    close: float | None = Field(description="the last close of the day")
    change_pct: float | None = Field(description="last close vs the close 24 h earlier, %")
    volatility_pct: float | None = Field(description="realised volatility of the day: sqrt(sum of r²), %")
    sparkline: list[float] = Field(default_factory=list, description="the day's closes, downsampled")


class MarketsSection(BaseModel):
    pairs: list[PairMarket] = Field(default_factory=list)


class SignalRow(BaseModel):
    id: int
    bar_dt: dt.datetime
    exchange: str
    symbol: str
    timeframe: str
    prob: float
    threshold: float
    raw_signal: str
    final_signal: str
    blocked: bool
    reasons: list[str] = Field(default_factory=list, description="each risk filter that blocked a BUY")
    forward_return: float | None


class VetoFilter(BaseModel):
    filter: str
    vetoed: int
    with_return: int
    mean_return: float | None


class VetoOutcome(BaseModel):
    """What the BUYs the risk policy vetoed in a window would have earned (forward return after fees)."""

    since: dt.datetime
    until: dt.datetime
    vetoed: int = 0
    with_return: int = Field(default=0, description="vetoes whose horizon has passed")
    winners: int = 0
    mean_return: float | None = None
    total_return: float | None = Field(default=None, description="sum of the forward returns")
    verdict: Literal["saved", "cost", "even", "unknown"] = Field(
        default="unknown",
        description="saved: the vetoed trades would have lost money in total; cost: they would have gained",
    )
    by_filter: list[VetoFilter] = Field(default_factory=list)


class SignalsSection(BaseModel):
    """Signal events of the day (by bar close) and the recent vetoes' outcome."""

    events: int = 0
    buys: int = 0
    blocked: int = 0
    rows: list[SignalRow] = Field(default_factory=list)
    more: int = Field(default=0, description="events of the day left out of `rows`")
    vetoes: VetoOutcome


class EquityPoint(BaseModel):
    at: dt.datetime
    equity: float


class PositionRow(BaseModel):
    exchange: str
    symbol: str
    qty: float
    avg_price: float
    last_price: float | None
    market_value: float
    unrealized_pnl: float


class OrderRow(BaseModel):
    id: int
    created_at: dt.datetime
    exchange: str
    symbol: str
    side: str
    reason: str
    qty: float
    fill_price: float
    notional: float
    fee: float
    realized_pnl: float | None


class PaperSection(BaseModel):
    """The paper account over the day, marked to market at each bar close."""

    account_id: int | None = None
    quote: str | None = None
    initial_cash: float | None = None
    equity_start: float | None = None
    equity_end: float | None = None
    change: float | None = None
    change_pct: float | None = None
    cash_end: float | None = None
    realized_pnl_day: float | None = None
    realized_pnl_total: float | None = None
    unrealized_pnl: float | None = None
    curve: list[EquityPoint] = Field(default_factory=list)
    positions: list[PositionRow] = Field(default_factory=list)
    orders: list[OrderRow] = Field(default_factory=list)


class HealthRow(BaseModel):
    exchange: str
    symbol: str
    timeframe: str
    horizon_steps: int
    status: str
    reason: str
    run_id: int | None
    age_days: float | None
    test_auc: float | None


class RunRow(BaseModel):
    id: int
    exchange: str
    symbol: str
    timeframe: str
    status: str
    source: str
    model_kind: str | None
    rows: int | None
    threshold: float | None
    test_auc: float | None
    test_return: float | None
    error: str | None
    created_at: dt.datetime


class PromotionRow(BaseModel):
    id: int
    exchange: str
    symbol: str
    timeframe: str
    action: str
    run_id: int | None
    previous_run_id: int | None
    basis: str | None = Field(description="shared_rows or own_test_windows, when runs were compared")
    candidate_auc: float | None
    current_auc: float | None
    candidate_return: float | None
    current_return: float | None
    reason: str
    created_at: dt.datetime


class ModelsSection(BaseModel):
    health: list[HealthRow] = Field(default_factory=list, description="every watchlist pair, at build time")
    runs: list[RunRow] = Field(default_factory=list)
    promotions: list[PromotionRow] = Field(default_factory=list)


class JobCount(BaseModel):
    job: str
    runs: int
    ok: int
    failed: int
    mean_duration_s: float | None


class JobFailure(BaseModel):
    run_id: int
    job: str
    source: str
    started_at: dt.datetime
    error: str = Field(description="secrets redacted")


class FeedProblem(BaseModel):
    url: str
    title: str | None
    consecutive_failures: int
    last_error: str | None
    last_success_at: dt.datetime | None


class JobsSection(BaseModel):
    jobs: list[JobCount] = Field(default_factory=list)
    failures: list[JobFailure] = Field(default_factory=list)
    more_failures: int = 0
    failing_feeds: list[FeedProblem] = Field(default_factory=list)


class ReplayFigures(BaseModel):
    """One side of a replay: its headline figures after costs (fractions; None when undefined)."""

    total_return: float | None = None
    buy_and_hold_return: float | None = None
    sharpe: float | None = Field(default=None, description="per bar, annualised")
    max_drawdown: float | None = None
    win_rate: float | None = None
    trades: int | None = None
    exposure: float | None = Field(default=None, description="share of bar closes with a position")
    oos_auc: float | None = Field(default=None, description="out-of-sample AUC of the predictions")


class ReplayRow(BaseModel):
    """A replay created or finished during the day: what it replayed, how it ended, its figures."""

    id: int
    status: str = Field(description="queued, running, succeeded or failed")
    mode: str = Field(description="walk_forward or fixed")
    run_id: int | None = Field(description="the recorded run of mode fixed")
    start: dt.datetime | None = Field(description="the window's first bar (open time)")
    end: dt.datetime | None = Field(description="the window's last bar (open time)")
    pairs: list[str] = Field(default_factory=list, description="symbol and timeframe of each pair")
    created_at: dt.datetime
    finished_at: dt.datetime | None
    figures: ReplayFigures | None = Field(default=None, description="None until it succeeds")
    what_if: ReplayFigures | None = Field(default=None, description="the compared side, when there was one")
    what_if_changes: list[str] = Field(default_factory=list, description="risk_policy and/or broker")
    error: str | None = Field(default=None, description="why it failed, secrets redacted")


class ReplaysSection(BaseModel):
    """Replays created or finished during the day."""

    count: int = 0
    failed: int = 0
    replays: list[ReplayRow] = Field(default_factory=list, description="the newest, oldest first")
    more: int = Field(default=0, description="replays of the day left out of `replays`")


class DailyReport(BaseModel):
    """Every section of one day's report."""

    day: dt.date
    lang: Lang
    generated_at: dt.datetime
    summary: SummarySection
    news: NewsSection
    markets: MarketsSection
    signals: SignalsSection
    paper: PaperSection
    models: ModelsSection
    jobs: JobsSection
    replays: ReplaysSection
