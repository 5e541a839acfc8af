"""Plotly figures and the frames behind them, from the API's JSON; long series are downsampled first.

Pure: no Streamlit and no HTTP here, so every figure is testable from plain lists of dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_POINTS = 2000  # per trace: a browser draws this many candles or points without lag
BUY_COLOR, BLOCKED_COLOR, FLAT_COLOR = "#1a9850", "#f46d43", "#8c8c8c"
Rows = Sequence[Mapping[str, Any]]


OHLCV = ("ts", "open", "high", "low", "close", "volume")


def frame(rows: Rows, *, time_columns: Sequence[str] = (), columns: Sequence[str] = ()) -> pd.DataFrame:
    """A DataFrame of API rows with the named ISO time columns parsed (UTC); `columns` are there
    even when `rows` is empty."""
    table = pd.DataFrame(list(rows), columns=list(columns) or None)
    for column in time_columns:
        if column in table:
            table[column] = pd.to_datetime(table[column], utc=True, format="ISO8601")
    return table


def downsample_ohlc(bars: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Merge runs of consecutive bars into one candle each (first open, max high, min low, last close,
    summed volume) so at most `max_points` remain; each merged candle keeps its first bar's `ts`."""
    if len(bars) <= max_points:
        return bars
    group = np.arange(len(bars)) // -(-len(bars) // max_points)
    merged = bars.groupby(group).agg(
        ts=("ts", "first"),
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    return merged.reset_index(drop=True)


def downsample_line(points: pd.DataFrame, x: str, y: str, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """At most `max_points` rows that keep the shape: each bucket's lowest and highest `y`, in order."""
    if len(points) <= max_points:
        return points
    size = -(-len(points) // (max_points // 2))
    bucket = np.arange(len(points)) // size
    values = points[y].to_numpy(dtype=np.float64)
    keep = np.zeros(len(points), dtype=bool)
    order = pd.Series(values).groupby(bucket)
    keep[order.idxmin().to_numpy()] = True
    keep[order.idxmax().to_numpy()] = True
    return points.loc[keep].sort_values(x).reset_index(drop=True)


def candlestick(bars: pd.DataFrame, *, name: str) -> go.Candlestick:
    """The bars (`OHLCV` columns) as candles, merged down to at most MAX_POINTS."""
    shown = downsample_ohlc(bars)
    return go.Candlestick(
        x=shown["ts"],
        open=shown["open"],
        high=shown["high"],
        low=shown["low"],
        close=shown["close"],
        name=name,
        showlegend=False,
    )


def signal_kind(event: Mapping[str, Any]) -> str:
    """ "buy", "blocked" (a BUY the risk policy vetoed) or "flat"."""
    if event.get("blocked"):
        return "blocked"
    return "buy" if event.get("final_signal") == "buy" else "flat"


def market_figure(
    bars: pd.DataFrame, events: pd.DataFrame, *, title: str, labels: Mapping[str, str]
) -> go.Figure:
    """Candlesticks with BUY, blocked-BUY and FLAT markers above; probability against threshold below.

    `events` needs `id, bar_dt, price, prob, threshold, final_signal, blocked`; each marker carries its
    event id as customdata, so a click can choose it.
    """
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.04)
    figure.add_trace(candlestick(bars, name=labels["price"]), row=1, col=1)
    if len(events):
        kinds = events.apply(signal_kind, axis=1)
        styles = {
            "buy": ("triangle-up", BUY_COLOR, 13),
            "blocked": ("x", BLOCKED_COLOR, 12),
            "flat": ("circle", FLAT_COLOR, 6),
        }
        for kind, (symbol, color, size) in styles.items():
            chosen = events[kinds == kind]
            if len(chosen):
                figure.add_trace(
                    go.Scatter(
                        x=chosen["bar_dt"],
                        y=chosen["price"],
                        mode="markers",
                        name=labels[kind],
                        marker={"symbol": symbol, "color": color, "size": size, "line": {"width": 1}},
                        customdata=chosen["id"],
                        hovertemplate="%{x}<br>%{y}<br>#%{customdata}<extra>" + labels[kind] + "</extra>",
                    ),
                    row=1,
                    col=1,
                )
        ordered = events.sort_values("bar_dt")
        probability = downsample_line(ordered, "bar_dt", "prob")
        figure.add_trace(
            go.Scatter(
                x=probability["bar_dt"], y=probability["prob"], mode="lines+markers", name=labels["prob"]
            ),
            row=2,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=ordered["bar_dt"],
                y=ordered["threshold"],
                mode="lines",
                line={"dash": "dash", "shape": "hv"},
                name=labels["threshold"],
            ),
            row=2,
            col=1,
        )
    figure.update_layout(
        title=title,
        height=620,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_rangeslider_visible=False,
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    figure.update_yaxes(range=[0, 1], row=2, col=1)
    return figure


def realized_equity(orders: pd.DataFrame, *, initial_cash: float, realized_total: float) -> pd.DataFrame:
    """The account at cost after each order (cash plus open positions at what they cost), oldest first.

    Exact even when `orders` is only the newest part of the ledger: the value after each order is the
    account's total realized PnL minus what later sells realized.
    """
    if orders.empty:
        return pd.DataFrame(
            {"time": pd.Series(dtype="datetime64[ns, UTC]"), "equity": pd.Series(dtype=float)}
        )
    ordered = orders.sort_values("id")
    realized = ordered["realized_pnl"].fillna(0.0).astype(float)
    after_each = realized_total - (realized[::-1].cumsum()[::-1] - realized)
    return pd.DataFrame({"time": ordered["created_at"], "equity": initial_cash + after_each}).reset_index(
        drop=True
    )


def equity_figure(
    curve: pd.DataFrame, *, now_equity: float, now: Any, labels: Mapping[str, str]
) -> go.Figure:
    """The realized curve as steps, and the account marked to market now as one point at the end."""
    figure = go.Figure()
    shown = downsample_line(curve, "time", "equity")
    figure.add_trace(
        go.Scatter(
            x=shown["time"], y=shown["equity"], mode="lines", line={"shape": "hv"}, name=labels["realized"]
        )
    )
    figure.add_trace(
        go.Scatter(x=[now], y=[now_equity], mode="markers", marker={"size": 10}, name=labels["marked"])
    )
    figure.update_layout(height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


def sentiment_figure(articles: pd.DataFrame, *, label: str) -> go.Figure:
    """Mean sentiment (VADER compound) per hour and how many articles it averages."""
    scored = articles.dropna(subset=["compound"]) if "compound" in articles else articles.iloc[0:0]
    figure = go.Figure()
    if len(scored):
        hourly = scored.set_index("first_seen_at")["compound"].resample("1h").agg(["mean", "count"]).dropna()
        figure.add_trace(
            go.Scatter(
                x=hourly.index, y=hourly["mean"], mode="lines+markers", name=label, text=hourly["count"]
            )
        )
    figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis={"range": [-1, 1]})
    return figure


def volume_by_source_figure(articles: pd.DataFrame) -> go.Figure:
    counts = articles["source"].value_counts() if "source" in articles else pd.Series(dtype=int)
    figure = go.Figure(go.Bar(x=counts.index.tolist(), y=counts.to_numpy().tolist()))
    figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


# --- replays -------------------------------------------------------------------------------------

SELL_COLOR, HOLD_COLOR = "#d73027", "#7f7f7f"


def replay_equity_figure(
    sides: Sequence[tuple[str, pd.DataFrame]], hold: pd.DataFrame | None, *, hold_label: str
) -> go.Figure:
    """Each side's equity curve (`time, equity`) against the same pairs' buy-and-hold (`time,
    buy_and_hold`, dashed), each downsampled to at most MAX_POINTS."""
    figure = go.Figure()
    for name, curve in sides:
        shown = downsample_line(curve, "time", "equity")
        figure.add_trace(go.Scatter(x=shown["time"], y=shown["equity"], mode="lines", name=name))
    if hold is not None and len(hold):
        shown = downsample_line(hold, "time", "buy_and_hold")
        figure.add_trace(
            go.Scatter(
                x=shown["time"],
                y=shown["buy_and_hold"],
                mode="lines",
                line={"dash": "dash", "color": HOLD_COLOR},
                name=hold_label,
            )
        )
    figure.update_layout(
        height=340,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return figure


def replay_trades_figure(
    bars: pd.DataFrame, trades: pd.DataFrame, vetoes: pd.DataFrame, *, title: str, labels: Mapping[str, str]
) -> go.Figure:
    """A pair's candles with a replay's round trips on them: each BUY (at its bar's close, the fill
    price) joined to its SELL, and the BUYs the risk policy vetoed (at their bar's close).

    `trades` needs `entry_bar_dt, exit_bar_dt, entry_price, exit_price, return`; `vetoes` needs
    `bar_dt, filters, forward_return`; only what falls on the bars is drawn.
    """
    figure = go.Figure(candlestick(bars, name=labels["price"]))
    first = bars["ts"].min() if len(bars) else None
    shown = trades if first is None or trades.empty else trades[trades["entry_bar_dt"] >= first]
    if len(shown):
        joins: list[Any] = []
        prices: list[Any] = []
        for entry, exit_, bought, sold in zip(
            shown["entry_bar_dt"],
            shown["exit_bar_dt"],
            shown["entry_price"],
            shown["exit_price"],
            strict=True,
        ):
            joins += [entry, exit_, None]
            prices += [bought, sold, None]
        figure.add_trace(
            go.Scatter(
                x=joins,
                y=prices,
                mode="lines",
                line={"dash": "dot", "width": 1, "color": HOLD_COLOR},
                name=labels["round_trip"],
                hoverinfo="skip",
            )
        )
        returns = shown["return"].astype(float)
        for x, y, symbol, color, label in (
            ("entry_bar_dt", "entry_price", "triangle-up", BUY_COLOR, labels["entry"]),
            ("exit_bar_dt", "exit_price", "triangle-down", SELL_COLOR, labels["exit"]),
        ):
            figure.add_trace(
                go.Scatter(
                    x=shown[x],
                    y=shown[y],
                    mode="markers",
                    name=label,
                    marker={"symbol": symbol, "color": color, "size": 11, "line": {"width": 1}},
                    customdata=returns,
                    hovertemplate="%{x}<br>%{y}<br>%{customdata:+.2%}<extra>" + label + "</extra>",
                )
            )
    if len(vetoes) and len(bars):
        closes = bars.set_index("ts")["close"]
        at = closes.reindex(vetoes["bar_dt"]).to_numpy()
        on_chart = vetoes.assign(price=at).dropna(subset=["price"])
        if len(on_chart):
            figure.add_trace(
                go.Scatter(
                    x=on_chart["bar_dt"],
                    y=on_chart["price"],
                    mode="markers",
                    name=labels["vetoed"],
                    marker={"symbol": "x", "color": BLOCKED_COLOR, "size": 10, "line": {"width": 1}},
                    customdata=np.column_stack(
                        [on_chart["filters"], on_chart["forward_return"].astype(float)]
                    ),
                    hovertemplate="%{x}<br>%{customdata[0]}<br>%{customdata[1]:+.2%}<extra>"
                    + labels["vetoed"]
                    + "</extra>",
                )
            )
    figure.update_layout(
        title=title,
        height=520,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_rangeslider_visible=False,
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return figure
