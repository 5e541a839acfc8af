"""The dashboard's entry script: `streamlit run app.py [-- --api URL]` (or `myassistant dashboard`).

It reads the settings once (API_TOKEN, HOST/PORT for the service's address, UI_LANG), offers the
language switch and runs the chosen page; every page talks to the service through `client.Api`.
"""

from __future__ import annotations

import sys

import streamlit as st
from pydantic import ValidationError

from myassistant.core.config import Settings
from myassistant.dashboard import PACKAGE_DIR, texts
from myassistant.dashboard.connection import connection_from
from myassistant.dashboard.views import PAGES
from myassistant.dashboard.widgets import CONNECTION_KEY, DEFAULT_LANG_KEY, LANG_KEY, t


def _configure() -> bool:
    """Connection and default language from the settings, once per session; False when unusable."""
    if CONNECTION_KEY in st.session_state:
        return True
    try:
        settings = Settings()
    except ValidationError as exc:
        st.error(texts.translate("en", "app.bad_settings", detail=str(exc.errors()[0].get("msg", exc))))
        return False
    st.session_state[CONNECTION_KEY] = connection_from(sys.argv[1:], settings)
    st.session_state[DEFAULT_LANG_KEY] = settings.ui_lang
    return True


def _sidebar() -> None:
    languages = list(texts.LANGUAGES)
    default = st.session_state.get(DEFAULT_LANG_KEY, "en")
    st.sidebar.selectbox(
        t("app.language"),
        languages,
        index=languages.index(st.session_state.get(LANG_KEY, default)),
        format_func=lambda code: texts.LANGUAGES[code],
        key=LANG_KEY,
    )
    connection = st.session_state[CONNECTION_KEY]
    st.sidebar.caption(t("app.api", url=connection.base_url))
    if connection.token:
        st.sidebar.caption(t("app.token_set"))


def main() -> None:
    st.set_page_config(page_title="myassistant", page_icon=":material/insights:", layout="wide")
    if not _configure():
        return
    _sidebar()
    pages = [
        st.Page(PACKAGE_DIR / spec.file, title=t(spec.title), icon=spec.icon, url_path=spec.url_path)
        for spec in PAGES
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
