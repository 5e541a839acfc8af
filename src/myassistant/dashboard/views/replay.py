"""Replay: the decision loop over history. Start one (with an optional what-if), follow its progress,
and read a finished one: its figures next to the same pairs' buy-and-hold, the equity curve(s) against
buy-and-hold, its trades on a pair's candles, and the BUYs its risk policy vetoed.

API calls: /watchlist, /replays, /replays/{id} (the chosen one), /prices/latest (the chosen pair, up
to the window's end); /automation/runs (again every POLL_S seconds) while a replay is queued or
running; with the what-if open, /risk/policy and /trade/paper/settings, which its fields start from.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from myassistant.dashboard import charts
from myassistant.dashboard.client import ApiError
from myassistant.dashboard.views.settings import RISK_FIELDS
from myassistant.dashboard.widgets import (
    action_button,
    api,
    number,
    optional_number,
    percent,
    plain,
    run_page,
    run_progress,
    share,
    t,
    table,
    when,
)

REPLAYS = 50
ROWS = 1000  # trades and vetoes read with the chosen replay (the API pages them)
MAX_BARS = 5000  # /prices/latest answers at most 5000 bars
POLL_S = 2.0
MODES = ("walk_forward", "fixed")
BROKER_FIELDS = ("position_pct", "fee_bps", "slippage_bps", "take_profit_pct", "stop_loss_pct")
IN_FLIGHT = ("queued", "running")
CHOSEN_KEY = "replay:chosen"
WANTED_KEY = "replay:wanted"  # set when this page started a replay: choose it on the next run
REFRESHED_KEY = "replay:refreshed"  # the replays in flight when the page last redrew itself for them


def render() -> None:
    st.title(t("page.replay"))
    client = api()
    watchlist: list[dict[str, Any]] = client.get("/watchlist")
    _start(watchlist)
    replays: list[dict[str, Any]] = client.get("/replays", {"limit": REPLAYS})
    in_flight = tuple(r["id"] for r in replays if r["status"] in IN_FLIGHT)
    if in_flight:
        st.fragment(run_every=POLL_S)(_live)(in_flight)
    st.subheader(t("replay.list", count=len(replays)))
    table([_summary_row(r) for r in replays], _summary_columns(), key="replay:table")
    if replays:
        _chosen(replays)


# --- start ----------------------------------------------------------------------------------------


def _start(watchlist: list[dict[str, Any]]) -> None:
    """What to replay: pairs, window, models, and optionally a second policy or broker (what-if)."""
    with st.expander(t("replay.start_title"), expanded=False):
        pairs = {f"{e['exchange']} {e['symbol']}": e for e in watchlist}
        chosen = st.multiselect(
            t("replay.pairs"), list(pairs), key="replay:pairs", placeholder=t("replay.pairs_default")
        )
        first, last, mode_col = st.columns(3)
        start = first.date_input(
            t("replay.start_day"), None, key="replay:first_day", help=t("replay.window_help")
        )
        end = last.date_input(t("replay.end_day"), None, key="replay:last_day", help=t("replay.window_help"))
        mode = mode_col.radio(t("replay.mode"), MODES, key="replay:mode", horizontal=True)
        body: dict[str, Any] = {"mode": mode, "wait": False}
        if chosen:
            body["pairs"] = [
                {key: pairs[name][key] for key in ("exchange", "symbol", "timeframe", "horizon_steps")}
                for name in chosen
            ]
        body |= _window(start, end)
        body |= _models(mode)
        if st.checkbox(t("replay.what_if"), key="replay:what_if", help=t("replay.what_if_help")):
            body["compare"] = _what_if()
        client = api()

        def start_replay() -> Any:
            answer = client.post("/replay", body)
            st.session_state[WANTED_KEY] = answer["replay_id"]
            return answer

        action_button(
            t("replay.start"),
            "replay:start",
            start_replay,
            lambda answer: t("replay.started", id=answer["replay_id"], run=answer["run_id"]),
            primary=True,
        )


def _window(start: date | None, end: date | None) -> dict[str, str]:
    """Whole UTC days: from the first bar of `start` to the last bar of `end`; empty = the API's default."""
    window = {}
    if start is not None:
        window["start"] = f"{start.isoformat()}T00:00:00+00:00"
    if end is not None:
        window["end"] = f"{end.isoformat()}T23:59:59+00:00"
    return window


def _models(mode: str) -> dict[str, Any]:
    """A fixed run's id, or the walk-forward's retraining (empty fields: the model policy's), and the
    worker processes for the pairs."""
    columns = st.columns(3)
    fields: dict[str, Any] = {}
    if mode == "fixed":
        run_id = columns[0].text_input("run_id", key="replay:run_id", placeholder=t("replay.run_id_help"))
        fields["run_id"] = optional_number(run_id)
        names: tuple[str, ...] = ("n_jobs",)
    else:
        names = ("retrain_every_days", "train_bars", "n_jobs")
    for column, name in zip(columns[3 - len(names) :], names, strict=True):
        value = optional_number(column.text_input(name, key=f"replay:{name}", placeholder=t("param.number")))
        if value is not None:
            fields[name] = value
    return fields


def _what_if() -> dict[str, Any]:
    """Side B: the stored risk policy and broker settings as a start, with the fields changed here."""
    client = api()
    risk = client.get("/risk/policy")["value"]
    broker = client.get("/trade/paper/settings")["value"]
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('settings.risk')}**")
        changed_risk: dict[str, Any] = {
            "enabled": st.checkbox(t("risk.enabled"), value=bool(risk["enabled"]), key="replay:b:enabled")
        }
        for name in RISK_FIELDS:
            raw = st.text_input(name, plain(risk.get(name)), key=f"replay:b:{name}")
            changed_risk[name] = optional_number(raw)
    with right:
        st.markdown(f"**{t('trading.settings')}**")
        changed_broker: dict[str, Any] = {}
        for name in BROKER_FIELDS:
            raw = st.text_input(t(f"broker.{name}"), plain(broker.get(name)), key=f"replay:b:broker:{name}")
            changed_broker[name] = optional_number(raw)
        changed_broker["exit_after_horizon"] = st.checkbox(
            t("broker.exit_after_horizon"),
            value=bool(broker["exit_after_horizon"]),
            key="replay:b:broker:exit_after_horizon",
        )
    return {"risk_policy": risk | changed_risk, "broker": broker | changed_broker}


def _live(in_flight: tuple[int, ...]) -> None:
    """The replay job's progress, redrawn every POLL_S while the list shows replays queued or running.
    When no replay job runs any more, the whole page is redrawn once with fresh reads (statuses,
    figures); a row left "running" by a stopped service then only says so, without redrawing again."""
    client = api()
    runs: list[dict[str, Any]] = client.get("/automation/runs", {"job": "replay", "limit": 5}, fresh=True)
    active = [run for run in runs if run["status"] == "running"]
    if not active and st.session_state.get(REFRESHED_KEY) != in_flight:
        st.session_state[REFRESHED_KEY] = in_flight
        client.forget_reads()
        st.rerun()
    for run in active:
        run_progress(run)
    if not active:
        st.caption(t("replay.waiting"))


# --- the list ---------------------------------------------------------------------------------------


def _summary_columns() -> dict[str, str]:
    return {
        "id": "#",
        "status": t("col.status"),
        "mode": t("replay.mode"),
        "window": t("replay.window"),
        "pairs": t("replay.pairs_col"),
        "total_return": t("replay.return"),
        "buy_and_hold": t("replay.buy_and_hold"),
        "trades": t("replay.trades"),
        "created": t("col.created"),
        "error": t("col.error"),
    }


def _summary_row(replay: dict[str, Any]) -> dict[str, Any]:
    metrics, params = replay["metrics"], replay["params"]
    return {
        "id": replay["id"],
        "status": replay["status"],
        "mode": replay["mode"] + (f" #{params['run_id']}" if params.get("run_id") else ""),
        "window": _window_text(params),
        "pairs": ", ".join(pair["symbol"] for pair in params.get("pairs", [])),
        "total_return": percent(metrics.get("total_return")),
        "buy_and_hold": percent(metrics.get("buy_and_hold_return")),
        "trades": metrics.get("trades"),
        "created": when(replay["created_at"]),
        "error": replay["error"] or "",
    }


def _window_text(params: dict[str, Any]) -> str:
    return f"{when(params.get('start'))} → {when(params.get('end'))}"


def _describe(replay: dict[str, Any]) -> str:
    return f"#{replay['id']} · {replay['status']} · {replay['mode']} · {_window_text(replay['params'])}"


# --- the chosen replay ------------------------------------------------------------------------------


def _chosen(replays: list[dict[str, Any]]) -> None:
    by_id = {r["id"]: r for r in replays}
    wanted = st.session_state.pop(WANTED_KEY, None)
    if wanted in by_id:
        st.session_state[CHOSEN_KEY] = wanted
    replay_id = st.selectbox(
        t("replay.chosen"), list(by_id), format_func=lambda i: _describe(by_id[i]), key=CHOSEN_KEY
    )
    summary = by_id[replay_id]
    if summary["status"] == "failed":
        st.error(t("replay.failed", id=replay_id, error=summary["error"] or "—"), icon=":material/error:")
        return
    if summary["status"] != "succeeded":
        st.info(t("replay.not_done", id=replay_id, status=summary["status"]))
        return
    detail = api().get(f"/replays/{replay_id}", {"curve_points": charts.MAX_POINTS, "limit": ROWS})
    _figures(detail)
    _equity(detail)
    _trades(detail)
    _vetoes(detail)
    if detail.get("what_if"):
        _what_if_outcome(detail)
    _models_used(detail)


def _figures(detail: dict[str, Any]) -> None:
    """The headline figures after costs, next to the same pairs' buy-and-hold over the window."""
    metrics, params = detail["metrics"], detail["params"]
    st.caption(_setup(params))
    total, hold = metrics.get("total_return"), metrics.get("buy_and_hold_return")
    versus = None if total is None or hold is None else f"{(total - hold) * 100:+.2f} pp"
    first, second = st.columns(4), st.columns(4)
    first[0].metric(t("replay.return"), percent(total), versus, help=t("replay.versus_help"))
    first[1].metric(t("replay.buy_and_hold"), percent(hold))
    first[2].metric("Sharpe", number(metrics.get("sharpe")))
    first[3].metric(t("replay.max_drawdown"), share(metrics.get("max_drawdown")))
    second[0].metric(t("replay.win_rate"), share(metrics.get("win_rate")))
    second[1].metric(t("replay.trades"), metrics.get("trades", 0))
    second[2].metric(t("replay.exposure"), share(metrics.get("exposure")))
    second[3].metric(t("replay.oos_auc"), number(metrics.get("oos_auc"), 3))


def _setup(params: dict[str, Any]) -> str:
    """What was replayed, in one line."""
    if params["mode"] == "fixed":
        models = t("replay.setup_fixed", run=params["run_id"])
    else:
        models = t(
            "replay.setup_walk", days=number(params["retrain_every_days"], 1), bars=params["train_bars"]
        )
    risk, broker = params["risk_policy"], params["broker"]
    return t(
        "replay.setup",
        window=_window_text(params),
        pairs=len(params["pairs"]),
        models=models,
        policy=t("replay.policy_on") if risk["enabled"] else t("replay.policy_off"),
        fee=broker["fee_bps"],
        slippage=broker["slippage_bps"],
    )


def _equity(detail: dict[str, Any]) -> None:
    st.subheader(t("replay.equity"))
    curve = charts.frame(detail["curve"], time_columns=["time"])
    if curve.empty:
        st.caption(t("table.empty"))
        return
    what_if = detail.get("what_if_curve") or []
    sides = [(t("replay.side_a") if what_if else t("replay.equity_line"), curve)]
    if what_if:
        sides.append((t("replay.side_b"), charts.frame(what_if, time_columns=["time"])))
    known = "buy_and_hold" in curve and curve["buy_and_hold"].notna().all()
    hold = curve[["time", "buy_and_hold"]] if known else None
    figure = charts.replay_equity_figure(sides, hold, hold_label=t("replay.buy_and_hold"))
    st.plotly_chart(figure, key="replay:equity")
    st.caption(t("replay.curve_points", shown=len(curve), total=detail["curve_points_total"]))


def _trades(detail: dict[str, Any]) -> None:
    """The chosen pair's candles over the window with the replay's trades and vetoes on them."""
    st.subheader(t("replay.trades_title", count=detail["trades_total"]))
    params = detail["params"]
    pairs = {pair["symbol"]: pair for pair in params["pairs"]}
    symbol = st.selectbox(t("markets.pair"), list(pairs), key="replay:pair")
    pair = pairs[symbol]
    trades = charts.frame(
        [row for row in detail["trades"] if row["symbol"] == symbol],
        time_columns=["entry_bar_dt", "exit_bar_dt"],
        columns=("symbol", "entry_bar_dt", "exit_bar_dt", "entry_price", "exit_price", "return"),
    )
    vetoes = charts.frame(
        [row for row in detail["vetoes"] if row["symbol"] == symbol],
        time_columns=["bar_dt"],
        columns=("symbol", "bar_dt", "filters", "forward_return"),
    )
    bars = _window_bars(pair, params, detail["curve_points_total"])
    if bars.empty:
        st.info(t("replay.no_prices", pair=symbol))
    labels = {
        "price": t("chart.price"),
        "entry": t("replay.entry"),
        "exit": t("replay.exit"),
        "vetoed": t("signal.blocked"),
        "round_trip": t("replay.round_trip"),
    }
    title = f"{pair['exchange']} {symbol} {pair['timeframe']}"
    st.plotly_chart(
        charts.replay_trades_figure(bars, trades, vetoes, title=title, labels=labels), key="replay:chart"
    )
    if len(bars) and len(trades) and (trades["entry_bar_dt"] < bars["ts"].min()).any():
        st.caption(t("replay.before_chart", bars=len(bars)))
    if detail["trades_total"] > len(detail["trades"]):
        st.caption(t("replay.first_rows", shown=len(detail["trades"]), total=detail["trades_total"]))
    table(
        [
            {
                **row,
                "entry": when(row["entry_bar_dt"]),
                "exit": when(row["exit_bar_dt"]),
                "return_pct": percent(row["return"]),
            }
            for row in detail["trades"]
        ],
        {
            "symbol": t("col.symbol"),
            "entry": t("replay.entry"),
            "exit": t("replay.exit"),
            "bars_held": t("replay.bars_held"),
            "entry_price": t("replay.entry_price"),
            "exit_price": t("replay.exit_price"),
            "return_pct": t("replay.trade_return"),
            "pnl": "PnL",
            "exit_reason": t("replay.exit_reason"),
        },
        key="replay:trades",
    )


def _window_bars(pair: dict[str, Any], params: dict[str, Any], moments: int) -> pd.DataFrame:
    """The pair's stored bars of the window (its last MAX_BARS): the window has at most `moments`
    bars of any one pair, since the curve has a point at every bar close of every pair."""
    query = {
        "exchange": pair["exchange"],
        "symbol": pair["symbol"],
        "timeframe": pair["timeframe"],
        "limit": max(1, min(MAX_BARS, moments + 1)),
        "end": params["end"],
    }
    try:
        answer: dict[str, Any] = api().get("/prices/latest", query)
    except ApiError as exc:
        if exc.status != 404:
            raise
        return charts.frame([], time_columns=["ts"], columns=charts.OHLCV)
    bars = charts.frame(answer["bars"], time_columns=["ts"], columns=charts.OHLCV)
    return bars[bars["ts"] >= pd.Timestamp(params["start"])].reset_index(drop=True)


def _vetoes(detail: dict[str, Any]) -> None:
    """Every BUY the risk policy blocked: the filters and what the trade would have earned."""
    metrics = detail["metrics"]
    st.subheader(t("replay.vetoes_title", count=detail["vetoes_total"]))
    st.caption(
        t(
            "replay.vetoes_earned",
            mean=percent(metrics.get("vetoes_mean_forward_return")),
            total=percent(metrics.get("vetoes_total_forward_return")),
        )
    )
    if detail["vetoes_total"] > len(detail["vetoes"]):
        st.caption(t("replay.first_rows", shown=len(detail["vetoes"]), total=detail["vetoes_total"]))
    table(
        [
            {
                **row,
                "bar": when(row["bar_dt"]),
                "earned": percent(row["forward_return"]),
                "why": _reasons(row.get("reasons")),
            }
            for row in detail["vetoes"]
        ],
        {
            "bar": t("col.bar"),
            "symbol": t("col.symbol"),
            "filters": t("col.filter"),
            "why": t("col.reason"),
            "prob": t("col.prob"),
            "threshold": t("col.threshold"),
            "earned": t("replay.would_have_earned"),
        },
        key="replay:vetoes",
    )


def _reasons(raw: Any) -> str:
    """The blocking filters' messages (metric against limit), from the veto's JSON list."""
    try:
        reasons = json.loads(raw) if isinstance(raw, str) else raw or []
    except ValueError:
        return str(raw)
    return "; ".join(str(reason.get("message", reason)) for reason in reasons if isinstance(reason, dict))


def _what_if_outcome(detail: dict[str, Any]) -> None:
    """Both sides' figures, and the BUYs only one side blocked with what they would have earned."""
    what_if, metrics = detail["what_if"], detail["metrics"]
    st.subheader(t("replay.what_if_title"))
    sides = ((t("replay.side_a"), metrics), (t("replay.side_b"), what_if["b"]))
    table(
        [
            {
                "side": name,
                "total_return": percent(figures.get("total_return")),
                "buy_and_hold": percent(figures.get("buy_and_hold_return")),
                "sharpe": number(figures.get("sharpe")),
                "max_drawdown": share(figures.get("max_drawdown")),
                "win_rate": share(figures.get("win_rate")),
                "trades": figures.get("trades"),
                "vetoes": figures.get("vetoes"),
            }
            for name, figures in sides
        ],
        {
            "side": t("replay.side"),
            "total_return": t("replay.return"),
            "buy_and_hold": t("replay.buy_and_hold"),
            "sharpe": "Sharpe",
            "max_drawdown": t("replay.max_drawdown"),
            "win_rate": t("replay.win_rate"),
            "trades": t("replay.trades"),
            "vetoes": t("replay.vetoes"),
        },
        static=True,
    )
    only_a = what_if.get("blocked_only_by_a") or {}
    only_b = what_if.get("blocked_only_by_b") or {}
    st.caption(
        t(
            "replay.blocked_only_a",
            count=only_a.get("count", 0),
            total=percent(only_a.get("forward_return_sum")),
        )
    )
    st.caption(
        t(
            "replay.blocked_only_b",
            count=only_b.get("count", 0),
            total=percent(only_b.get("forward_return_sum")),
        )
    )
    table(
        [
            {
                **row,
                "side": str(row["blocked_by"]).upper(),
                "bar": when(row["bar_dt"]),
                "earned": percent(row["forward_return"]),
            }
            for row in what_if.get("blocked") or []
        ],
        {
            "side": t("replay.blocked_by"),
            "bar": t("col.bar"),
            "symbol": t("col.symbol"),
            "filters": t("col.filter"),
            "earned": t("replay.would_have_earned"),
        },
        key="replay:what_if",
    )


def _models_used(detail: dict[str, Any]) -> None:
    with st.expander(t("replay.models", count=len(detail["models"]))):
        table(
            [
                {**m, "trained": when(m.get("trained_at")), "data_end": when(m.get("data_end"))}
                for m in detail["models"]
            ],
            {
                "symbol": t("col.symbol"),
                "id": t("col.run"),
                "kind": t("col.kind"),
                "trained": t("replay.trained"),
                "data_end": t("replay.data_end"),
                "test_auc": "AUC",
                "promoted": t("replay.promoted"),
                "reason": t("col.reason"),
            },
            key="replay:models",
        )


if __name__ == "__main__":
    run_page(render)
