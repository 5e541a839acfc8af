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
    shown = downsample_ohlc(bars)
    figure.add_trace(
        go.Candlestick(
            x=shown["ts"],
            open=shown["open"],
            high=shown["high"],
            low=shown["low"],
            close=shown["close"],
            name=labels["price"],
            showlegend=False,
        ),
        row=1,
        col=1,
    )
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
