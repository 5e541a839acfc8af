"""`myassistant build-dataset`, `train` and `train-missing` against the exchange peer, via the jobs runner."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from myassistant.cli import app
from myassistant.core import configdocs
from myassistant.core.locks import held_lock, lock_dir_for, named_lock
from myassistant.jobs.runner import JobLocks
from myassistant.jobs.tables import JobRun
from myassistant.market import service as market
from myassistant.market.schemas import WatchlistEntryIn
from myassistant.ml import registry
from myassistant.ml.policy import MODEL_POLICY
from myassistant.ml.tables import DatasetArtifact, ModelRun

runner = CliRunner()
PAIR_ARGS = ["--symbol", "BTC/USDT", "--timeframe", "1h", "--horizon-steps", "4"]


@pytest.fixture
def cli_env(monkeypatch, database, database_url, exchange_url, tmp_path, frozen_clock, settings):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("EXCHANGE_API_OVERRIDE", exchange_url)
    monkeypatch.setenv("ARTIFACTS_DIR", str(settings.artifacts_dir))
    monkeypatch.delenv("API_TOKEN", raising=False)
    with database.session() as session:
        configdocs.patch(session, MODEL_POLICY, {"train_bars": 1000, "retrain_if_auc_below": 0.0})
    registry.MODEL_CACHE.clear()
    yield database
    registry.MODEL_CACHE.clear()


def _job_runs(database) -> list[tuple[str, str, str]]:
    with database.session(write=False) as session:
        return [(r.job, r.source, r.status) for r in session.scalars(select(JobRun).order_by(JobRun.id))]


def test_train_then_build_dataset_then_train_missing_are_recorded_job_runs(cli_env, settings) -> None:
    database = cli_env
    trained = runner.invoke(app, ["train", *PAIR_ARGS])
    assert trained.exit_code == 0, trained.output
    assert "promoted: no promoted model" in trained.output and "2584/2584 bars stored" in trained.output
    built = runner.invoke(app, ["build-dataset", *PAIR_ARGS, "--bars", "500"])
    assert built.exit_code == 0, built.output
    assert "build-dataset" in built.output and "500" in built.output and ".parquet" in built.output
    with database.session() as session:
        market.add_to_watchlist(
            session,
            settings=settings,
            entries=[WatchlistEntryIn(exchange="bybit", symbol="BTC/USDT", timeframe="1h", horizon_steps=4)],
        )
    missing = runner.invoke(app, ["train-missing", "--no-fetch"])
    assert missing.exit_code == 0, missing.output
    assert "0 trained, 1 skipped, 0 failed" in missing.output
    assert _job_runs(database) == [
        ("train", "cli", "ok"),
        ("build_dataset", "cli", "ok"),
        ("train_missing", "cli", "ok"),
    ]
    with database.session(write=False) as session:
        [run] = session.scalars(select(ModelRun)).all()
        assert run.source == "cli" and session.scalars(select(DatasetArtifact)).one().rows == 500


def test_a_failing_train_exits_non_zero_with_the_reason_and_keeps_the_failed_run(cli_env) -> None:
    database = cli_env
    result = runner.invoke(app, ["train", *PAIR_ARGS, "--no-fetch"])
    assert result.exit_code == 1
    assert "no prices stored for bybit BTC/USDT 1h" in result.output
    assert _job_runs(database) == [("train", "cli", "error")]
    with database.session(write=False) as session:
        assert session.scalars(select(ModelRun.status)).all() == ["failed"]


def test_a_cli_run_never_overlaps_the_same_job_running_elsewhere(cli_env, settings) -> None:
    database = cli_env
    lock = JobLocks(database, settings).for_job("train", "bybit:BTC/USDT:1h:4")  # one lock per pair
    with held_lock(lock) as got:
        assert got
        result = runner.invoke(app, ["train", *PAIR_ARGS])
    assert result.exit_code == 1 and "already running" in result.output
    training = named_lock(database, "ml-training", lock_dir=lock_dir_for(database, settings.artifacts_dir))
    with held_lock(training):
        result = runner.invoke(app, ["train-missing"])
    assert result.exit_code == 1 and "already running" in " ".join(result.output.split())
