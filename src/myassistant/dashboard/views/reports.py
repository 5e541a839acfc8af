"""Reports: the daily reports built so far, the chosen one shown inline and downloadable, a build now.

API calls: /time (the service's clock says what "yesterday" is), /reports, /report/{date} (the chosen
one's HTML).
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

import streamlit as st

from myassistant.dashboard import texts
from myassistant.dashboard.client import ApiError
from myassistant.dashboard.widgets import action_button, api, lang, run_page, show_error, t, table, when

REPORTS = 200
VIEW_HEIGHT = 900  # px; the report scrolls inside its frame
CHOSEN_KEY = "reports:chosen"
WANTED_KEY = "reports:wanted"  # set by a build: show its report on the next run


def render() -> None:
    st.title(t("page.reports"))
    client = api()
    today = datetime.fromisoformat(client.get("/time")["utc"]).date()
    _build(today)
    reports: list[dict[str, Any]] = client.get("/reports", {"limit": REPORTS})
    st.subheader(t("reports.list", count=len(reports)))
    table(
        [
            {
                **r,
                "created": when(r["created_at"]),
                "kb": round(r["size"] / 1024, 1),
                "run": f"#{r['job_run_id']}" if r["job_run_id"] else "—",
            }
            for r in reports
        ],
        {
            "date": t("col.date"),
            "lang": t("col.lang"),
            "kb": t("col.size_kb"),
            "created": t("col.created"),
            "run": t("col.job_run"),
        },
        key="reports:table",
    )
    if reports:
        _show(reports)


def _build(today: date) -> None:
    """The build control: a day (yesterday by default, as the nightly job) and a language."""
    st.subheader(t("reports.build"))
    client = api()
    day_col, lang_col, button_col = st.columns([2, 1, 1], vertical_alignment="bottom")
    day = day_col.date_input(t("reports.day"), today - timedelta(days=1), key="reports:day")
    languages = list(texts.LANGUAGES)
    language = lang_col.selectbox(t("col.lang"), languages, index=languages.index(lang()), key="reports:lang")

    def build() -> Any:
        answer = client.post("/report/daily", {"date": str(day), "lang": language})
        st.session_state[WANTED_KEY] = _key(answer)
        return answer

    with button_col:
        action_button(
            t("reports.build_now"),
            "reports:build",
            build,
            lambda built: t("reports.built", date=built["date"], lang=built["lang"], size=built["size"]),
            primary=True,
        )


def _key(report: dict[str, Any]) -> str:
    return f"{report['date']} {report['lang']}"


def _show(reports: list[dict[str, Any]]) -> None:
    """The chosen report inline (sandboxed, scrolling in its frame) and its download button."""
    by_key = {_key(r): r for r in reports}
    wanted = st.session_state.pop(WANTED_KEY, None)
    if wanted in by_key:
        st.session_state[CHOSEN_KEY] = wanted
    chosen = by_key[st.selectbox(t("reports.chosen"), list(by_key), key=CHOSEN_KEY)]
    try:
        document = api().get_text(f"/report/{chosen['date']}", {"lang": chosen["lang"]})
    except ApiError as exc:
        show_error(exc)  # its file is gone (404): the detail says how to build it again
        return
    st.download_button(
        t("reports.download"),
        document.encode("utf-8"),
        file_name=PurePosixPath(chosen["path"]).name,
        mime="text/html",
        key="reports:download",
    )
    st.iframe(sandboxed(document, title=t("reports.frame", date=chosen["date"])), height=VIEW_HEIGHT)


def sandboxed(document: str, *, title: str) -> str:
    """`document` in a frame of its own that runs no script and has no origin (so it reaches neither
    this page nor the service); its links may still open in a new tab."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        "html,body{margin:0;height:100%}iframe{display:block;border:0;width:100%;height:100%}"
        "</style></head><body>"
        f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" title="{html.escape(title)}" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe>'
        "</body></html>"
    )


if __name__ == "__main__":
    run_page(render)
