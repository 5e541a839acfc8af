"""POST /replay, GET /replays and GET /replays/{id}: the job, the answer, the what-if, and bad input."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from myassistant.api.app import create_app
from myassistant.cli import app as cli_app
from myassistant.jobs.service import recent_runs
from myassistant.market import service as market
from myassistant.ml import registry
from myassistant.ml.features import FEATURE_COLUMNS, WARMUP_BARS
from myassistant.ml.predictors import LinearPredictor
from tests.fixtures.ml import register_run

HORIZON = 4
PAIR: dict[str, Any] = {"symbol": "BTC/USDT", "timeframe": "15m", "horizon_steps": HORIZON}
STEP = timedelta(minutes=15)
STRICT = {"max_vol_norm": 1.6, "cooldown_minutes": 60, "max_open_positions": 1, "max_position_pct": 15}


def _momentum_run(session, settings) -> int:
    """A logistic model over the real features that buys after up-bars."""
    import numpy as np

    n = len(FEATURE_COLUMNS)
    coef = np.zeros(n)
    coef[FEATURE_COLUMNS.index("ret_1")] = 1500.0
    predictor = LinearPredictor(FEATURE_COLUMNS, np.zeros(n), np.zeros(n), np.ones(n), coef, 0.0)
    run = register_run(session, settings, predictor=predictor, threshold=0.5, exchange="bybit", **PAIR)
    return int(run.id)


@pytest.fixture
def world(session, peer_settings, frozen_clock):
    """A fixed run recorded now, then two days of BTC and ETH bars after it."""
    registry.MODEL_CACHE.clear()
    run_id = _momentum_run(session, peer_settings)
    created = frozen_clock.now()
    frozen_clock.advance(days=2)
    for symbol in ("BTC/USDT", "ETH/USDT"):
        market.fetch_prices(
            session, settings=peer_settings, exchange="bybit", symbol=symbol, timeframe="15m",
            limit=WARMUP_BARS + 200,
        )  # fmt: skip
    session.commit()
    return {"run_id": run_id, "start": created, "end": frozen_clock.now() - 2 * STEP}


@pytest.fixture
def api(peer_settings, database):
    with TestClient(create_app(peer_settings, database=database)) as client:
        yield client


def _body(world, **extra):
    return {
        "pairs": [PAIR, {**PAIR, "symbol": "ETH/USDT"}],
        "start": world["start"].isoformat(),
        "end": world["end"].isoformat(),
        "mode": "fixed",
        "run_id": world["run_id"],
        "n_jobs": 1,
        "broker": {"exit_after_horizon": True},
    } | extra


def test_post_replay_runs_the_job_and_answers_metrics_curve_trades_and_vetoes(api, world, database) -> None:
    response = api.post("/replay", json=_body(world, risk_policy=STRICT))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded" and body["mode"] == "fixed"
    metrics = body["metrics"]
    assert metrics["trades"] == body["trades_total"] == len(body["trades"]) > 0
    assert metrics["vetoes"] == body["vetoes_total"] > 0
    assert {"total_return", "sharpe", "max_drawdown", "win_rate", "exposure", "buy_and_hold_return"} <= set(
        metrics
    )
    assert body["curve_points_total"] == 2 * 96 - 1 and len(body["curve"]) == body["curve_points_total"]
    assert body["curve"][-1]["equity"] == pytest.approx(metrics["final_equity"])
    # Buy-and-hold at every close, ending at the figure; no what-if, no second curve.
    hold = [point["buy_and_hold"] for point in body["curve"]]
    assert hold[-1] == pytest.approx(metrics["initial_equity"] * (1 + metrics["buy_and_hold_return"]))
    assert len(set(hold)) > 10 and body["what_if_curve"] == []
    assert {v["filters"].split(",")[0] for v in body["vetoes"]} <= set(STRICT) | {"max_open_positions"}
    assert body["params"]["risk_policy"]["max_open_positions"] == 1  # what was used is stored
    assert set(body["files"]) >= {"curve", "trades", "decisions", "vetoes"}
    with database.session(write=False) as session:
        [run] = recent_runs(session)
    assert (run.job, run.source, run.status, run.id) == ("replay", "api", "ok", body["job_run_id"])
    # Nothing live was touched: no signal events, no paper orders.
    assert api.get("/signals/recent").json() == [] and api.get("/trade/orders").json() == []

    paged = api.get(f"/replays/{body['id']}", params={"limit": 1, "offset": 1, "curve_points": 10}).json()
    assert paged["trades"] == body["trades"][1:2] and len(paged["curve"]) == 10
    assert paged["curve"][-1] == body["curve"][-1]
    assert [r["id"] for r in api.get("/replays").json()] == [body["id"]]


def test_the_what_if_shows_which_buys_each_policy_blocked_and_what_they_earned(api, world) -> None:
    body = _body(world, risk_policy=STRICT, compare={"risk_policy": {"enabled": False}})
    replay = api.post("/replay", json=body).json()
    what_if = replay["what_if"]
    assert what_if["b"]["vetoes"] == 0 and what_if["blocked_only_by_b"]["count"] == 0
    blocked = what_if["blocked_only_by_a"]
    assert blocked["count"] > 0
    rows = [row for row in what_if["blocked"] if row["blocked_by"] == "a"]
    earned = [row["forward_return"] for row in rows if row["forward_return"] is not None]
    assert len(rows) == blocked["count"] and blocked["forward_return_sum"] == pytest.approx(sum(earned))
    assert what_if["total_return_difference"] == pytest.approx(
        replay["metrics"]["total_return"] - what_if["b"]["total_return"]
    )
    # Side B's own curve, at the same closes, with the same buy-and-hold.
    side_b = replay["what_if_curve"]
    assert [p["time"] for p in side_b] == [p["time"] for p in replay["curve"]]
    assert side_b[-1]["equity"] == pytest.approx(what_if["b"]["final_equity"])
    assert [p["buy_and_hold"] for p in side_b] == [p["buy_and_hold"] for p in replay["curve"]]
    thinned = api.get(f"/replays/{replay['id']}", params={"curve_points": 7}).json()
    assert len(thinned["what_if_curve"]) == 7 and thinned["what_if_curve"][-1] == side_b[-1]


def test_wait_false_answers_202_with_the_replay_id_and_the_replay_finishes(api, world) -> None:
    response = api.post("/replay", json=_body(world, wait=False))
    assert response.status_code == 202
    replay_id = response.json()["replay_id"]
    for _ in range(600):
        status = api.get(f"/replays/{replay_id}").json()["status"]
        if status in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert status == "succeeded"


def test_a_second_replay_while_one_runs_is_a_409_and_leaves_no_row(api, world) -> None:
    lock = api.app.state.job_locks.for_job("replay")
    assert lock.acquire()
    try:
        response = api.post("/replay", json=_body(world))
    finally:
        lock.release()
    assert response.status_code == 409
    assert api.get("/replays").json() == []


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        ({"start": "2026-02-01T00:00:00Z", "end": "2026-01-20T00:00:00Z"}, 422, "start"),
        ({"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"}, 422, "start"),
        ({"pairs": [{"symbol": f"C{i}/USDT"} for i in range(101)]}, 422, "pairs"),
        ({"run_id": 999_999}, 404, "run_id"),
        ({"risk_policy": {"max_vol_norm": -1}}, 422, "risk_policy.max_vol_norm"),
        ({"risk_policy": {"cooldown": 5}}, 422, "risk_policy.cooldown"),
        ({"compare": {}}, 422, "compare"),
        ({"mode": "walk_forward"}, 422, "run_id"),
        ({"pairs": [{"symbol": "BTC/USDT", "timeframe": "7m"}]}, 422, "pairs.0.timeframe"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(api, world, change, status, named) -> None:
    response = api.post("/replay", json=_body(world) | change)
    assert response.status_code == status, response.text
    assert named in response.text
    assert api.get("/replays").json() == []


def test_a_fixed_run_is_refused_on_bars_before_it_was_recorded(api, world) -> None:
    early = world["start"] - 8 * STEP
    response = api.post("/replay", json=_body(world, start=early.isoformat()))
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "start" and body["first_allowed_bar"] == world["start"].isoformat()


def test_unknown_replay_is_a_404(api) -> None:
    assert api.get("/replays/12345").status_code == 404


def test_the_cli_replays_through_the_runner(cli_env_with_exchange, world, database) -> None:
    args = [
        "replay",
        "-s",
        "BTC/USDT",
        "--timeframe",
        "15m",
        "--horizon-steps",
        str(HORIZON),
        "--mode",
        "fixed",
    ]
    args += ["--run-id", str(world["run_id"]), "--start", world["start"].isoformat(), "--n-jobs", "1"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert "details: GET /replays/1" in result.output
    with database.session(write=False) as session:
        [run] = recent_runs(session)
    assert (run.job, run.source, run.status) == ("replay", "cli", "ok")
    assert run.stats["metrics"]["trades"] >= 0 and run.stats["replay_id"] >= 1
