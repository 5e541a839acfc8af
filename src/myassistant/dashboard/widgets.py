"""Pieces every page uses: texts in the chosen language, the API, error display, confirmed actions."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from myassistant.dashboard import texts
from myassistant.dashboard.client import Api, ApiError, ApiUnreachable, Unauthorized
from myassistant.dashboard.connection import Connection

CONNECTION_KEY = "connection"
LANG_KEY = "lang"
DEFAULT_LANG_KEY = "default_lang"
FLASH_PREFIX = "flash:"
FLASH_SECONDS = 8.0
PENDING_PREFIX = "pending:"


def lang() -> str:
    chosen = st.session_state.get(LANG_KEY) or st.session_state.get(DEFAULT_LANG_KEY) or "en"
    return str(chosen)


def t(key: str, /, **values: Any) -> str:
    """The text `key` in the chosen language, with `values` filled in."""
    return texts.translate(lang(), key, **values)


def api() -> Api:
    connection: Connection = st.session_state[CONNECTION_KEY]
    return Api(connection)


# --- errors ------------------------------------------------------------------------------------


def api_down_banner(exc: ApiUnreachable) -> None:
    """The one banner for a service that does not answer: where we looked and how to start it."""
    st.error(t("api.down", url=exc.url), icon=":material/cloud_off:")
    st.markdown(t("api.down_how"))
    st.code("make run\n# or\nmyassistant serve", language="bash")
    st.caption(t("api.down_reason", reason=exc.reason))


def unauthorized_text(token_set: bool) -> str:
    return t("api.token_wrong") if token_set else t("api.token_missing")


def error_text(exc: ApiError) -> str:
    """An API refusal in words: its `detail`, or what is wrong with the token for a 401."""
    if isinstance(exc, Unauthorized):
        return unauthorized_text(api().connection.token is not None)
    return t("api.error", status=exc.status, detail=exc.detail)


def show_error(exc: ApiError) -> None:
    st.error(error_text(exc), icon=":material/error:")


def run_page(render: Callable[[], None]) -> None:
    """Render a page; a service that is down or refuses our token gets its message instead of a trace."""
    try:
        render()
    except ApiUnreachable as exc:
        api_down_banner(exc)
    except ApiError as exc:
        show_error(exc)


# --- actions -----------------------------------------------------------------------------------


def perform(key: str, call: Callable[[], Any], success: str | Callable[[Any], str]) -> None:
    """Run a change, then rerun the page (fresh data) with its outcome under the control: `success`,
    or the API's refusal (`flash(key)` shows it)."""
    try:
        answer = call()
    except ApiError as exc:
        _remember(key, "error", error_text(exc))
    else:
        _remember(key, "success", success(answer) if callable(success) else success)
    st.rerun()


def _remember(key: str, kind: str, message: str) -> None:
    st.session_state[FLASH_PREFIX + key] = (kind, message, time.monotonic() + FLASH_SECONDS)


def flash(key: str) -> None:
    """The outcome of the change sent under `key`, shown for FLASH_SECONDS: a page may rerun itself at
    once (Automation, when the run it follows has ended) and must not lose it."""
    kind, message, until = st.session_state.get(FLASH_PREFIX + key) or ("", "", 0.0)
    if time.monotonic() > until:
        st.session_state.pop(FLASH_PREFIX + key, None)
        return
    if kind == "error":
        st.error(message, icon=":material/error:")
    else:
        st.success(message, icon=":material/check_circle:")


def action_button(
    label: str,
    key: str,
    call: Callable[[], Any],
    success: str | Callable[[Any], str],
    *,
    help: str | None = None,  # noqa: A002 - Streamlit's own name for it
    primary: bool = False,
) -> None:
    """A button that runs `call`; its outcome (success or the API's refusal) is shown under it."""
    if st.button(label, key=key, help=help, type="primary" if primary else "secondary"):
        perform(key, call, success)
    flash(key)


def confirmed_button(
    label: str, key: str, question: str, call: Callable[[], Any], success: str | Callable[[Any], str]
) -> None:
    """Like `action_button`, but the change runs only after a second, explicit "yes"."""
    pending = PENDING_PREFIX + key
    if st.button(label, key=key):
        st.session_state[pending] = True
    if st.session_state.get(pending):
        st.warning(question, icon=":material/help:")
        yes, no = st.columns(2)
        if yes.button(t("confirm.yes"), key=f"{key}:yes", type="primary"):
            st.session_state[pending] = False
            perform(key, call, success)
        if no.button(t("confirm.no"), key=f"{key}:no"):
            st.session_state[pending] = False
            st.rerun()
    flash(key)


def run_progress(run: Mapping[str, Any]) -> None:
    """A running job's bar: `done/total` and its current item, from the run's `progress` (the
    service's in-process board), else the one kept in its stats."""
    progress = run.get("progress") or (run.get("stats") or {}).get("progress") or {}
    total, done = progress.get("total") or 0, progress.get("done") or 0
    label = t("automation.progress", job=run["job"], source=run["source"], started=when(run["started_at"]))
    if total:
        st.progress(min(done / total, 1.0), text=f"{label} — {done}/{total} {progress.get('label', '')}")
    else:
        st.progress(0.0, text=f"{label} — {t('automation.no_progress')}")


# --- values ------------------------------------------------------------------------------------


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Mapping[str, str],
    *,
    key: str | None = None,
    static: bool = False,
) -> None:
    """`rows` as a table of `columns` (API field → header); an empty list says so. `static`: a plain
    HTML table (short lists, text a browser can select) instead of the scrollable, sortable grid."""
    if not rows:
        st.caption(t("table.empty"))
        return
    shown = pd.DataFrame([{header: row.get(field) for field, header in columns.items()} for row in rows])
    if static:
        st.table(shown, hide_index=True)
    else:
        st.dataframe(shown, hide_index=True, key=key)


def when(value: str | None) -> str:
    """An ISO time from the API as `YYYY-MM-DD HH:MM` UTC ("—" for none)."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")


def number(value: float | int | None, decimals: int = 2) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}"


def price(value: float | None) -> str:
    """A price with the digits it needs: cents for large prices, six significant digits for small."""
    if value is None:
        return "—"
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.6g}"


def percent(value: float | None, decimals: int = 2) -> str:
    return "—" if value is None else f"{value * 100:+.{decimals}f}%"


def share(value: float | None, decimals: int = 1) -> str:
    """A fraction that has no sign to show (a win rate, an exposure) as a percentage."""
    return "—" if value is None else f"{value * 100:.{decimals}f}%"


def optional_number(raw: str) -> float | int | str | None:
    """A form field where empty means "off" (null); text that is no number goes to the API as is,
    so its 422 names the field."""
    text = raw.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def plain(value: Any) -> str:
    """A value as a form field shows it (empty for null)."""
    return "" if value is None else str(value)
