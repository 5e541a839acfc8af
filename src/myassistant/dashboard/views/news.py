"""News: full-text search, the annotated articles by tag, language and source, sentiment and volume.

API calls: /news/search (when searching), else /news/by_tag (with a tag) or /news/annotated.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from myassistant.dashboard import charts
from myassistant.dashboard.widgets import api, run_page, t, table, when

ARTICLES = 500  # the API's largest page; the charts describe these newest articles
LANGS = ("", "en", "ru", "de", "es", "fr", "it", "pt", "tr", "zh", "ja", "ko")


def render() -> None:
    st.title(t("page.news"))
    query = st.text_input(t("news.search"), key="news:q", placeholder=t("news.search_hint"))
    if query.strip():
        _search(query.strip())
        return
    tag_col, lang_col, source_col = st.columns(3)
    tag = tag_col.text_input(t("news.tag"), key="news:tag", placeholder="BTC, etf …").strip()
    lang = lang_col.selectbox(
        t("news.lang"), LANGS, format_func=lambda code: code or t("news.any"), key="news:lang"
    )
    source = source_col.text_input(t("news.source"), key="news:source").strip()
    client = api()
    if tag:
        articles: list[dict[str, Any]] = client.get("/news/by_tag", {"tag": tag, "limit": ARTICLES})
        articles = [a for a in articles if not lang or a["lang"] == lang]
    else:
        articles = client.get("/news/annotated", {"lang": lang or None, "limit": ARTICLES})
    if source:
        articles = [a for a in articles if source.lower() in a["source"].lower()]
    st.caption(t("news.count", count=len(articles)))
    if articles:
        frame = charts.frame(articles, time_columns=["first_seen_at"])
        sentiment, volume = st.columns(2)
        with sentiment:
            st.markdown(f"**{t('news.sentiment')}**")
            st.plotly_chart(charts.sentiment_figure(frame, label=t("news.sentiment")), key="news:sentiment")
        with volume:
            st.markdown(f"**{t('news.volume')}**")
            st.plotly_chart(charts.volume_by_source_figure(frame), key="news:volume")
    table(
        [{**a, "seen": when(a["first_seen_at"]), "tags": ", ".join(a["tags"])} for a in articles],
        {
            "seen": t("col.seen"),
            "title": t("col.title"),
            "source": t("col.source"),
            "lang": t("col.lang"),
            "compound": t("col.sentiment"),
            "tags": t("col.tags"),
        },
    )


def _search(query: str) -> None:
    hits: list[dict[str, Any]] = api().get("/news/search", {"q": query, "limit": 100})
    st.caption(t("news.hits", count=len(hits), query=query))
    table(
        [{**h, "seen": when(h["first_seen_at"])} for h in hits],
        {"seen": t("col.seen"), "title": t("col.title"), "source": t("col.source"), "score": t("col.score")},
    )


if __name__ == "__main__":
    run_page(render)
