"""Replays as records: validate and queue a request (every default resolved and stored), list them,
read one back with its curve, trades and vetoes. Running them is `replay.engine`'s.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, InvalidInput, NotFound
from myassistant.market import service as market
from myassistant.market.logic import Pair, timeframe_delta
from myassistant.market.schemas import pair_with_defaults
from myassistant.ml import registry
from myassistant.ml.health import get_policy
from myassistant.ml.tables import ModelRun
from myassistant.replay.schemas import ReplayPairIn, ReplayRead, ReplaySpec, ReplaySummary
from myassistant.replay.tables import Replay
from myassistant.signals import policy as risk_policy
from myassistant.trading.service import broker_settings

if TYPE_CHECKING:  # pandas and numpy load with the first replay read, not when the service starts
    import pandas as pd


logger = logging.getLogger("myassistant.replay")
JOB = "replay"
REPLAYS_SUBDIR = "replays"
DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW_BARS = 400_000  # per pair: about 11 years of 15m bars
QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
MAX_ERROR_LENGTH = 2000


# --- queue: validate the request and resolve every default --------------------------------------------


def queue(session: Session, *, settings: Settings, spec: ReplaySpec) -> ReplaySummary:
    """Check the request (4xx naming the field) and store it as a queued replay with its defaults resolved."""
    params = resolve(session, settings=settings, spec=spec)
    row = Replay(status=QUEUED, mode=spec.mode, params=params, metrics={}, error=None, created_at=clock.now())
    session.add(row)
    session.flush()
    return ReplaySummary.model_validate(row)


def resolve(session: Session, *, settings: Settings, spec: ReplaySpec) -> dict[str, Any]:
    """The replay's parameters with every default filled in from the settings and the stored config."""
    pairs = _pairs(session, settings, spec.pairs)
    end = spec.end or _newest_bar(session, pairs)
    start = spec.start or end - DEFAULT_WINDOW
    if start > end:
        raise InvalidInput(f"start ({start.isoformat()}) is after end ({end.isoformat()})", field="start")
    for pair in pairs:
        _check_window(session, pair, start, end)
    model_policy = get_policy(session)
    if spec.mode == "fixed":
        assert spec.run_id is not None  # the schema requires it
        _check_fixed_run(session, spec.run_id, pairs, start)
    return {
        "pairs": [pair.__dict__ for pair in pairs],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "mode": spec.mode,
        "run_id": spec.run_id,
        "retrain_every_days": spec.retrain_every_days or model_policy.max_age_days,
        "train_bars": spec.train_bars or model_policy.train_bars,
        "model_policy": model_policy.model_dump(mode="json"),
        "risk_policy": (spec.risk_policy or risk_policy.current(session)).model_dump(mode="json"),
        "broker": (spec.broker or broker_settings(session)).model_dump(mode="json"),
        "compare": spec.compare.model_dump(mode="json", exclude_none=True) if spec.compare else None,
        "n_jobs": spec.n_jobs,
    }


def _pairs(session: Session, settings: Settings, asked: list[ReplayPairIn] | None) -> list[Pair]:
    if asked is None:
        pairs = market.pairs_for_jobs(session, settings=settings)
        if not pairs:
            raise InvalidInput("pairs: the watchlist is empty; name the pairs to replay", field="pairs")
        return pairs
    resolved: list[Pair] = []
    for index, entry in enumerate(asked):
        try:
            pair = pair_with_defaults(
                settings,
                exchange=entry.exchange,
                symbol=entry.symbol,
                timeframe=entry.timeframe,
                horizon_steps=entry.horizon_steps,
            )
        except DomainError as exc:
            raise InvalidInput(f"pairs[{index}]: {exc.detail}", field=f"pairs.{index}") from None
        if pair in resolved:
            raise InvalidInput(f"pairs[{index}]: {pair.symbol} is listed twice", field=f"pairs.{index}")
        resolved.append(pair)
    return resolved


def _newest_bar(session: Session, pairs: Sequence[Pair]) -> datetime:
    newest = [
        bar.ts
        for pair in pairs
        if (
            bar := market.latest_bar(
                session, exchange=pair.exchange, symbol=pair.symbol, timeframe=pair.timeframe
            )
        )
    ]
    if not newest:
        raise InvalidInput("end: no prices are stored for any of the pairs; fetch prices first", field="end")
    return max(newest)


def _check_window(session: Session, pair: Pair, start: datetime, end: datetime) -> None:
    step = timeframe_delta(pair.timeframe)
    if (end - start) / step > MAX_WINDOW_BARS:
        raise InvalidInput(
            f"start: the window holds more than {MAX_WINDOW_BARS} {pair.timeframe} bars; "
            "replay a shorter one",
            field="start",
        )
    found = market.load_prices(
        session,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
        start=start,
        end=end,
        limit=1,
    )
    if found.empty:
        raise InvalidInput(
            f"start: no prices stored for {pair.exchange} {pair.symbol} {pair.timeframe} between "
            f"{start.isoformat()} and {end.isoformat()}; fetch them first or choose another window",
            field="start",
        )


def first_allowed_bar(run: ModelRun) -> datetime:
    """The first bar a recorded run may decide: after every bar it trained, validated or chose its
    threshold on (the validation rows' labels reach `horizon_steps + 1` bars further)."""
    import pandas as pd

    step = timeframe_delta(run.timeframe)
    split = (run.metrics or {}).get("split", {})
    if "validation" in split:
        seen: datetime = pd.Timestamp(split["validation"]["end"]).to_pydatetime()
        return seen + step * (run.horizon_steps + 1)
    if run.data_end is not None:
        return run.data_end + step * (run.horizon_steps + 1)
    # A run that records no data: it cannot have seen a bar that opened after it was created.
    return run.created_at


def _check_fixed_run(session: Session, run_id: int, pairs: Sequence[Pair], start: datetime) -> None:
    run = session.get(ModelRun, run_id)
    if run is None:
        raise NotFound(f"run_id: model run {run_id} not found", field="run_id")
    if run.status != registry.SUCCEEDED:
        raise InvalidInput(
            f"run_id: run {run_id} failed ({run.error}); replay a successful run", field="run_id"
        )
    shape = (run.timeframe, run.horizon_steps)
    other = [p.symbol for p in pairs if (p.timeframe, p.horizon_steps) != shape]
    if other:
        raise InvalidInput(
            f"run_id: run {run_id} predicts {run.timeframe} h{run.horizon_steps}; {other} do not",
            field="run_id",
        )
    allowed = first_allowed_bar(run)
    if start < allowed:
        raise InvalidInput(
            f"start: run {run_id} trained, validated or chose its threshold on bars before "
            f"{allowed.isoformat()}; the first bar it may replay is {allowed.isoformat()}",
            field="start",
            first_allowed_bar=allowed.isoformat(),
        )


def replay_dir(settings: Settings, replay_id: int) -> Path:
    return Path(settings.artifacts_dir) / REPLAYS_SUBDIR / str(replay_id)


# --- reads ----------------------------------------------------------------------------------------------


def stored(session: Session, replay_id: int) -> Replay:
    row = session.get(Replay, replay_id)
    if row is None:
        raise NotFound(f"replay {replay_id} not found")
    return row


def list_(session: Session, *, limit: int = 50) -> list[ReplaySummary]:
    query = select(Replay).order_by(Replay.id.desc()).limit(limit)
    return [ReplaySummary.model_validate(row) for row in session.scalars(query)]


def discard(session: Session, *, replay_id: int) -> None:
    """Forget a queued replay that could not start (the job was already running)."""
    row = session.get(Replay, replay_id)
    if row is not None and row.status == QUEUED:
        session.delete(row)


def get(
    session: Session,
    *,
    settings: Settings,
    replay_id: int,
    limit: int = 200,
    offset: int = 0,
    curve_points: int = 500,
) -> ReplayRead:
    """A replay with its results: the curve thinned to `curve_points`, trades and vetoes paged."""
    import pandas as pd

    row = stored(session, replay_id)
    summary = ReplaySummary.model_validate(row).model_dump()
    folder = replay_dir(settings, replay_id)
    if row.status != SUCCEEDED or not folder.is_dir():
        return ReplayRead(**summary)
    curve = pd.read_parquet(folder / "curve.parquet")
    trades = pd.read_parquet(folder / "trades.parquet")
    vetoes = pd.read_parquet(folder / "vetoes.parquet")
    models = pd.read_parquet(folder / "models.parquet")
    what_if = row.metrics.get("what_if")
    what_if_curve: list[dict[str, Any]] = []
    if what_if is not None and (folder / "what_if.parquet").exists():
        blocked = pd.read_parquet(folder / "what_if.parquet")
        what_if = what_if | {"blocked": _records(blocked.iloc[offset : offset + limit])}
        what_if_curve = _records(_thin(pd.read_parquet(folder / "b_curve.parquet"), curve_points))
    return ReplayRead.model_validate(
        summary
        | {
            "curve": _records(_thin(curve, curve_points)),
            "curve_points_total": len(curve),
            "trades": _records(trades.iloc[offset : offset + limit]),
            "trades_total": len(trades),
            "vetoes": _records(vetoes.iloc[offset : offset + limit]),
            "vetoes_total": len(vetoes),
            "open_positions": row.metrics.get("open_positions_at_end", []),
            "models": _records(models.iloc[:limit]),
            "what_if": what_if,
            "what_if_curve": what_if_curve,
            "files": {
                path.stem: (Path(REPLAYS_SUBDIR) / str(replay_id) / path.name).as_posix()
                for path in sorted(folder.glob("*.parquet"))
            },
        }
    )


def _thin(frame: pd.DataFrame, points: int) -> pd.DataFrame:
    """At most `points` rows, evenly spread, always keeping the last."""
    import numpy as np

    if len(frame) <= points:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, points).round().astype(np.int64))
    return frame.iloc[keep]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    import pandas as pd

    out = frame.astype(object).where(frame.notna(), None)
    return [
        {
            k: (v.isoformat() if isinstance(v, pd.Timestamp | datetime) else json_safe(v))
            for k, v in row.items()
        }
        for row in out.to_dict(orient="records")
    ]


def json_safe(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, NaN and infinities to None."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
