"""Automation: a button for every job and action with its parameters, live progress, the run history.

API calls: /automation/status, /automation/runs (again every POLL_S seconds while a run runs).
Every button starts its run in the background (`wait: false`), so the page never waits for a job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import streamlit as st

from myassistant.dashboard.widgets import (
    action_button,
    api,
    optional_number,
    run_page,
    run_progress,
    t,
    table,
    when,
)

POLL_S = 2.0
HISTORY = 50
WATCH_KEY = "automation:watch"  # set when this page started a run: poll until nothing runs


@dataclass(frozen=True)
class Param:
    """One parameter a run accepts, as POST /automation/run takes it; empty fields are left out."""

    name: str
    kind: Literal["text", "number", "list", "bool"] = "text"
    default: bool = True  # for "bool" only


# The parameters of each job and action (the bodies of their endpoints; README "Jobs").
JOB_PARAMS: Mapping[str, tuple[Param, ...]] = {
    "discover_watchlist": (
        Param("exchange"),
        Param("quote"),
        Param("top_n", "number"),
        Param("min_quote_volume", "number"),
    ),
    "fetch_news": (Param("feeds", "list"), Param("limit", "number")),
    "analyze_news": (Param("batch_size", "number"), Param("limit", "number")),
    "fetch_prices": (
        Param("symbols", "list"),
        Param("exchange"),
        Param("timeframe"),
        Param("limit", "number"),
    ),
}
ACTIONS: Mapping[str, tuple[Param, ...]] = {
    "signal_once": (
        Param("symbol"),
        Param("exchange"),
        Param("timeframe"),
        Param("horizon_steps", "number"),
        Param("trade", "bool"),
    ),
    "scan_watchlist": (),
    "train_missing": (Param("fetch", "bool"),),
}


def render() -> None:
    st.title(t("page.automation"))
    client = api()
    status = client.get("/automation/status")
    st.caption(_scheduler_line(status))
    running = st.session_state.get(WATCH_KEY) or any(
        (job["last_run"] or {}).get("status") == "running" for job in status["jobs"]
    )
    jobs, actions = st.columns(2)
    with jobs:
        st.subheader(t("automation.jobs"))
        for job in status["jobs"]:
            _runner("job", job["name"], job["description"], JOB_PARAMS.get(job["name"], ()), job)
    with actions:
        st.subheader(t("automation.actions"))
        for name, params in ACTIONS.items():
            _runner("action", name, t(f"action.{name}"), params, None)
    st.fragment(run_every=POLL_S if running else None)(_live_runs)(bool(running))


def _scheduler_line(status: dict[str, Any]) -> str:
    if not status["scheduler_enabled"]:
        return t("scheduler.disabled")
    return t("scheduler.leader") if status["leader"] else t("scheduler.follower")


def _runner(
    kind: str, name: str, description: str, params: tuple[Param, ...], job: dict[str, Any] | None
) -> None:
    """One job or action: what it does, its last run, its parameters and its Run button."""
    last = (job or {}).get("last_run") or {}
    with st.expander(f"{name} · {last.get('status', '—')}", expanded=False):
        st.caption(description)
        if job is not None:
            st.caption(t("automation.schedule", schedule=job["schedule"], next=when(job["next_run"])))
        values = {param.name: _input(kind, name, param) for param in params}
        body = {kind: name, "wait": False} | {
            key: value for key, value in values.items() if value is not None
        }
        client = api()

        def start() -> Any:
            answer = client.post("/automation/run", body)
            st.session_state[WATCH_KEY] = True  # poll until it has finished
            return answer

        action_button(
            t("automation.run", name=name),
            f"automation:{kind}:{name}",
            start,
            t("run.started", job=name),
            primary=True,
        )


def _input(kind: str, name: str, param: Param) -> Any:
    key = f"automation:{kind}:{name}:{param.name}"
    if param.kind == "bool":
        return st.checkbox(param.name, value=param.default, key=key)
    raw = st.text_input(param.name, key=key, placeholder=t(f"param.{param.kind}"))
    if not raw.strip():
        return None
    if param.kind == "number":
        return optional_number(raw)
    if param.kind == "list":
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw.strip()


def _live_runs(was_running: bool) -> None:
    """Runs in progress with their progress, then the history; redrawn every POLL_S while one runs."""
    runs: list[dict[str, Any]] = api().get("/automation/runs", {"limit": HISTORY}, fresh=True)
    active = [run for run in runs if run["status"] == "running"]
    if was_running and not active:
        st.session_state[WATCH_KEY] = False
        st.rerun()  # the last run just ended: redraw the whole page (statuses) and stop polling
    st.subheader(t("automation.running", count=len(active)))
    for run in active:
        run_progress(run)
    st.subheader(t("automation.history"))
    table(
        [{**run, "started": when(run["started_at"]), "duration": _duration(run)} for run in runs],
        {
            "id": "#",
            "job": t("col.job"),
            "source": t("col.source"),
            "status": t("col.status"),
            "started": t("col.started"),
            "duration": t("col.duration_s"),
            "error": t("col.error"),
        },
        key="automation:history",
    )


def _duration(run: dict[str, Any]) -> float | None:
    """What the runner measured (stats.duration_s), else the row's own times."""
    measured = (run.get("stats") or {}).get("duration_s")
    if isinstance(measured, int | float):
        return round(float(measured), 2)
    if not run.get("finished_at"):
        return None
    delta = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    return round(delta.total_seconds(), 2)


if __name__ == "__main__":
    run_page(render)
