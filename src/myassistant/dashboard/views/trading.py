"""Paper trading: positions marked to market, orders, equity; close a position, reset, broker settings.

API calls: /trade/equity, /trade/positions, /trade/orders, /time, /trade/paper/settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from myassistant.dashboard import charts
from myassistant.dashboard.widgets import (
    action_button,
    api,
    confirmed_button,
    flash,
    number,
    optional_number,
    perform,
    plain,
    run_page,
    t,
    table,
    when,
)

ORDERS = 1000


def render() -> None:
    st.title(t("page.trading"))
    client = api()
    equity = client.get("/trade/equity")
    columns = st.columns(5)
    columns[0].metric(t("metric.equity", quote=equity["quote"]), number(equity["equity"]))
    columns[1].metric(t("metric.cash"), number(equity["cash"]))
    columns[2].metric(t("metric.return"), f"{equity['return_pct']:+.2f}%")
    columns[3].metric(t("metric.realized"), number(equity["realized_pnl"]))
    columns[4].metric(t("metric.unrealized"), number(equity["unrealized_pnl"]))
    st.caption(
        t(
            "trading.account",
            opened=when(equity["opened_at"]),
            initial=number(equity["initial_cash"]),
            fees=number(equity["fees_paid"]),
        )
    )
    positions: list[dict[str, Any]] = client.get("/trade/positions")
    _positions(positions)
    orders: list[dict[str, Any]] = client.get("/trade/orders", {"limit": ORDERS})
    if orders:
        curve = charts.realized_equity(
            charts.frame(orders, time_columns=["created_at"]),
            initial_cash=float(equity["initial_cash"]),
            realized_total=float(equity["realized_pnl"]),
        )
        labels = {"realized": t("chart.realized_equity"), "marked": t("chart.marked_equity")}
        now = datetime.fromisoformat(client.get("/time")["utc"])
        st.plotly_chart(
            charts.equity_figure(curve, now_equity=float(equity["equity"]), now=now, labels=labels),
            key="trading:equity",
        )
    st.subheader(t("trading.orders", count=len(orders)))
    table(
        [{**o, "created": when(o["created_at"]), "bar": when(o["bar_dt"])} for o in orders],
        {
            "id": "#",
            "created": t("col.created"),
            "symbol": t("col.symbol"),
            "side": t("col.side"),
            "reason": t("col.reason"),
            "qty": t("col.qty"),
            "fill_price": t("col.fill_price"),
            "notional": t("col.notional"),
            "fee": t("col.fee"),
            "realized_pnl": t("col.realized"),
            "signal_event_id": t("col.signal_event"),
        },
    )
    _reset()
    _settings()


def _positions(positions: list[dict[str, Any]]) -> None:
    st.subheader(t("trading.positions", count=len(positions)))
    table(
        [{**p, "pct": f"{p['unrealized_pct']:+.2f}%", "opened": when(p["opened_at"])} for p in positions],
        {
            "symbol": t("col.symbol"),
            "exchange": t("col.exchange"),
            "qty": t("col.qty"),
            "avg_price": t("col.avg_price"),
            "last_price": t("col.last_price"),
            "market_value": t("col.market_value"),
            "unrealized_pnl": t("col.unrealized"),
            "pct": "%",
            "opened": t("col.opened"),
        },
    )
    if not positions:
        flash("trading:close")  # the message of the close that just emptied the list
        return
    client = api()
    keys = [f"{p['exchange']} {p['symbol']}" for p in positions]
    chosen = st.selectbox(t("trading.close_which"), keys, key="trading:close_pick")
    exchange, symbol = chosen.split(" ", 1)
    action_button(
        t("trading.close", symbol=symbol),
        "trading:close",
        lambda: client.post("/trade/paper/close", {"exchange": exchange, "symbol": symbol}),
        lambda order: t("trading.closed", symbol=order["symbol"], pnl=number(order["realized_pnl"])),
    )


def _reset() -> None:
    st.subheader(t("trading.reset_title"))
    client = api()
    confirmed_button(
        t("trading.reset"),
        "trading:reset",
        t("trading.reset_confirm"),
        lambda: client.post("/trade/paper/reset", {"confirm": True}),
        lambda equity: t("trading.reset_done", cash=number(equity["cash"])),
    )


def _settings() -> None:
    st.subheader(t("trading.settings"))
    client = api()
    doc = client.get("/trade/paper/settings")
    value = doc["value"]
    with st.form("trading:settings"):
        first, second, third = st.columns(3)
        initial = first.text_input(t("broker.initial_cash"), plain(value["initial_cash"]))
        position = second.text_input(t("broker.position_pct"), plain(value["position_pct"]))
        fee = third.text_input(t("broker.fee_bps"), plain(value["fee_bps"]))
        slippage = first.text_input(t("broker.slippage_bps"), plain(value["slippage_bps"]))
        take_profit = second.text_input(t("broker.take_profit_pct"), plain(value["take_profit_pct"]))
        stop_loss = third.text_input(t("broker.stop_loss_pct"), plain(value["stop_loss_pct"]))
        exit_after = st.checkbox(t("broker.exit_after_horizon"), value=bool(value["exit_after_horizon"]))
        submitted = st.form_submit_button(t("form.save"))
    if submitted:
        changes = {
            "initial_cash": optional_number(initial),
            "position_pct": optional_number(position),
            "fee_bps": optional_number(fee),
            "slippage_bps": optional_number(slippage),
            "take_profit_pct": optional_number(take_profit),
            "stop_loss_pct": optional_number(stop_loss),
            "exit_after_horizon": exit_after,
            "expected_version": doc["version"],
        }
        perform(
            "trading:settings",
            lambda: client.post("/trade/paper/settings", changes),
            lambda saved: t("form.saved", version=saved["version"]),
        )
    flash("trading:settings")
    st.caption(t("form.version", version=doc["version"], updated=when(doc["updated_at"])))


if __name__ == "__main__":
    run_page(render)
