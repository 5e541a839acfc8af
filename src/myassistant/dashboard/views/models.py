"""Models: health per watchlist pair, training runs, promotions with their figures; pin, unpin, roll back.

API calls: /model/health, /model/runs, /model/promotions, /model/active (the chosen pair).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from myassistant.dashboard.widgets import api, confirmed_button, run_page, t, table, when

RUNS = 200
PROMOTIONS = 100


def render() -> None:
    st.title(t("page.models"))
    client = api()
    health: list[dict[str, Any]] = client.get("/model/health")
    st.subheader(t("models.health"))
    table(
        health,
        {
            "symbol": t("col.symbol"),
            "timeframe": t("col.timeframe"),
            "horizon_steps": t("col.horizon"),
            "status": t("col.status"),
            "run_id": t("col.run"),
            "source": t("col.choice"),
            "test_auc": "AUC",
            "age_days": t("col.age_days"),
            "reason": t("col.reason"),
        },
    )
    runs: list[dict[str, Any]] = client.get("/model/runs", {"limit": RUNS})
    if health:
        _active(health, runs)
    st.subheader(t("models.runs"))
    table(
        [{**r, "created": when(r["created_at"]), "backtest": _backtest(r)} for r in runs],
        {
            "id": t("col.run"),
            "symbol": t("col.symbol"),
            "timeframe": t("col.timeframe"),
            "status": t("col.status"),
            "model_kind": t("col.kind"),
            "test_auc": "AUC",
            "test_return": t("col.test_return"),
            "threshold": t("col.threshold"),
            "rows": t("col.rows"),
            "backtest": t("col.backtest"),
            "error": t("col.error"),
            "created": t("col.created"),
        },
    )
    promotions: list[dict[str, Any]] = client.get("/model/promotions", {"limit": PROMOTIONS})
    st.subheader(t("models.promotions"))
    table(
        [
            {**p, "created": when(p["created_at"]), "figures": _figures(p.get("comparison"))}
            for p in promotions
        ],
        {
            "created": t("col.created"),
            "symbol": t("col.symbol"),
            "action": t("col.action"),
            "run_id": t("col.run"),
            "previous_run_id": t("col.previous_run"),
            "figures": t("col.figures"),
            "reason": t("col.reason"),
        },
    )


def _active(health: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
    """The chosen pair's pin / promoted / newest runs, and the three changes, each confirmed."""
    st.subheader(t("models.active"))
    pairs = {f"{h['exchange']} {h['symbol']} {h['timeframe']} h{h['horizon_steps']}": h for h in health}
    chosen = pairs[st.selectbox(t("models.pair"), list(pairs), key="models:pair")]
    pair = {key: chosen[key] for key in ("exchange", "symbol", "timeframe", "horizon_steps")}
    client = api()
    active = client.get("/model/active", pair)
    columns = st.columns(4)
    for column, (label, field) in zip(
        columns,
        (
            ("models.pinned", "pinned_run"),
            ("models.promoted", "promoted_run"),
            ("models.newest", "newest_run"),
            ("models.effective", "effective_run"),
        ),
        strict=True,
    ):
        run = active.get(field)
        auc = run.get("test_auc") if run else None
        column.metric(t(label), f"#{run['id']}" if run else "—")
        column.caption(f"AUC {auc:.3f}" if auc is not None else "")
    st.caption(active.get("note", ""))
    candidates = [r for r in runs if r["status"] == "succeeded" and all(r[k] == v for k, v in pair.items())]
    pin, unpin, rollback = st.columns(3)
    with pin:
        if candidates:
            run_id = st.selectbox(
                t("models.pin_run"),
                [r["id"] for r in candidates],
                format_func=lambda i: (
                    f"#{i} · {when(next(r for r in candidates if r['id'] == i)['created_at'])}"
                ),
                key="models:pin_run",
            )
            confirmed_button(
                t("models.pin"),
                "models:pin",
                t("models.pin_confirm", run=run_id, pair=chosen["symbol"]),
                lambda: client.post("/model/active", {**pair, "action": "pin", "run_id": run_id}),
                t("models.pinned_done", run=run_id),
            )
    with unpin:
        confirmed_button(
            t("models.unpin"),
            "models:unpin",
            t("models.unpin_confirm", pair=chosen["symbol"]),
            lambda: client.post("/model/active", {**pair, "action": "unpin"}),
            t("models.unpinned_done"),
        )
    with rollback:
        confirmed_button(
            t("models.rollback"),
            "models:rollback",
            t("models.rollback_confirm", pair=chosen["symbol"]),
            lambda: client.post("/model/active", {**pair, "action": "rollback"}),
            lambda answer: t("models.rolled_back", run=(answer.get("effective_run") or {}).get("id", "—")),
        )


def _backtest(run: dict[str, Any]) -> str:
    """The test part's backtest after costs, in a few figures."""
    backtest = ((run.get("metrics") or {}).get("test") or {}).get("backtest") or {}
    names = ("trades", "win_rate", "total_return", "buy_and_hold_return", "sharpe", "max_drawdown")
    return ", ".join(
        f"{name}={backtest[name]:.3g}" for name in names if isinstance(backtest.get(name), int | float)
    )


def _figures(comparison: dict[str, Any] | None) -> str:
    """The compared figures of a promotion decision, flat."""
    if not comparison:
        return ""
    return ", ".join(
        f"{key}={_short(value)}" for key, value in comparison.items() if not isinstance(value, dict | list)
    )


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    run_page(render)
