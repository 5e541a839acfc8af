"""Memory: the assistant's journal; add a note, search by words, tag or symbol, delete one.

API calls: /memory (the search).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from myassistant.dashboard.widgets import (
    api,
    confirmed_button,
    flash,
    perform,
    run_page,
    t,
    table,
    when,
)

NOTES = 200


def render() -> None:
    st.title(t("page.memory"))
    client = api()
    with st.form("memory:add", clear_on_submit=True):
        text = st.text_area(t("memory.text"))
        tags_col, symbol_col = st.columns(2)
        tags = tags_col.text_input(t("memory.tags"), placeholder="idea, btc")
        symbol = symbol_col.text_input(t("memory.symbol"), placeholder="BTC/USDT")
        submitted = st.form_submit_button(t("memory.add"))
    if submitted:
        note = {
            "text": text,
            "tags": [tag.strip() for tag in tags.split(",") if tag.strip()],
            "symbol": symbol.strip() or None,
        }
        perform(
            "memory:add",
            lambda: client.post("/memory", note),
            lambda saved: t("memory.added", id=saved["id"]),
        )
    flash("memory:add")
    st.subheader(t("memory.search"))
    query_col, tag_col, symbol_col = st.columns(3)
    query = query_col.text_input(t("memory.words"), key="memory:q")
    tag = tag_col.text_input(t("memory.tag"), key="memory:tag")
    symbol_filter = symbol_col.text_input(t("memory.symbol"), key="memory:symbol")
    notes: list[dict[str, Any]] = client.get(
        "/memory",
        {
            "q": query.strip() or None,
            "tag": tag.strip() or None,
            "symbol": symbol_filter.strip() or None,
            "limit": NOTES,
        },
    )
    table(
        [{**n, "created": when(n["created_at"]), "tags": ", ".join(n["tags"])} for n in notes],
        {
            "id": "#",
            "created": t("col.created"),
            "text": t("memory.text"),
            "tags": t("col.tags"),
            "symbol": t("col.symbol"),
        },
    )
    if notes:
        by_id = {n["id"]: n for n in notes}
        chosen = st.selectbox(
            t("memory.delete_which"),
            list(by_id),
            format_func=lambda i: f"#{i} {by_id[i]['text'][:60]}",
            key="memory:pick",
        )
        confirmed_button(
            t("memory.delete"),
            "memory:delete",
            t("memory.delete_confirm", id=chosen),
            lambda: client.delete(f"/memory/{chosen}"),
            t("memory.deleted", id=chosen),
        )


if __name__ == "__main__":
    run_page(render)
