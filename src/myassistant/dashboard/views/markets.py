"""Markets & signals: one pair's candles with its signals, and why each signal is what it is.

API calls: /watchlist, /prices/latest (the chosen pair), /signals/recent (the chosen pair).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from myassistant.dashboard import charts
from myassistant.dashboard.client import ApiError
from myassistant.dashboard.widgets import api, percent, price, run_page, t, table, when

BAR_CHOICES = (96, 192, 500, 2000, 5000)  # /prices/latest answers at most 5000 bars
SIGNAL_LIMIT = 1000  # /signals/recent answers at most 1000 events
CHOSEN_KEY = "markets:signal"


def render() -> None:
    st.title(t("page.markets"))
    client = api()
    watchlist: list[dict[str, Any]] = client.get("/watchlist")
    if not watchlist:
        st.info(t("markets.empty_watchlist"))
        return
    pairs = {f"{e['exchange']} {e['symbol']}": e for e in watchlist}
    names = list(pairs)
    asked = st.query_params.get("pair")  # a link or bookmark to one pair: ?pair=bybit BTC/USDT
    if asked in pairs and "markets:pair" not in st.session_state:
        st.session_state["markets:pair"] = asked
    left, right = st.columns([3, 1])
    chosen = left.selectbox(t("markets.pair"), names, key="markets:pair")
    st.query_params["pair"] = chosen
    bars_wanted = right.selectbox(t("markets.bars"), BAR_CHOICES, index=1, key="markets:bars")
    entry = pairs[chosen]
    prices = _prices(entry, bars_wanted)
    events: list[dict[str, Any]] = client.get(
        "/signals/recent", {"exchange": entry["exchange"], "symbol": entry["symbol"], "limit": SIGNAL_LIMIT}
    )
    timeframe = prices["timeframe"] or (events[0]["timeframe"] if events else "")
    events = [e for e in events if e["timeframe"] == timeframe]
    bars = charts.frame(prices["bars"], time_columns=["ts"], columns=charts.OHLCV)
    if bars.empty:
        st.info(t("markets.no_prices", pair=chosen))
    shown_events = _in_window(charts.frame(events, time_columns=["bar_dt"]), bars)
    figure = charts.market_figure(
        bars,
        shown_events,
        title=f"{chosen} {timeframe}",
        labels={
            "price": t("chart.price"),
            "buy": t("signal.buy"),
            "blocked": t("signal.blocked"),
            "flat": t("signal.flat"),
            "prob": t("chart.prob"),
            "threshold": t("chart.threshold"),
        },
    )
    clicked = st.plotly_chart(figure, key="markets:chart", on_select="rerun", selection_mode="points")
    _choose_from_click(clicked)
    st.caption(t("markets.counts", bars=len(bars), events=len(shown_events)))
    if events:
        _explanation(events)


def _prices(entry: dict[str, Any], bars: int) -> dict[str, Any]:
    """The pair's last closed bars; none stored yet (404) is an empty chart, not an error."""
    query = {
        "exchange": entry["exchange"],
        "symbol": entry["symbol"],
        "timeframe": entry["timeframe"],
        "limit": bars,
    }
    try:
        answer: dict[str, Any] = api().get("/prices/latest", query)
    except ApiError as exc:
        if exc.status != 404:
            raise
        return {"timeframe": entry["timeframe"], "bars": []}
    return answer


def _in_window(events: pd.DataFrame, bars: pd.DataFrame) -> pd.DataFrame:
    """The events whose bar is on the chart (all of them when no bars are shown)."""
    if events.empty or bars.empty:
        return events
    return events[events["bar_dt"] >= bars["ts"].min()]


def _choose_from_click(clicked: Any) -> None:
    points = getattr(getattr(clicked, "selection", None), "points", None) or []
    ids = [point.get("customdata") for point in points if point.get("customdata") is not None]
    if ids:
        st.session_state[CHOSEN_KEY] = int(ids[0])


def _explanation(events: list[dict[str, Any]]) -> None:
    st.subheader(t("markets.explanation"))
    by_id = {event["id"]: event for event in events}
    ids = list(by_id)
    if st.session_state.get(CHOSEN_KEY) not in by_id:
        st.session_state[CHOSEN_KEY] = ids[0]
    chosen = st.selectbox(t("markets.signal"), ids, format_func=lambda i: _describe(by_id[i]), key=CHOSEN_KEY)
    event = by_id[chosen]
    note = event.get("note") or {}
    columns = st.columns(4)
    columns[0].metric(t("col.signal"), t(f"signal.{charts.signal_kind(event)}"))
    columns[1].metric(t("col.prob"), f"{event['prob']:.3f}", f"{event['prob'] - event['threshold']:+.3f}")
    columns[2].metric(t("col.threshold"), f"{event['threshold']:.3f}")
    forward = event.get("forward_return")
    columns[3].metric(
        t("markets.forward_return"), percent(forward) if forward is not None else t("markets.pending")
    )
    model = note.get("model") or {}
    st.caption(
        t(
            "markets.model",
            run=model.get("run_id", "—"),
            choice=model.get("choice", "—"),
            price=price(event["price"]),
        )
    )
    explanation = note.get("explanation") or {}
    features, headlines = st.columns(2)
    with features:
        st.markdown(f"**{t('markets.features')}**")
        table(
            explanation.get("top_features") or [],
            {"feature": t("col.feature"), "value": t("col.value"), "contribution": t("col.contribution")},
        )
    with headlines:
        st.markdown(f"**{t('markets.headlines')}**")
        found = explanation.get("headlines") or []
        if not found:
            st.caption(t("table.empty"))
        for headline in found:
            seen = when(headline["first_seen_at"])
            st.markdown(f"- [{headline['title']}]({headline['url']}) — {headline['source']}, {seen}")
    _risk(note.get("risk") or {}, event)


def _risk(risk: dict[str, Any], event: dict[str, Any]) -> None:
    st.markdown(f"**{t('markets.risk')}**")
    reasons = risk.get("reasons") or []
    if not risk.get("policy_enabled", True):
        st.caption(t("markets.policy_off"))
    elif reasons:
        st.error(t("markets.blocked_by", count=len(reasons)))
    elif event["raw_signal"] == "buy":
        st.success(t("markets.passed"))
    else:
        st.caption(t("markets.flat_passes"))
    if reasons:
        table(
            reasons,
            {
                "filter": t("col.filter"),
                "value": t("col.metric"),
                "limit": t("col.limit"),
                "message": t("col.reason"),
            },
        )
    metrics = risk.get("metrics") or {}
    if metrics:
        st.caption(" · ".join(f"{name} = {_short(value)}" for name, value in metrics.items()))


def _describe(event: dict[str, Any]) -> str:
    kind = t("signal." + charts.signal_kind(event))
    return f"{when(event['bar_dt'])} · {kind} · p={event['prob']:.3f} · #{event['id']}"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    run_page(render)
