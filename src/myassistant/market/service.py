"""Prices (incremental fetch, gap backfill, bulk upsert, reads into pandas) and the watchlist.

Fetching never holds a database write transaction across network I/O: the plan is read and the
transaction closed before the first request, and each downloaded page is stored and committed on
its own, so a crash or a failing exchange keeps every page already stored and a rerun resumes.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import ScalarSelect, delete, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.db import insert_ignoring_conflicts
from myassistant.core.errors import DomainError, InvalidInput, NotFound
from myassistant.market import logic, store
from myassistant.market.exchange import CLIENTS, ExchangeClients
from myassistant.market.logic import Pair, Series
from myassistant.market.schemas import (
    Bar,
    DiscoveredPair,
    DiscoverResult,
    FetchPricesResult,
    PricesFetchRequest,
    PricesFetchResponse,
    PricesLatest,
    SnapshotRead,
    WatchlistChange,
    WatchlistEntryIn,
    WatchlistEntryRead,
)
from myassistant.market.tables import Instrument, Price, WatchlistEntry, WatchlistSnapshot

if TYPE_CHECKING:  # pandas loads with the first price read, not when the service starts
    import pandas as pd


logger = logging.getLogger("myassistant.market")

PRICE_COLUMNS = ["open", "high", "low", "close", "volume"]
MAX_GAP_RANGES = 50  # per fetch: a series with more holes is repaired over several runs


# --- series validation ---------------------------------------------------------------------------


def _validated(exchange: str, symbol: str, timeframe: str) -> Series:
    try:
        logic.timeframe_ms(timeframe)
        return Series(logic.normalise_exchange(exchange), logic.normalise_symbol(symbol), timeframe)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _check_window(since: datetime | None, limit: int | None) -> None:
    try:
        since = None if since is None else clock.ensure_utc(since)
    except ValueError as exc:  # no UTC equivalent
        raise InvalidInput(f"since: {exc}") from None
    if since is not None and since < logic.EARLIEST:
        raise InvalidInput(f"since must be on or after {logic.EARLIEST.date().isoformat()}")
    if limit is not None and not 1 <= limit <= logic.MAX_BARS_PER_FETCH:
        raise InvalidInput(f"limit must be between 1 and {logic.MAX_BARS_PER_FETCH}")


# --- instruments ----------------------------------------------------------------------------------


def instrument_id(
    session: Session, *, exchange: str, symbol: str, timeframe: str, create: bool = False
) -> int | None:
    """Id of the series, created on demand when `create`."""
    query = select(Instrument.id).where(
        Instrument.exchange == exchange, Instrument.symbol == symbol, Instrument.timeframe == timeframe
    )
    found = session.execute(query).scalar_one_or_none()
    if found is not None or not create:
        return found
    session.execute(
        insert_ignoring_conflicts(session, Instrument.__table__).values(
            exchange=exchange, symbol=symbol, timeframe=timeframe, created_at=clock.now()
        )
    )
    return int(session.execute(query).scalar_one())


def _series_state(
    session: Session, series: int | ScalarSelect[int], start_ms: int | None = None
) -> tuple[int, int | None, int | None]:
    """Count, first and last open time (ms) of the bars of `series` (an instrument id, or a query
    for one) stored at or after `start_ms`; one index range scan."""
    query = select(func.count(), func.min(Price.ts), func.max(Price.ts)).where(Price.instrument_id == series)
    if start_ms is not None:
        query = query.where(Price.ts >= start_ms)
    row = session.execute(query).one()
    return int(row[0]), row[1], row[2]


def _last_ts(session: Session, iid: int) -> int | None:
    last: int | None = session.execute(
        select(func.max(Price.ts)).where(Price.instrument_id == iid)
    ).scalar_one()
    return last


def stored_span(
    session: Session, *, exchange: str, symbol: str, timeframe: str, start: datetime
) -> tuple[int, datetime | None]:
    """How many bars of the series are stored with open time at or after `start`, and the first
    one's open time (None when there are none); one query."""
    key = _validated(exchange, symbol, timeframe)
    series = (
        select(Instrument.id)
        .where(
            Instrument.exchange == key.exchange,
            Instrument.symbol == key.symbol,
            Instrument.timeframe == key.timeframe,
        )
        .scalar_subquery()
    )
    count, first, _ = _series_state(session, series, logic.to_ms(start))
    return count, None if first is None else logic.from_ms(first)


def _gaps(session: Session, iid: int, timeframe: str) -> tuple[int | None, list[logic.Gap]]:
    """Last stored open time and the holes before it (counted cheaply, located only when present)."""
    count, first, last = _series_state(session, iid)
    if first is None or last is None or count == logic.expected_bars(first, last, timeframe):
        return last, []
    return last, logic.find_gaps(store.stored_ts(session, instrument_id=iid), timeframe)


# --- fetching ------------------------------------------------------------------------------------


@dataclass
class _Job:
    key: Series
    iid: int
    plan: logic.FetchPlan
    now_ms: int
    tail_start: int
    result: FetchPricesResult


def _check_pairs(
    session: Session, settings: Settings, keys: Sequence[Series]
) -> list[tuple[Series, Series | DomainError]]:
    """Each key with its validated form, or why it is refused; the exchange is asked about each pair
    (which may load its markets over the network) with the session's transaction committed first,
    so no write lock is held meanwhile."""
    session.commit()
    checked: list[tuple[Series, Series | DomainError]] = []
    for key in keys:
        try:
            valid = _validated(key.exchange, key.symbol, key.timeframe)
            CLIENTS.check_pair(settings, valid.exchange, valid.symbol, valid.timeframe)
            checked.append((key, valid))
        except DomainError as exc:
            checked.append((key, exc))
    return checked


def _plan(session: Session, key: Series, since: datetime | None, limit: int | None) -> _Job:
    """Read what is stored of a checked pair and plan its download (a short transaction)."""
    iid = instrument_id(
        session, exchange=key.exchange, symbol=key.symbol, timeframe=key.timeframe, create=True
    )
    assert iid is not None
    last, gaps = _gaps(session, iid, key.timeframe)
    now_ms = logic.to_ms(clock.now())
    plan = logic.plan_fetch(
        timeframe=key.timeframe,
        now_ms=now_ms,
        last_stored=last,
        gaps=gaps[-MAX_GAP_RANGES:],
        since_ms=None if since is None else logic.to_ms(since),
        limit=limit,
    )
    tail_start = plan.tail[0] if plan.tail else 2**62
    result = FetchPricesResult(
        exchange=key.exchange, symbol=key.symbol, timeframe=key.timeframe, gaps_found=len(gaps)
    )
    return _Job(key=key, iid=iid, plan=plan, now_ms=now_ms, tail_start=tail_start, result=result)


def _store_page(session: Session, job: _Job, page: np.ndarray) -> None:
    """Store the closed bars of one downloaded page and commit them."""
    job.result.pages += 1
    closed = page[logic.closed_mask(page[:, 0].astype(np.int64), job.key.timeframe, job.now_ms)]
    if not len(closed):
        return
    step = logic.timeframe_ms(job.key.timeframe)
    inserted = store.upsert_bars(session, instrument_id=job.iid, bars=closed, step_ms=step)
    session.commit()
    job.result.new_bars += inserted
    if closed[0, 0] < job.tail_start:
        job.result.backfilled_bars += inserted
    if inserted:
        first = logic.from_ms(int(closed[0, 0]))
        job.result.first_bar = min(job.result.first_bar or first, first)


def _finish(session: Session, job: _Job) -> FetchPricesResult:
    last = _last_ts(session, job.iid)
    job.result.last_bar = None if last is None else logic.from_ms(last)
    return job.result


def _pages(clients: ExchangeClients, settings: Settings, job: _Job) -> Iterable[np.ndarray]:
    return clients.ohlcv_pages(
        settings,
        exchange=job.key.exchange,
        symbol=job.key.symbol,
        timeframe=job.key.timeframe,
        ranges=job.plan.ranges,
    )


def fetch_prices(
    session: Session,
    *,
    settings: Settings,
    exchange: str,
    symbol: str,
    timeframe: str,
    since: datetime | None = None,
    limit: int | None = None,
) -> FetchPricesResult:
    """Store every closed bar not stored yet: resume after the last one, backfill holes, page to now.

    Without `since`, a first fetch takes the last `limit` (default 1000) closed bars. Exchange
    failures raise UpstreamError after retries; pages stored before the failure stay.
    """
    key = _validated(exchange, symbol, timeframe)
    _check_window(since, limit)
    session.commit()  # asking the exchange may load its markets: no write lock held meanwhile
    CLIENTS.check_pair(settings, key.exchange, key.symbol, key.timeframe)
    job = _plan(session, key, since, limit)
    session.commit()  # no write lock held while waiting on the exchange
    for page in _pages(CLIENTS, settings, job):
        _store_page(session, job, page)
    return _finish(session, job)


def fetch_many(
    session: Session,
    *,
    settings: Settings,
    pairs: Sequence[Series] | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    on_result: Callable[[FetchPricesResult], None] | None = None,
) -> list[FetchPricesResult]:
    """Fetch several pairs (default: the watchlist) concurrently; one failing pair never stops the rest.

    Downloads run in a small thread pool; pages are written here, in the caller's session, one
    commit per page.
    """
    _check_window(since, limit)
    if pairs is None:
        pairs = pairs_to_fetch(session, settings=settings)
    jobs: list[_Job] = []
    results: list[FetchPricesResult] = []
    for key, checked in _check_pairs(session, settings, pairs):
        if isinstance(checked, DomainError):
            results.append(_failed(key, checked, on_result))
        else:
            jobs.append(_plan(session, checked, since, limit))
    session.commit()
    results.extend(_download_concurrently(session, settings, jobs, on_result))
    order = {(k.exchange, k.symbol, k.timeframe): i for i, k in enumerate(pairs)}
    return sorted(results, key=lambda r: order.get((r.exchange, r.symbol, r.timeframe), 0))


def fetch_requested(
    session: Session,
    *,
    settings: Settings,
    request: PricesFetchRequest,
    per_pair_errors: bool = False,
    progress: Callable[[int, int, FetchPricesResult], None] | None = None,
) -> PricesFetchResponse:
    """What POST /prices/fetch asks for: one `symbol`, a list of `symbols` or, with neither, every
    watchlist pair; exchange and timeframe default to the settings' (a watchlist pair's own timeframe
    first).

    A single `symbol` fails by raising, as `fetch_prices` does, unless `per_pair_errors`; pairs of a
    list or the watchlist are each reported with their own error. `progress(done, total, result)` is
    called as each pair finishes.
    """
    if request.symbol is not None and not per_pair_errors:
        result = fetch_prices(
            session,
            settings=settings,
            exchange=request.exchange or settings.default_exchange,
            symbol=request.symbol,
            timeframe=request.timeframe or settings.default_timeframe,
            since=request.since,
            limit=request.limit,
        )
        if progress:
            progress(1, 1, result)
        results = [result]
    else:
        pairs = pairs_to_fetch(
            session,
            settings=settings,
            exchange=request.exchange,
            symbols=[request.symbol] if request.symbol is not None else request.symbols,
            timeframe=request.timeframe,
        )
        done = itertools.count(1)
        results = fetch_many(
            session,
            settings=settings,
            pairs=pairs,
            since=request.since,
            limit=request.limit,
            on_result=None if progress is None else lambda r: progress(next(done), len(pairs), r),
        )
    return PricesFetchResponse(
        results=results,
        new_bars=sum(r.new_bars for r in results),
        failed=sum(1 for r in results if r.error),
    )


def _failed(
    key: Series, exc: DomainError, on_result: Callable[[FetchPricesResult], None] | None
) -> FetchPricesResult:
    result = FetchPricesResult(
        exchange=key.exchange,
        symbol=key.symbol,
        timeframe=key.timeframe,
        error=exc.detail,
        status_code=exc.status_code,
    )
    if on_result:
        on_result(result)
    return result


_DONE = object()


def _download_concurrently(
    session: Session,
    settings: Settings,
    jobs: list[_Job],
    on_result: Callable[[FetchPricesResult], None] | None,
) -> list[FetchPricesResult]:
    pages: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=32)
    stop = threading.Event()

    def download(index: int) -> None:
        try:
            for page in _pages(CLIENTS, settings, jobs[index]):
                if stop.is_set():
                    return
                pages.put((index, page))
            pages.put((index, _DONE))
        except BaseException as exc:  # reported per pair by the consumer
            pages.put((index, exc))

    results: list[FetchPricesResult] = []
    workers = max(1, min(CLIENTS.options.workers, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch-prices") as pool:
        for index in range(len(jobs)):
            pool.submit(download, index)
        try:
            results = _consume(session, jobs, pages, on_result)
        except BaseException:
            stop.set()
            _drain(pages, pool)
            raise
    return results


def _consume(
    session: Session,
    jobs: list[_Job],
    pages: queue.Queue[tuple[int, object]],
    on_result: Callable[[FetchPricesResult], None] | None,
) -> list[FetchPricesResult]:
    results: list[FetchPricesResult] = []
    remaining = len(jobs)
    while remaining:
        index, item = pages.get()
        job = jobs[index]
        if isinstance(item, np.ndarray):
            _store_page(session, job, item)
            continue
        remaining -= 1
        if isinstance(item, DomainError):
            job.result.error, job.result.status_code = item.detail, item.status_code
        elif isinstance(item, BaseException):
            logger.error("fetching %s failed unexpectedly", job.key, exc_info=item)
            job.result.error, job.result.status_code = f"unexpected error: {type(item).__name__}", 500
        result = _finish(session, job)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def _drain(pages: queue.Queue[tuple[int, object]], pool: ThreadPoolExecutor) -> None:
    """Unblock producers after the consumer stopped early, so the pool can shut down."""
    done = threading.Event()

    def wait_for_pool() -> None:
        pool.shutdown(wait=True)
        done.set()

    threading.Thread(target=wait_for_pool, daemon=True).start()
    while not done.is_set():
        try:
            pages.get(timeout=0.05)
        except queue.Empty:
            continue


# --- reading -------------------------------------------------------------------------------------


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    index = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]", name="ts")
    return pd.DataFrame({name: np.empty(0) for name in PRICE_COLUMNS}, index=index)


def load_prices(
    session: Session,
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Stored bars with start <= ts <= end (bar open times, UTC) as a DataFrame.

    Index `ts` (DatetimeIndex, ns, UTC, ascending); float64 columns open, high, low, close, volume;
    `limit` keeps the last N bars of the range. Empty (same shape) when nothing is stored.
    """
    import pandas as pd

    key = _validated(exchange, symbol, timeframe)
    if limit is not None and limit < 1:
        raise InvalidInput("limit must be at least 1")
    iid = instrument_id(session, exchange=key.exchange, symbol=key.symbol, timeframe=key.timeframe)
    if iid is None:
        return _empty_frame()
    rows = store.read_bars(
        session,
        instrument_id=iid,
        start_ms=None if start is None else logic.to_ms(start),
        end_ms=None if end is None else logic.to_ms(end),
        limit=limit,
        step_ms=logic.timeframe_ms(key.timeframe),
    )
    index = pd.DatetimeIndex((rows["ts"] * 1_000_000).astype("datetime64[ns]"), name="ts").tz_localize("UTC")
    return pd.DataFrame({name: rows[name] for name in PRICE_COLUMNS}, index=index)


def latest_bar(session: Session, *, exchange: str, symbol: str, timeframe: str) -> Bar | None:
    """The newest stored (closed) bar, or None."""
    bars = latest_bars(session, exchange=exchange, symbol=symbol, timeframe=timeframe, limit=1)
    return bars[-1] if bars else None


def latest_bars(
    session: Session, *, exchange: str, symbol: str, timeframe: str, limit: int, end: datetime | None = None
) -> list[Bar]:
    """The last `limit` stored bars (opening at or before `end`, when given), oldest first."""
    frame = load_prices(session, exchange=exchange, symbol=symbol, timeframe=timeframe, end=end, limit=limit)
    return [
        Bar(ts=ts.to_pydatetime(), open=o, high=h, low=lo, close=c, volume=v)
        for ts, o, h, lo, c, v in zip(
            frame.index,
            frame["open"].tolist(),
            frame["high"].tolist(),
            frame["low"].tolist(),
            frame["close"].tolist(),
            frame["volume"].tolist(),
            strict=True,
        )
    ]


def latest_closes(
    session: Session, *, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Bar]:
    """The newest stored bar of many (exchange, symbol, timeframe) series, in two index-only queries."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    stored = aliased(Price)
    newest = select(func.max(stored.ts)).where(stored.instrument_id == Instrument.id).scalar_subquery()
    # Two steps on purpose: as one join, SQLite's planner scans all of `prices` instead of seeking.
    series = session.execute(
        select(
            Instrument.id, Instrument.exchange, Instrument.symbol, Instrument.timeframe, newest.label("ts")
        ).where(tuple_(Instrument.exchange, Instrument.symbol, Instrument.timeframe).in_(wanted))
    ).all()
    located = {
        (row.id, row.ts): (row.exchange, row.symbol, row.timeframe) for row in series if row.ts is not None
    }
    if not located:
        return {}
    ids, times = {iid for iid, _ in located}, {ts for _, ts in located}
    # Two plain IN lists seek the primary key; a row-value IN would make SQLite scan the table.
    rows = session.execute(
        select(
            Price.instrument_id, Price.ts, Price.open, Price.high, Price.low, Price.close, Price.volume
        ).where(Price.instrument_id.in_(ids), Price.ts.in_(times))
    )
    return {
        located[(row.instrument_id, row.ts)]: Bar(
            ts=logic.from_ms(row.ts),
            open=row.open,
            high=row.high,
            low=row.low,
            close=row.close,
            volume=row.volume,
        )
        for row in rows
        if (row.instrument_id, row.ts) in located
    }


def latest_prices(
    session: Session,
    *,
    settings: Settings,
    symbol: str,
    exchange: str | None = None,
    timeframe: str | None = None,
    limit: int,
    end: datetime | None = None,
) -> PricesLatest:
    """Like `latest_bars` (exchange and timeframe default to the settings'), but 404 with a hint when
    nothing is stored."""
    exchange = exchange or settings.default_exchange
    timeframe = timeframe or settings.default_timeframe
    bars = latest_bars(session, exchange=exchange, symbol=symbol, timeframe=timeframe, limit=limit, end=end)
    if not bars:
        until = f" opening at or before {end.isoformat()}" if end is not None else ""
        raise NotFound(
            f"no prices stored for {exchange} {symbol} {timeframe}{until}; fetch them first with "
            "POST /prices/fetch"
        )
    return PricesLatest(exchange=exchange, symbol=symbol, timeframe=timeframe, bars=bars)


# --- watchlist -----------------------------------------------------------------------------------


def _entries(session: Session, exchange: str | None = None) -> list[WatchlistEntry]:
    query = select(WatchlistEntry).order_by(WatchlistEntry.exchange, WatchlistEntry.symbol)
    if exchange is not None:
        query = query.where(WatchlistEntry.exchange == exchange)
    return list(session.scalars(query))


def list_watchlist(session: Session) -> list[WatchlistEntryRead]:
    return [WatchlistEntryRead.model_validate(row) for row in _entries(session)]


def watchlist_never_set(session: Session) -> bool:
    """No entry and no snapshot ever: nobody (user or discovery) has set the list yet.

    Every change that leaves a list behind (discover, add, replace, remove) records a snapshot, so a
    list the user emptied on purpose has one and counts as set.
    """
    has_entry = session.scalar(select(WatchlistEntry.id).limit(1)) is not None
    return not has_entry and session.scalar(select(WatchlistSnapshot.id).limit(1)) is None


def pairs_for_jobs(session: Session, *, settings: Settings) -> list[Pair]:
    """(exchange, symbol, timeframe, horizon_steps) for every watchlist entry, defaults filled in."""
    return [
        Pair(
            exchange=row.exchange,
            symbol=row.symbol,
            timeframe=row.timeframe or settings.default_timeframe,
            horizon_steps=row.horizon_steps or settings.default_horizon_steps,
        )
        for row in _entries(session)
    ]


def pairs_to_fetch(
    session: Session,
    *,
    settings: Settings,
    exchange: str | None = None,
    symbols: Sequence[str] | None = None,
    timeframe: str | None = None,
) -> list[Series]:
    """`symbols` (exchange and timeframe defaulting to the settings'), else the watchlist's pairs,
    narrowed to `exchange` and at `timeframe` when given."""
    if symbols is not None:
        exchange = exchange or settings.default_exchange
        return [Series(exchange, symbol, timeframe or settings.default_timeframe) for symbol in symbols]
    return [
        Series(p.exchange, p.symbol, timeframe or p.timeframe)
        for p in pairs_for_jobs(session, settings=settings)
        if exchange is None or p.exchange == exchange
    ]


def _snapshot(session: Session, *, trigger: str, params: dict[str, object]) -> int:
    entries = [entry.model_dump(mode="json") for entry in list_watchlist(session)]
    row = WatchlistSnapshot(taken_at=clock.now(), trigger=trigger, params=params, entries=entries)
    session.add(row)
    session.flush()
    return row.id


def _upsert_manual(session: Session, settings: Settings, entry: WatchlistEntryIn, now: datetime) -> bool:
    """Add or update one manual entry; True when it is new."""
    exchange = entry.exchange or settings.default_exchange
    row = session.execute(
        select(WatchlistEntry).where(
            WatchlistEntry.exchange == exchange, WatchlistEntry.symbol == entry.symbol
        )
    ).scalar_one_or_none()
    if row is None:
        session.add(
            WatchlistEntry(
                exchange=exchange,
                symbol=entry.symbol,
                source="manual",
                timeframe=entry.timeframe,
                horizon_steps=entry.horizon_steps,
                quote_volume_24h=None,
                meta={},
                added_at=now,
                updated_at=now,
            )
        )
        return True
    row.source = "manual"  # adding a discovered pair by hand keeps it through later discoveries
    row.timeframe = entry.timeframe if entry.timeframe is not None else row.timeframe
    row.horizon_steps = entry.horizon_steps if entry.horizon_steps is not None else row.horizon_steps
    row.updated_at = now
    return False


def add_to_watchlist(
    session: Session, *, settings: Settings, entries: Sequence[WatchlistEntryIn]
) -> WatchlistChange:
    """Add (or update) manual entries."""
    now = clock.now()
    added = [
        f"{e.exchange or settings.default_exchange}:{e.symbol}"
        for e in entries
        if _upsert_manual(session, settings, e, now)
    ]
    session.flush()
    snapshot_id = _snapshot(session, trigger="add", params={"added": added}) if added else None
    return WatchlistChange(watchlist=list_watchlist(session), added=added, snapshot_id=snapshot_id)


def replace_watchlist(
    session: Session, *, settings: Settings, entries: Sequence[WatchlistEntryIn]
) -> WatchlistChange:
    """Make the watchlist exactly `entries` (all manual)."""
    wanted = {(e.exchange or settings.default_exchange, e.symbol) for e in entries}
    before = {(row.exchange, row.symbol) for row in _entries(session)}
    session.execute(delete(WatchlistEntry))
    session.flush()
    now = clock.now()
    for entry in entries:
        _upsert_manual(session, settings, entry, now)
    session.flush()
    snapshot_id = _snapshot(session, trigger="replace", params={"entries": len(wanted)})
    return WatchlistChange(
        watchlist=list_watchlist(session),
        added=sorted(f"{e}:{s}" for e, s in wanted - before),
        removed=sorted(f"{e}:{s}" for e, s in before - wanted),
        snapshot_id=snapshot_id,
    )


def remove_from_watchlist(
    session: Session, *, settings: Settings, exchange: str | None, symbols: Sequence[str]
) -> WatchlistChange:
    exchange = exchange or settings.default_exchange
    present = {row.symbol: row for row in _entries(session, exchange)}
    removed = [symbol for symbol in dict.fromkeys(symbols) if symbol in present]
    for symbol in removed:
        session.delete(present[symbol])
    session.flush()
    snapshot_id = (
        _snapshot(session, trigger="remove", params={"exchange": exchange, "removed": removed})
        if removed
        else None
    )
    return WatchlistChange(
        watchlist=list_watchlist(session),
        removed=[f"{exchange}:{s}" for s in removed],
        not_found=[s for s in dict.fromkeys(symbols) if s not in present],
        snapshot_id=snapshot_id,
    )


def discover(
    session: Session,
    *,
    settings: Settings,
    exchange: str | None = None,
    quote: str = "USDT",
    top_n: int = 20,
    min_quote_volume: float = 1_000_000.0,
) -> DiscoverResult:
    """Put the exchange's top N liquid spot pairs on the watchlist; manual entries always stay."""
    exchange = logic.normalise_exchange(exchange or settings.default_exchange)
    markets = CLIENTS.market_infos(settings, exchange)
    volumes = CLIENTS.quote_volumes(settings, exchange)
    session.commit()  # the network part is done; the writes below are short
    outcome = logic.select_discovered(
        markets, volumes, quote=quote.upper(), top_n=top_n, min_quote_volume=min_quote_volume
    )
    selected = {c.symbol: c.quote_volume_24h for c in outcome.selected}
    current = {row.symbol: row for row in _entries(session, exchange)}
    added, removed = logic.merge_discovery([(s, r.source) for s, r in current.items()], list(selected))
    now = clock.now()
    for symbol in removed:
        session.delete(current[symbol])
    for symbol, volume in selected.items():
        _record_discovered(session, current.get(symbol), exchange, symbol, volume, now)
    session.flush()
    params = {
        "exchange": exchange,
        "quote": quote.upper(),
        "top_n": top_n,
        "min_quote_volume": min_quote_volume,
    }
    snapshot_id = _snapshot(session, trigger="discover", params=params)
    return DiscoverResult(
        exchange=exchange,
        quote=quote.upper(),
        top_n=top_n,
        min_quote_volume=min_quote_volume,
        considered=outcome.considered,
        excluded=dict(outcome.excluded),
        discovered=[
            DiscoveredPair(symbol=c.symbol, quote_volume_24h=c.quote_volume_24h) for c in outcome.selected
        ],
        added=added,
        removed=removed,
        kept_manual=sorted(s for s, r in current.items() if r.source == "manual"),
        watchlist=list_watchlist(session),
        snapshot_id=snapshot_id,
    )


def _record_discovered(
    session: Session, row: WatchlistEntry | None, exchange: str, symbol: str, volume: float, now: datetime
) -> None:
    meta = {"quote_volume_24h": volume, "discovered_at": now.isoformat()}
    if row is None:
        session.add(
            WatchlistEntry(
                exchange=exchange,
                symbol=symbol,
                source="discover",
                timeframe=None,
                horizon_steps=None,
                quote_volume_24h=volume,
                meta=meta,
                added_at=now,
                updated_at=now,
            )
        )
        return
    row.quote_volume_24h = volume
    row.meta = {**row.meta, **meta}
    row.updated_at = now


def list_snapshots(session: Session, *, limit: int = 20, at: datetime | None = None) -> list[SnapshotRead]:
    """Snapshots, newest first; with `at`, only the one in force then (the latest taken at or before it)."""
    query = select(WatchlistSnapshot).order_by(WatchlistSnapshot.taken_at.desc(), WatchlistSnapshot.id.desc())
    query = query.where(WatchlistSnapshot.taken_at <= at).limit(1) if at is not None else query.limit(limit)
    return [SnapshotRead.model_validate(row) for row in session.scalars(query)]


def watchlist_as_of(session: Session, *, at: datetime) -> list[dict[str, object]]:
    """The watchlist entries as they stood at `at` (empty before the first snapshot)."""
    found = list_snapshots(session, at=at)
    return list(found[0].entries) if found else []
