"""Overview: the account, today's signals, every watchlist pair's model, the scheduler and what is wrong.

API calls: /model/health, /time (the service's clock says what "today" is), /trade/equity,
/signals/recent (today), /trade/orders, /automation/status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from myassistant.dashboard import charts
from myassistant.dashboard.widgets import (
    action_button,
    api,
    number,
    run_page,
    t,
    table,
    when,
)

ORDERS_FOR_CURVE = 1000


def render() -> None:
    st.title(t("page.overview"))
    client = api()
    health: list[dict[str, Any]] = client.get("/model/health")
    if not any(pair["status"] != "missing" for pair in health):
        _first_steps(health)
    now = datetime.fromisoformat(client.get("/time")["utc"])
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    equity = client.get("/trade/equity")
    signals: list[dict[str, Any]] = client.get("/signals/recent", {"since": today.isoformat(), "limit": 1000})
    _account(equity, signals)
    _equity_curve(client.get("/trade/orders", {"limit": ORDERS_FOR_CURVE}), equity, now)
    st.subheader(t("overview.today", count=len(signals)))
    table(
        [{**s, "kind": t(f"signal.{charts.signal_kind(s)}"), "bar": when(s["bar_dt"])} for s in signals],
        {
            "bar": t("col.bar"),
            "symbol": t("col.symbol"),
            "kind": t("col.signal"),
            "prob": t("col.prob"),
            "threshold": t("col.threshold"),
            "source": t("col.source"),
        },
    )
    status = client.get("/automation/status")
    left, right = st.columns(2)
    with left:
        st.subheader(t("overview.models"))
        table(
            health,
            {
                "symbol": t("col.symbol"),
                "timeframe": t("col.timeframe"),
                "status": t("col.status"),
                "test_auc": "AUC",
                "age_days": t("col.age_days"),
                "reason": t("col.reason"),
            },
        )
    with right:
        _scheduler(status)
    _problems(status, health)


def _first_steps(health: list[dict[str, Any]]) -> None:
    """While nothing is trained: the two runs that get a fresh install going."""
    client = api()
    st.info(t("overview.first_steps", pairs=len(health)), icon=":material/rocket_launch:")
    discover, train = st.columns(2)
    with discover:
        action_button(
            t("overview.discover"),
            "overview:discover",
            lambda: client.post("/automation/run", {"job": "discover_watchlist", "wait": False}),
            t("run.started", job="discover_watchlist"),
            primary=True,
        )
    with train:
        action_button(
            t("overview.train_missing"),
            "overview:train",
            lambda: client.post("/automation/run", {"action": "train_missing", "wait": False}),
            t("run.started", job="train_missing"),
            primary=True,
        )


def _account(equity: dict[str, Any], signals: list[dict[str, Any]]) -> None:
    kinds = [charts.signal_kind(s) for s in signals]
    columns = st.columns(5)
    columns[0].metric(t("metric.equity", quote=equity["quote"]), number(equity["equity"]))
    columns[1].metric(t("metric.return"), f"{equity['return_pct']:+.2f}%")
    columns[2].metric(t("metric.open_positions"), equity["open_positions"])
    columns[3].metric(t("metric.buys_today"), kinds.count("buy"))
    columns[4].metric(t("metric.blocked_today"), kinds.count("blocked"))


def _equity_curve(orders: list[dict[str, Any]], equity: dict[str, Any], now: datetime) -> None:
    st.subheader(t("overview.equity"))
    if not orders:
        st.caption(t("overview.no_orders"))
        return
    curve = charts.realized_equity(
        charts.frame(orders, time_columns=["created_at"]),
        initial_cash=float(equity["initial_cash"]),
        realized_total=float(equity["realized_pnl"]),
    )
    labels = {"realized": t("chart.realized_equity"), "marked": t("chart.marked_equity")}
    figure = charts.equity_figure(curve, now_equity=float(equity["equity"]), now=now, labels=labels)
    st.plotly_chart(figure, key="overview:equity")


def _scheduler(status: dict[str, Any]) -> None:
    st.subheader(t("overview.scheduler"))
    if not status["scheduler_enabled"]:
        st.caption(t("scheduler.disabled"))
    elif status["leader"]:
        st.caption(t("scheduler.leader"))
    else:
        st.caption(t("scheduler.follower"))
    rows = []
    for job in status["jobs"]:
        last = job["last_run"] or {}
        rows.append(
            {
                "name": job["name"],
                "next_run": when(job["next_run"]),
                "last_run": f"#{last['id']}" if last else "—",
                "last_status": last.get("status", "—"),
                "last_started": when(last.get("started_at")),
                "duration": last.get("stats", {}).get("duration_s"),
                "error": last.get("error"),
            }
        )
    table(
        rows,
        {
            "name": t("col.job"),
            "next_run": t("col.next_run"),
            "last_run": t("col.last_run"),
            "last_status": t("col.status"),
            "last_started": t("col.started"),
            "duration": t("col.duration_s"),
            "error": t("col.error"),
        },
        static=True,
    )
    client = api()
    pick, run = st.columns([2, 1], vertical_alignment="bottom")
    job = pick.selectbox(t("overview.run_job"), [j["name"] for j in status["jobs"]], key="overview:job")
    with run:
        action_button(
            t("overview.run_now"),
            "overview:run",
            lambda: client.post("/automation/run", {"job": job, "wait": False}),
            t("run.started", job=job),
        )


def _problems(status: dict[str, Any], health: list[dict[str, Any]]) -> None:
    """What the alerts job reports: failing jobs and watchlist models that are not ok."""
    st.subheader(t("overview.problems"))
    failing = [job for job in status["jobs"] if (job["last_run"] or {}).get("status") == "error"]
    models = [pair for pair in health if pair["status"] != "ok"]
    if not failing and not models:
        st.success(t("overview.no_problems"), icon=":material/check_circle:")
    for job in failing:
        st.error(t("problem.job", job=job["name"], error=job["last_run"].get("error") or ""))
    for pair in models:
        st.warning(t("problem.model", symbol=pair["symbol"], status=pair["status"], reason=pair["reason"]))


if __name__ == "__main__":
    run_page(render)
