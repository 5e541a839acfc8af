"""Settings: the risk policy, the model policy, Telegram (token masked, a test message), the watchlist.

API calls: /risk/policy, /model/policy, /notify/config, /watchlist, /watchlist/snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from myassistant.dashboard.widgets import (
    action_button,
    api,
    flash,
    optional_number,
    perform,
    plain,
    run_page,
    t,
    table,
    when,
)

RISK_FIELDS = (
    "max_vol_norm",
    "max_ret_std_24",
    "min_prob_margin",
    "cooldown_minutes",
    "max_open_positions",
    "max_position_pct",
)
MODEL_FIELDS = ("max_age_days", "retrain_if_auc_below", "min_train_rows", "train_bars")


def render() -> None:
    st.title(t("page.settings"))
    risk, model, notify, watchlist = st.tabs(
        [t("settings.risk"), t("settings.model"), t("settings.notify"), t("settings.watchlist")]
    )
    with risk:
        _risk_policy()
    with model:
        _config_doc("/model/policy", "settings:model", MODEL_FIELDS, t("settings.model_help"))
    with notify:
        _notify()
    with watchlist:
        _watchlist()


def _risk_policy() -> None:
    doc = api().get("/risk/policy")
    value = doc["value"]
    st.caption(t("settings.risk_help"))
    with st.form("settings:risk"):
        enabled = st.checkbox(t("risk.enabled"), value=bool(value["enabled"]))
        fields = _number_fields(value, RISK_FIELDS)
        blacklist = st.text_input("blacklist", ", ".join(value["blacklist"]), help=t("risk.blacklist_help"))
        submitted = st.form_submit_button(t("form.save"))
    if submitted:
        changes = {
            "enabled": enabled,
            **fields,
            "blacklist": [s.strip() for s in blacklist.split(",") if s.strip()],
        }
        _save("/risk/policy", "settings:risk", changes, doc["version"])
    flash("settings:risk")
    st.caption(t("form.version", version=doc["version"], updated=when(doc["updated_at"])))


def _config_doc(path: str, key: str, names: tuple[str, ...], help_text: str) -> None:
    doc = api().get(path)
    st.caption(help_text)
    with st.form(key):
        fields = _number_fields(doc["value"], names)
        submitted = st.form_submit_button(t("form.save"))
    if submitted:
        _save(path, key, fields, doc["version"])
    flash(key)
    st.caption(t("form.version", version=doc["version"], updated=when(doc["updated_at"])))


def _number_fields(value: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """A text field per number (empty = off, where the API allows null); the API validates them."""
    columns = st.columns(3)
    return {
        name: optional_number(columns[i % 3].text_input(name, plain(value.get(name)), key=f"field:{name}"))
        for i, name in enumerate(names)
    }


def _save(path: str, key: str, changes: dict[str, Any], version: int) -> None:
    client = api()
    perform(
        key,
        lambda: client.post(path, {**changes, "expected_version": version}),
        lambda saved: t("form.saved", version=saved["version"]),
    )


def _notify() -> None:
    client = api()
    doc = client.get("/notify/config")
    value = doc["value"]
    st.caption(t("settings.notify_help"))
    with st.form("settings:notify"):
        enabled = st.checkbox(t("notify.enabled"), value=bool(value["enabled"]))
        token_note = (
            t("notify.token_set", masked=value["token"]) if doc["token_set"] else t("notify.token_unset")
        )
        token = st.text_input(
            t("notify.token"), "", type="password", help=token_note, placeholder=value["token"] or ""
        )
        chat_id = st.text_input("chat_id", plain(value["chat_id"]))
        languages = ["", "en", "ru"]
        lang = st.selectbox(
            t("notify.lang"),
            languages,
            index=languages.index(value["lang"] or ""),
            format_func=lambda code: code or t("notify.lang_default", lang=doc["effective_lang"]),
        )
        profile = st.selectbox(
            t("notify.profile"),
            list(value["profiles"]),
            index=list(value["profiles"]).index(value["active_profile"]),
        )
        submitted = st.form_submit_button(t("form.save"))
    st.caption(token_note)
    if submitted:
        changes: dict[str, Any] = {
            "enabled": enabled,
            "chat_id": _chat_id(chat_id),
            "lang": lang or None,
            "active_profile": profile,
        }
        if token.strip():  # empty keeps the stored token
            changes["token"] = token.strip()
        _save("/notify/config", "settings:notify", changes, doc["version"])
    flash("settings:notify")
    action_button(
        t("notify.test"),
        "settings:notify_test",
        lambda: client.post("/notify/test"),
        lambda answer: t("notify.test_done", outcome=answer["outcome"], detail=answer["detail"]),
    )
    st.caption(t("form.version", version=doc["version"], updated=when(doc["updated_at"])))


def _chat_id(raw: str) -> int | str | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _watchlist() -> None:
    client = api()
    entries: list[dict[str, Any]] = client.get("/watchlist")
    table(
        [{**e, "added": when(e["added_at"])} for e in entries],
        {
            "exchange": t("col.exchange"),
            "symbol": t("col.symbol"),
            "source": t("col.source"),
            "timeframe": t("col.timeframe"),
            "horizon_steps": t("col.horizon"),
            "quote_volume_24h": t("col.volume_24h"),
            "added": t("col.added"),
        },
    )
    add, remove = st.columns(2)
    with add:
        symbols = st.text_input(
            t("watchlist.add"), key="watchlist:add_symbols", placeholder="BTC/USDT, ETH/USDT"
        )
        wanted = [{"symbol": s.strip()} for s in symbols.split(",") if s.strip()]
        action_button(
            t("watchlist.add_button"),
            "watchlist:add",
            lambda: client.post("/watchlist/add", {"entries": wanted}),
            lambda change: t("watchlist.added", added=", ".join(change["added"]) or "—"),
        )
    with remove:
        names = [f"{e['exchange']} {e['symbol']}" for e in entries]
        chosen = st.multiselect(t("watchlist.remove"), names, key="watchlist:remove_pick")
        by_exchange: dict[str, list[str]] = {}
        for name in chosen:
            exchange, symbol = name.split(" ", 1)
            by_exchange.setdefault(exchange, []).append(symbol)

        def remove_chosen() -> list[str]:
            return [
                r
                for exchange, syms in by_exchange.items()
                for r in client.post("/watchlist/remove", {"exchange": exchange, "symbols": syms})["removed"]
            ]

        action_button(
            t("watchlist.remove_button"),
            "watchlist:remove",
            remove_chosen,
            lambda removed: t("watchlist.removed", removed=", ".join(removed) or "—"),
        )
    st.markdown(f"**{t('watchlist.discover')}**")
    top, volume, quote = st.columns(3)
    top_n = top.text_input("top_n", "20", key="watchlist:top_n")
    min_volume = volume.text_input("min_quote_volume", "1000000", key="watchlist:min_volume")
    quote_currency = quote.text_input("quote", "USDT", key="watchlist:quote")
    action_button(
        t("watchlist.discover_button"),
        "watchlist:discover",
        lambda: client.post(
            "/watchlist/discover",
            {
                "top_n": optional_number(top_n),
                "min_quote_volume": optional_number(min_volume),
                "quote": quote_currency,
            },
        ),
        lambda found: t(
            "watchlist.discovered",
            count=len(found["discovered"]),
            added=len(found["added"]),
            removed=len(found["removed"]),
        ),
    )
    snapshots: list[dict[str, Any]] = client.get("/watchlist/snapshots", {"limit": 10})
    st.markdown(f"**{t('watchlist.snapshots')}**")
    table(
        [{**s, "taken": when(s["taken_at"]), "pairs": len(s["entries"])} for s in snapshots],
        {"id": "#", "taken": t("col.taken"), "trigger": t("col.trigger"), "pairs": t("col.pairs")},
    )


if __name__ == "__main__":
    run_page(render)
