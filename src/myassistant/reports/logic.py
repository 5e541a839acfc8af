"""The daily report's arithmetic: pure functions over plain data and DataFrames, given the day.

No database and no files here: `service` reads the rows, these functions turn them into each
section's figures (news volumes and sentiment, each pair's day, what the vetoed BUYs earned, the
paper account marked to market through the day) and the summary on top.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from myassistant.notify.text import format_number, format_price
from myassistant.reports import texts
from myassistant.reports.schemas import (
    Count,
    EquityPoint,
    Headline,
    HourSentiment,
    JobCount,
    Lang,
    MarketsSection,
    ModelsSection,
    NewsSection,
    OrderRow,
    PairMarket,
    PairMove,
    PaperSection,
    PositionRow,
    ReplayFigures,
    ReplayHeadline,
    ReplayRow,
    ReplaysSection,
    SignalsSection,
    SummarySection,
    VetoFilter,
    VetoOutcome,
)
from myassistant.trading.logic import Fill, rebuild

if TYPE_CHECKING:  # pandas loads with the first report built, not when the service starts
    import pandas as pd


DAY = timedelta(days=1)
EQUITY_STEP = timedelta(minutes=15)  # the equity curve is marked at every 15-minute close
SPARKLINE_POINTS = 48
TOP_TAGS = 10
TOP_SOURCES = 10
TOP_HEADLINES = 5
NOT_ANALYSED = ""  # the language of an article not analysed yet
UNDETERMINED = "und"  # analysed, but no language detected (ISO 639-2 "undetermined")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day as [start, end)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + DAY


def default_day(now: datetime) -> date:
    """The day a report covers when none is given: yesterday, UTC."""
    return (now.astimezone(UTC) - DAY).date()


def file_name(day: date, lang: str) -> str:
    return f"daily_{day.isoformat()}_{lang}.html"


def _counts(values: pd.Series, limit: int | None = None) -> list[Count]:
    """How often each value occurs, most frequent first (ties by name)."""
    counted = values.value_counts(sort=False)
    ordered = sorted(counted.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return [Count(name=str(name), count=int(count)) for name, count in ordered[:limit]]


# --- news ----------------------------------------------------------------------------------------

ARTICLE_COLUMNS = ("id", "title", "url", "source", "first_seen_at", "analysed", "lang", "compound")


def news_figures(
    articles: pd.DataFrame, tag_counts: Sequence[tuple[str, int]], *, day_start: datetime
) -> NewsSection:
    """The day's news: volume by source and language, sentiment by hour, top tags, best and worst headlines.

    `articles` has ARTICLE_COLUMNS (`first_seen_at` tz-aware UTC, `compound` NaN when not scored);
    `tag_counts` are (tag, articles) pairs, most frequent first.
    """
    tags = [Count(name=tag, count=int(count)) for tag, count in tag_counts[:TOP_TAGS]]
    if articles.empty:
        return NewsSection(top_tags=tags)
    analysed = articles["analysed"].astype(bool)
    languages = articles["lang"].where(analysed, NOT_ANALYSED).fillna(UNDETERMINED)
    return NewsSection(
        articles=len(articles),
        analysed=int(analysed.sum()),
        by_source=_counts(articles["source"], TOP_SOURCES),
        by_lang=_counts(languages),
        sentiment_by_hour=sentiment_by_hour(articles, day_start=day_start),
        top_tags=tags,
        most_positive=_headlines(articles, positive=True),
        most_negative=_headlines(articles, positive=False),
    )


def sentiment_by_hour(articles: pd.DataFrame, *, day_start: datetime) -> list[HourSentiment]:
    """Every hour of the day: articles first seen in it and their mean sentiment (None when none scored)."""
    import pandas as pd

    hours = ((articles["first_seen_at"] - pd.Timestamp(day_start)) // pd.Timedelta(hours=1)).astype(int)
    grouped = articles.assign(hour=hours.clip(0, 23)).groupby("hour")
    count = grouped.size().reindex(range(24), fill_value=0)
    mean = grouped["compound"].mean().reindex(range(24))
    return [
        HourSentiment(
            hour=day_start + timedelta(hours=hour),
            articles=int(count[hour]),
            mean_compound=None if pd.isna(mean[hour]) else round(float(mean[hour]), 4),
        )
        for hour in range(24)
    ]


def web_link(url: object) -> bool:
    """Only http(s) links are rendered as links: a feed could hand us `javascript:` or `data:` URLs."""
    return isinstance(url, str) and url.lower().startswith(("https://", "http://"))


def _headlines(articles: pd.DataFrame, *, positive: bool) -> list[Headline]:
    scored = articles[articles["compound"] > 0] if positive else articles[articles["compound"] < 0]
    ranked = scored.sort_values(["compound", "id"], ascending=[not positive, True]).head(TOP_HEADLINES)
    return [
        Headline(
            title=row.title,
            url=row.url if web_link(row.url) else None,
            source=row.source,
            compound=float(row.compound),
            first_seen_at=row.first_seen_at.to_pydatetime(),
        )
        for row in ranked.itertuples(index=False)
    ]


# --- markets -------------------------------------------------------------------------------------


def downsample(values: npt.ArrayLike, max_points: int) -> list[float]:
    """At most `max_points` evenly spaced values, the first and the last always kept."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) > max_points:
        array = array[np.linspace(0, len(array) - 1, max_points).round().astype(np.int64)]
    return [round(float(v), 10) for v in array]


def pair_market(
    prices: pd.DataFrame, *, exchange: str, symbol: str, timeframe: str, day_start: datetime
) -> PairMarket:
    """A pair's day from its bars (index: open time, UTC; a `close` column): the last close, the change
    against the close 24 h earlier, realised volatility and a sparkline."""
    import pandas as pd

    opens = prices.index
    start = pd.Timestamp(day_start)
    day = prices["close"][(opens >= start) & (opens < start + pd.Timedelta(DAY))].to_numpy(np.float64)
    before = prices["close"][opens < start].to_numpy(np.float64)
    if len(day) == 0:
        return PairMarket(
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            bars=0,
            close=None,
            change_pct=None,
            volatility_pct=None,
        )
    reference = before[-1] if len(before) else None
    path = np.concatenate(([reference], day)) if reference else day
    returns = np.diff(np.log(path)) if len(path) > 1 else np.empty(0)
    return PairMarket(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        bars=len(day),
        close=float(day[-1]),
        change_pct=(float(day[-1]) / reference - 1) * 100 if reference else None,
        volatility_pct=float(np.sqrt(np.sum(returns**2))) * 100 if len(returns) else None,
        sparkline=downsample(day, SPARKLINE_POINTS),
    )


# --- signals -------------------------------------------------------------------------------------


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}"


def reason_labels(reasons: object) -> list[str]:
    """A blocked event's risk reasons (the note's list of {filter, value, limit}) as short labels."""
    if not isinstance(reasons, list):
        return []
    labels = []
    for reason in reasons:
        if not isinstance(reason, Mapping) or not reason.get("filter"):
            continue
        label = str(reason["filter"])
        if reason.get("value") is not None and reason.get("limit") is not None:
            label += f" {_number(reason['value'])} / {_number(reason['limit'])}"
        labels.append(label)
    return labels


def filter_names(reasons: object) -> list[str]:
    if not isinstance(reasons, list):
        return []
    return [str(r["filter"]) for r in reasons if isinstance(r, Mapping) and r.get("filter")]


def veto_outcome(vetoes: pd.DataFrame, *, since: datetime, until: datetime) -> VetoOutcome:
    """What the vetoed BUYs (columns `forward_return`, NaN while unknown, and `filters`, the names of
    the filters that blocked each) would have earned in total and by filter."""
    import pandas as pd

    outcome = VetoOutcome(since=since, until=until, vetoed=len(vetoes))
    if vetoes.empty:
        return outcome
    returns = vetoes["forward_return"].astype(np.float64)
    known = returns.dropna()
    if len(known):
        total = float(known.sum())
        outcome.with_return = len(known)
        outcome.winners = int((known > 0).sum())
        outcome.mean_return = float(known.mean())
        outcome.total_return = total
        outcome.verdict = "saved" if total < 0 else "cost" if total > 0 else "even"
    exploded = vetoes[["filters", "forward_return"]].explode("filters").dropna(subset=["filters"])
    if not exploded.empty:
        grouped = exploded.groupby("filters")["forward_return"]
        rows = pd.DataFrame({"vetoed": grouped.size(), "known": grouped.count(), "average": grouped.mean()})
        outcome.by_filter = [
            VetoFilter(
                filter=str(row.Index),
                vetoed=int(row.vetoed),
                with_return=int(row.known),
                mean_return=None if pd.isna(row.average) else float(row.average),
            )
            for row in rows.sort_values(["vetoed"], ascending=False, kind="stable").itertuples()
        ]
    return outcome


# --- paper account -------------------------------------------------------------------------------

SeriesKey = tuple[str, str, str]  # exchange, symbol, timeframe


@dataclass(frozen=True)
class LedgerEntry:
    """One paper order as the report reads it: when, which series, and its fill."""

    order_id: int
    at: datetime
    exchange: str
    symbol: str
    timeframe: str
    side: str
    reason: str
    fill: Fill

    @property
    def series(self) -> SeriesKey:
        return (self.exchange, self.symbol, self.timeframe)


@dataclass(frozen=True)
class AccountInfo:
    account_id: int
    quote: str
    initial_cash: Decimal


def equity_grid(day_start: datetime) -> pd.DatetimeIndex:
    """The marks of the equity curve: every EQUITY_STEP from the day's start to its end, both included."""
    import pandas as pd

    return pd.date_range(day_start, day_start + DAY, freq=EQUITY_STEP)


def _as_of(
    times: npt.NDArray[np.int64], values: npt.NDArray[Any], grid: npt.NDArray[np.int64], before: float
) -> npt.NDArray[np.float64]:
    """The value in force at each grid time: the last one at or before it (`before` ahead of the first)."""
    index = np.searchsorted(times, grid, side="right") - 1
    return np.where(index >= 0, values[np.clip(index, 0, None)], before).astype(np.float64)


def _nanoseconds(index: pd.Index) -> npt.NDArray[np.int64]:
    """Epoch nanoseconds of a datetime index, whatever its unit (pandas infers µs from datetimes)."""
    import pandas as pd

    return np.asarray(pd.DatetimeIndex(index).as_unit("ns").asi8, dtype=np.int64)


def ledger_frame(ledger: Sequence[LedgerEntry]) -> pd.DataFrame:
    """The ledger in time order as columns: at (ns), series, signed quantity, market price, cash delta."""
    import pandas as pd

    return pd.DataFrame(
        {
            "at": _nanoseconds(pd.DatetimeIndex([entry.at for entry in ledger]))
            if ledger
            else np.empty(0, np.int64),
            "series": [entry.series for entry in ledger],
            "qty": [float(e.fill.qty) if e.fill.side == "buy" else -float(e.fill.qty) for e in ledger],
            "price": [float(entry.fill.price) for entry in ledger],
            "cash": [float(entry.fill.cash_delta) for entry in ledger],
        }
    )


def equity_curve(
    initial_cash: float,
    ledger: Sequence[LedgerEntry],
    closes: Mapping[SeriesKey, pd.Series],
    grid: pd.DatetimeIndex,
) -> npt.NDArray[np.float64]:
    """The account's equity at each grid time: the cash after the orders so far plus each holding
    marked at its latest close (`closes`: close prices indexed by the time the bar closed; a series
    without a close yet is marked at its last fill)."""
    import pandas as pd

    grid_ns = _nanoseconds(grid)
    # In time order for the as-of lookups (the ledger's id order, should two orders share a moment).
    orders = ledger_frame(ledger).sort_values("at", kind="stable")
    if orders.empty:
        return np.full(len(grid_ns), initial_cash, dtype=np.float64)
    times = orders["at"].to_numpy(np.int64)
    equity = _as_of(times, initial_cash + orders["cash"].cumsum().to_numpy(), grid_ns, initial_cash)
    for key, group in orders.groupby("series", sort=False):
        held = _as_of(group["at"].to_numpy(np.int64), group["qty"].cumsum().to_numpy(), grid_ns, 0.0)
        fills = pd.Series(
            group["price"].to_numpy(), index=pd.to_datetime(group["at"].to_numpy(), unit="ns", utc=True)
        )
        marks = pd.concat([fills, closes.get(key, pd.Series(dtype=np.float64))]).sort_index(kind="stable")
        price = _as_of(_nanoseconds(marks.index), marks.to_numpy(np.float64), grid_ns, math.nan)
        equity += np.where(held != 0, held * np.nan_to_num(price), 0.0)
    return equity


def paper_figures(
    account: AccountInfo,
    ledger: Sequence[LedgerEntry],
    closes: Mapping[SeriesKey, pd.Series],
    *,
    day_start: datetime,
) -> PaperSection:
    """The account over the day from its orders ledger (every order before the day's end, in order)
    and the closes of the series it traded."""
    day_end = day_start + DAY
    ledger = [entry for entry in ledger if entry.at < day_end]
    grid = equity_grid(day_start)
    curve = equity_curve(float(account.initial_cash), ledger, closes, grid)
    state = rebuild(account.initial_cash, [((e.exchange, e.symbol), e.fill) for e in ledger])
    series_of = {(e.exchange, e.symbol): e.series for e in ledger}
    positions = [
        _position_row(
            exchange,
            symbol,
            holding.qty,
            holding.avg_price,
            holding.cost_basis,
            closes.get(series_of[(exchange, symbol)]),
            day_end,
        )
        for (exchange, symbol), holding in sorted(state.holdings.items())
    ]
    equity_end = float(state.cash) + sum(p.market_value for p in positions)
    equity_start = float(curve[0])
    today = [entry for entry in ledger if entry.at >= day_start]
    return PaperSection(
        account_id=account.account_id,
        quote=account.quote,
        initial_cash=float(account.initial_cash),
        equity_start=equity_start,
        equity_end=equity_end,
        change=equity_end - equity_start,
        change_pct=(equity_end / equity_start - 1) * 100 if equity_start else None,
        cash_end=float(state.cash),
        realized_pnl_day=float(sum((e.fill.realized_pnl or Decimal(0) for e in today), Decimal(0))),
        realized_pnl_total=float(state.realized_pnl),
        unrealized_pnl=sum(p.unrealized_pnl for p in positions),
        curve=[
            EquityPoint(at=at.to_pydatetime(), equity=round(float(v), 6))
            for at, v in zip(grid, curve, strict=True)
        ],
        positions=positions,
        orders=[_order_row(entry) for entry in today],
    )


def _position_row(
    exchange: str,
    symbol: str,
    qty: Decimal,
    avg_price: Decimal,
    cost_basis: Decimal,
    closes: pd.Series | None,
    day_end: datetime,
) -> PositionRow:
    import pandas as pd

    known = closes[closes.index <= pd.Timestamp(day_end)] if closes is not None else None
    last = float(known.iloc[-1]) if known is not None and len(known) else None
    value = float(qty) * (last if last is not None else float(avg_price))
    return PositionRow(
        exchange=exchange,
        symbol=symbol,
        qty=float(qty),
        avg_price=float(avg_price),
        last_price=last,
        market_value=value,
        unrealized_pnl=value - float(cost_basis),
    )


def _order_row(entry: LedgerEntry) -> OrderRow:
    fill = entry.fill
    return OrderRow(
        id=entry.order_id,
        created_at=entry.at,
        exchange=entry.exchange,
        symbol=entry.symbol,
        side=entry.side,
        reason=entry.reason,
        qty=float(fill.qty),
        fill_price=float(fill.fill_price),
        notional=float(fill.notional),
        fee=float(fill.fee),
        realized_pnl=None if fill.realized_pnl is None else float(fill.realized_pnl),
    )


# --- models and jobs -----------------------------------------------------------------------------


def _side(comparison: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    side = comparison.get(name)
    return side if isinstance(side, Mapping) else {}


def _figure(side: Mapping[str, Any], name: str) -> float | None:
    value = side.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def compared_figures(comparison: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a promotion decision compared (its audit `comparison`), flattened for a table row."""
    comparison = comparison or {}
    candidate, current = _side(comparison, "candidate"), _side(comparison, "current")
    basis = comparison.get("basis")
    return {
        "basis": str(basis) if basis is not None else None,
        "candidate_auc": _figure(candidate, "auc"),
        "current_auc": _figure(current, "auc"),
        "candidate_return": _figure(candidate, "total_return"),
        "current_return": _figure(current, "total_return"),
    }


FAILED_STATUSES = ("error", "abandoned")


def job_counts(runs: pd.DataFrame) -> list[JobCount]:
    """Runs per job (columns job, status, duration_s): how many, how many ok or failed, mean duration."""
    import pandas as pd

    if runs.empty:
        return []
    grouped = runs.assign(ok=runs["status"].eq("ok"), failed=runs["status"].isin(FAILED_STATUSES)).groupby(
        "job", sort=True
    )
    table = pd.DataFrame(
        {
            "runs": grouped.size(),
            "ok": grouped["ok"].sum(),
            "failed": grouped["failed"].sum(),
            "average": grouped["duration_s"].mean(),
        }
    )
    return [
        JobCount(
            job=str(row.Index),
            runs=int(row.runs),
            ok=int(row.ok),
            failed=int(row.failed),
            mean_duration_s=None if pd.isna(row.average) else round(float(row.average), 3),
        )
        for row in table.itertuples()
    ]


# --- replays -------------------------------------------------------------------------------------


WHAT_IF_CHANGES = ("broker", "risk_policy")  # what a what-if replays differently (each has a label)


def _utc_moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if isinstance(value, str) else None


def replay_figures(metrics: object) -> ReplayFigures | None:
    """The headline figures of a replay's stored metrics (one side of it); None when it has none."""
    if not isinstance(metrics, Mapping) or "total_return" not in metrics:
        return None
    trades = _figure(metrics, "trades")
    return ReplayFigures(
        **{name: _figure(metrics, name) for name in ReplayFigures.model_fields if name != "trades"},
        trades=None if trades is None else int(trades),
    )


def replay_row(
    *,
    replay_id: int,
    status: str,
    mode: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    error: str | None,
    created_at: datetime,
    finished_at: datetime | None,
) -> ReplayRow:
    """A replay as the report shows it, from its row (params and metrics as the replay domain stores
    them: metrics hold side A's figures and `what_if.b` side B's; a replay that has not succeeded has
    no metrics, a failed one its error)."""
    what_if = metrics.get("what_if")
    compare = params.get("compare")
    return ReplayRow(
        id=replay_id,
        status=status,
        mode=mode,
        run_id=params.get("run_id"),
        start=_utc_moment(params.get("start")),
        end=_utc_moment(params.get("end")),
        pairs=[f"{p['symbol']} {p['timeframe']}" for p in params.get("pairs") or []],
        created_at=created_at,
        finished_at=finished_at,
        figures=replay_figures(metrics),
        what_if=replay_figures(what_if.get("b")) if isinstance(what_if, Mapping) else None,
        what_if_changes=[
            name for name in WHAT_IF_CHANGES if isinstance(compare, Mapping) and name in compare
        ],
        error=error,
    )


def latest_replay(replays: ReplaysSection) -> ReplayHeadline | None:
    """The day's newest succeeded replay's return against buy-and-hold."""
    done = [r for r in replays.replays if r.figures is not None]
    newest = max(done, key=lambda r: (r.finished_at or r.created_at, r.id), default=None)
    if newest is None or newest.figures is None:
        return None
    return ReplayHeadline(
        id=newest.id,
        total_return=newest.figures.total_return,
        buy_and_hold_return=newest.figures.buy_and_hold_return,
    )


# --- summary -------------------------------------------------------------------------------------


def summarise(
    *,
    paper: PaperSection,
    signals: SignalsSection,
    markets: MarketsSection,
    models: ModelsSection,
    replays: ReplaysSection,
    failed_job_runs: int,
    failing_feeds: int,
) -> SummarySection:
    """The report's top lines, from the sections below it."""
    moved = [p for p in markets.pairs if p.change_pct is not None]
    best = max(moved, key=lambda p: p.change_pct or 0.0, default=None)
    worst = min(moved, key=lambda p: p.change_pct or 0.0, default=None)
    return SummarySection(
        quote=paper.quote,
        equity=paper.equity_end,
        equity_change=paper.change,
        equity_change_pct=paper.change_pct,
        signals=signals.events,
        buys=signals.buys,
        blocked=signals.blocked,
        best_pair=PairMove(exchange=best.exchange, symbol=best.symbol, change_pct=best.change_pct or 0.0)
        if best
        else None,
        worst_pair=PairMove(exchange=worst.exchange, symbol=worst.symbol, change_pct=worst.change_pct or 0.0)
        if worst
        else None,
        failed_job_runs=failed_job_runs,
        failing_feeds=failing_feeds,
        stale_models=sum(h.status == "stale" for h in models.health),
        replays=replays.count,
        failed_replays=replays.failed,
        latest_replay=latest_replay(replays),
    )


# --- formatting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formatter:
    """Numbers, percentages and times as the report shows them in one language; None shows a dash."""

    lang: Lang

    @property
    def dash(self) -> str:
        return texts.t(self.lang, "dash")

    def num(self, value: float | None, decimals: int = 2, *, sign: bool = False) -> str:
        if value is None or not math.isfinite(value):
            return self.dash
        return format_number(value, self.lang, decimals, sign=sign)

    def price(self, value: float | None) -> str:
        return self.dash if value is None else format_price(value, self.lang)

    def pct(self, value: float | None, decimals: int = 2, *, sign: bool = True) -> str:
        """`value` already in percent."""
        return self.dash if value is None else f"{self.num(value, decimals, sign=sign)}%"

    def ratio(self, value: float | None, decimals: int = 2) -> str:
        """A fraction (0.012) as a signed percentage (+1.20%)."""
        return self.dash if value is None else self.pct(value * 100, decimals)

    def share(self, value: float | None, decimals: int = 1) -> str:
        """A fraction (0.25) as an unsigned percentage (25.0%)."""
        return self.dash if value is None else self.pct(value * 100, decimals, sign=False)

    def prob(self, value: float | None) -> str:
        return self.num(value, 3)

    def time(self, moment: datetime | None) -> str:
        return self.dash if moment is None else moment.astimezone(UTC).strftime("%H:%M")

    def moment(self, moment: datetime | None) -> str:
        return self.dash if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def summary_lines(summary: SummarySection, lang: Lang) -> list[str]:
    """The summary as a few plain-text lines (the Telegram message; its sender escapes them)."""
    fmt = Formatter(lang)
    lines = []
    if summary.equity is None:
        lines.append(texts.t(lang, "tg_no_account"))
    else:
        lines.append(
            texts.t(
                lang,
                "tg_equity",
                equity=fmt.num(summary.equity),
                quote=summary.quote or "",
                change=fmt.num(summary.equity_change, sign=True),
                pct=fmt.pct(summary.equity_change_pct),
            )
        )
    lines.append(
        texts.t(lang, "tg_signals", signals=summary.signals, buys=summary.buys, blocked=summary.blocked)
    )
    if summary.best_pair and summary.worst_pair:
        lines.append(
            texts.t(
                lang,
                "tg_pairs",
                best=f"{summary.best_pair.symbol} {fmt.pct(summary.best_pair.change_pct)}",
                worst=f"{summary.worst_pair.symbol} {fmt.pct(summary.worst_pair.change_pct)}",
            )
        )
    lines.append(
        texts.t(
            lang,
            "tg_trouble",
            jobs=summary.failed_job_runs,
            feeds=summary.failing_feeds,
            models=summary.stale_models,
        )
    )
    if summary.replays:
        parts = [texts.t(lang, "tg_replays", replays=summary.replays)]
        if summary.failed_replays:
            parts.append(texts.t(lang, "tg_replays_failed", failed=summary.failed_replays))
        if summary.latest_replay is not None:
            latest = summary.latest_replay
            total, hold = fmt.ratio(latest.total_return), fmt.ratio(latest.buy_and_hold_return)
            parts.append(texts.t(lang, "tg_replay_latest", id=latest.id, total=total, hold=hold))
        lines.append(" · ".join(parts))
    return lines
