"""First run: a watchlist that was never set is discovered once, in the background, as a job run."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import select

from myassistant.catalog.first_run import FIRST_RUN_SOURCE, discover_on_first_run
from myassistant.jobs.runner import JobLocks
from myassistant.jobs.tables import JobRun
from myassistant.market import service as market
from myassistant.market.schemas import WatchlistEntryIn
from myassistant.peers.server import free_port
from tests.fixtures.cli_process import serving_cli


def _runs(database) -> list[JobRun]:
    with database.session(write=False) as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_a_watchlist_never_set_is_discovered_once_as_a_startup_run(
    database, peer_settings, frozen_clock
) -> None:
    outcome = discover_on_first_run(database, peer_settings, JobLocks(database, peer_settings))
    assert outcome is not None and outcome.status == "ok" and outcome.stats["discovered"] == 20
    with database.session(write=False) as session:
        assert [e.symbol for e in market.list_watchlist(session)][:2] == ["ADA/USDT", "APT/USDT"]
        assert len(market.list_watchlist(session)) == 20
    [run] = _runs(database)
    assert (run.job, run.source, run.status) == ("discover_watchlist", FIRST_RUN_SOURCE, "ok")
    assert discover_on_first_run(database, peer_settings, JobLocks(database, peer_settings)) is None
    assert len(_runs(database)) == 1


def test_a_watchlist_emptied_on_purpose_is_not_rediscovered(database, peer_settings) -> None:
    with database.session() as session:
        market.add_to_watchlist(
            session, settings=peer_settings, entries=[WatchlistEntryIn(symbol="BTC/USDT")]
        )
        market.remove_from_watchlist(session, settings=peer_settings, exchange=None, symbols=["BTC/USDT"])
        assert market.list_watchlist(session) == []
        assert not market.watchlist_never_set(session)
    assert discover_on_first_run(database, peer_settings, JobLocks(database, peer_settings)) is None
    assert _runs(database) == []


def test_an_empty_replace_counts_as_set(database, peer_settings) -> None:
    with database.session() as session:
        assert market.watchlist_never_set(session)
        market.replace_watchlist(session, settings=peer_settings, entries=[])
        assert not market.watchlist_never_set(session)


def test_a_discovery_running_in_another_replica_is_not_doubled(database, peer_settings) -> None:
    other_replica = JobLocks(database, peer_settings)
    held = other_replica.for_job("discover_watchlist")
    assert held.acquire()
    try:
        assert discover_on_first_run(database, peer_settings, JobLocks(database, peer_settings)) is None
    finally:
        held.release()
    assert _runs(database) == []


def test_two_replicas_starting_together_discover_once(database, peer_settings) -> None:
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def replica() -> None:
        locks = JobLocks(database, peer_settings)
        start.wait()
        outcomes.append(discover_on_first_run(database, peer_settings, locks))

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert [(run.job, run.status) for run in _runs(database)] == [("discover_watchlist", "ok")]


@pytest.mark.slow
def test_a_fresh_install_serving_against_the_exchange_peer_discovers_within_a_minute(
    tmp_path, exchange_url
) -> None:
    port = free_port()
    env = {"PORT": str(port), "EXCHANGE_API_OVERRIDE": exchange_url}
    with serving_cli("serve", port=port, cwd=tmp_path, env=env) as server:
        deadline = time.monotonic() + 60
        watchlist: list[dict[str, object]] = []
        while not watchlist and time.monotonic() < deadline:
            time.sleep(0.5)
            watchlist = httpx.get(f"{server.base_url}/watchlist").json()
        assert len(watchlist) == 20 and {e["source"] for e in watchlist} == {"discover"}
        [run] = httpx.get(f"{server.base_url}/automation/runs", params={"job": "discover_watchlist"}).json()
        assert (run["source"], run["status"]) == (FIRST_RUN_SOURCE, "ok")
