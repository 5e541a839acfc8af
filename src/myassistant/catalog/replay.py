"""The replay as an action of the jobs runner (POST /replay, POST /automation/run, the CLI)."""

from __future__ import annotations

from typing import Any

from myassistant.jobs.runner import JobContext, parse_params
from myassistant.replay.schemas import ReplayJobParams, ReplaySpec


def replay(context: JobContext) -> dict[str, Any]:
    """Run the replay POST /replay queued (params `{"replay_id": n}`), or queue and run a spec."""
    from myassistant.replay import engine

    params = parse_params(ReplayJobParams, context.params)
    if params.replay_id is not None:
        done = engine.run_queued(
            context.database,
            settings=context.settings,
            replay_id=params.replay_id,
            job_run_id=context.run_id,
            progress=context.progress,
        )
    else:
        spec = ReplaySpec.model_validate(params.model_dump(exclude={"replay_id"}, exclude_unset=True))
        done = engine.run_spec(
            context.database,
            settings=context.settings,
            spec=spec,
            job_run_id=context.run_id,
            progress=context.progress,
        )
    return {"replay_id": done.id, "status": done.status, "metrics": _headline(done.metrics)}


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """What a job_runs row keeps: the figures, not the per-pair details."""
    keys = ("total_return", "sharpe", "max_drawdown", "win_rate", "trades", "exposure", "buy_and_hold_return")
    return {key: metrics.get(key) for key in (*keys, "oos_auc", "vetoes")}
