"""Bulk upsert and reads into pandas, on the backend DATABASE_URL names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from myassistant.core.errors import InvalidInput
from myassistant.market import service, store

T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
H = 3_600_000


def _bars(n: int, start: int = T0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    ts = start + np.arange(n) * H
    return np.column_stack([ts, close, close * 1.01, close * 0.99, close, rng.uniform(1, 5, n)])


def _iid(session) -> int:
    iid = service.instrument_id(session, exchange="bybit", symbol="BTC/USDT", timeframe="1h", create=True)
    assert iid is not None
    return iid


def test_upsert_inserts_only_new_rows_and_never_changes_stored_ones(session) -> None:
    iid = _iid(session)
    bars = _bars(500)
    assert store.upsert_bars(session, instrument_id=iid, bars=bars[:300]) == 300
    changed = bars.copy()
    changed[:, 4] += 1.0  # a re-upsert with other values must not overwrite
    assert store.upsert_bars(session, instrument_id=iid, bars=changed) == 200
    assert store.upsert_bars(session, instrument_id=iid, bars=changed) == 0
    rows = store.read_bars(session, instrument_id=iid)
    assert rows["close"][:300].tolist() == bars[:300, 4].tolist()
    assert rows["close"][300:].tolist() == changed[300:, 4].tolist()


def test_load_prices_returns_a_utc_indexed_float_frame(session) -> None:
    bars = _bars(48)
    store.upsert_bars(session, instrument_id=_iid(session), bars=bars)
    frame = service.load_prices(session, exchange="bybit", symbol="BTC/USDT", timeframe="1h")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert (frame.dtypes == np.float64).all()
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "ts"
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert frame.index[0] == pd.Timestamp("2026-01-01T00:00Z") and frame.index.is_monotonic_increasing
    np.testing.assert_array_equal(frame.to_numpy(), bars[:, 1:])


def test_load_prices_range_and_limit(session) -> None:
    store.upsert_bars(session, instrument_id=_iid(session), bars=_bars(100))
    load = dict(session=session, exchange="bybit", symbol="btc/usdt", timeframe="1h")
    window = service.load_prices(
        **load, start=datetime(2026, 1, 2, tzinfo=UTC), end=datetime(2026, 1, 2, 5, tzinfo=UTC)
    )
    assert len(window) == 6 and window.index[-1] == pd.Timestamp("2026-01-02T05:00Z")
    last = service.load_prices(**load, limit=3)
    assert list(last.index) == list(service.load_prices(**load).index[-3:])
    assert len(service.load_prices(**load, end=datetime(2026, 1, 2, tzinfo=UTC), limit=2)) == 2


def test_load_prices_of_an_unknown_series_is_an_empty_frame(session) -> None:
    frame = service.load_prices(session, exchange="bybit", symbol="ETH/USDT", timeframe="1h")
    assert frame.empty and list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"


def test_load_prices_validates_its_inputs(session) -> None:
    with pytest.raises(InvalidInput, match="valid: "):
        service.load_prices(session, exchange="bybit", symbol="BTC/USDT", timeframe="10m")
    with pytest.raises(InvalidInput, match="BASE/QUOTE"):
        service.load_prices(session, exchange="bybit", symbol="BTCUSDT", timeframe="1h")


def test_latest_bar_gives_the_newest_close_and_its_time(session) -> None:
    bars = _bars(10)
    store.upsert_bars(session, instrument_id=_iid(session), bars=bars)
    bar = service.latest_bar(session, exchange="bybit", symbol="BTC/USDT", timeframe="1h")
    assert bar is not None and bar.close == bars[-1, 4]
    assert bar.ts == datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert service.latest_bar(session, exchange="bybit", symbol="ETH/USDT", timeframe="1h") is None


def test_latest_closes_gives_each_series_its_own_newest_bar_in_one_call(session) -> None:
    btc, eth = _bars(10), _bars(4, seed=1)
    store.upsert_bars(session, instrument_id=_iid(session), bars=btc)
    eth_id = service.instrument_id(session, exchange="bybit", symbol="ETH/USDT", timeframe="1h", create=True)
    assert eth_id is not None
    store.upsert_bars(session, instrument_id=eth_id, bars=eth)
    keys = [("bybit", "BTC/USDT", "1h"), ("bybit", "ETH/USDT", "1h"), ("bybit", "SOL/USDT", "1h")]
    latest = service.latest_closes(session, keys=keys)
    assert set(latest) == set(keys[:2])  # no stored prices: left out
    assert latest[keys[0]].close == btc[-1, 4] and latest[keys[0]].ts == datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert latest[keys[1]].close == eth[-1, 4] and latest[keys[1]].ts == datetime(2026, 1, 1, 3, tzinfo=UTC)
    assert service.latest_closes(session, keys=[]) == {}


def test_stored_span_counts_the_bars_from_start_on_and_names_the_first(session) -> None:
    bars = _bars(100)
    store.upsert_bars(session, instrument_id=_iid(session), bars=np.delete(bars, [30, 31, 50], axis=0))
    span = dict(exchange="bybit", symbol="btc/usdt", timeframe="1h")

    def at(index: int) -> datetime:
        return datetime.fromtimestamp(int(bars[index, 0]) / 1000, tz=UTC)

    assert service.stored_span(session, **span, start=at(30)) == (67, at(32))  # 32..99 without 50
    assert service.stored_span(session, **span, start=datetime(2020, 1, 1, tzinfo=UTC)) == (97, at(0))
    assert service.stored_span(session, **span, start=at(99) + timedelta(minutes=1)) == (0, None)
    unknown = dict(span, symbol="ETH/USDT")
    assert service.stored_span(session, **unknown, start=at(0)) == (0, None)
    with pytest.raises(InvalidInput, match="valid: "):
        service.stored_span(session, **dict(span, timeframe="10m"), start=at(0))


def test_instruments_are_unique_per_exchange_symbol_timeframe(session) -> None:
    first = _iid(session)
    assert _iid(session) == first
    other = service.instrument_id(session, exchange="bybit", symbol="BTC/USDT", timeframe="4h", create=True)
    assert other != first


M1 = 60_000
SPAN = store.BLOCK_BARS * M1


def _minute_bars(n: int, start: int, seed: int = 3) -> np.ndarray:
    data = _bars(n, start=start, seed=seed)
    data[:, 0] = start + np.arange(n) * M1
    return data


def _read(session, iid, **kwargs) -> np.ndarray:
    return store.read_bars(session, instrument_id=iid, step_ms=M1, **kwargs)


def _minute_series(session) -> int:
    iid = service.instrument_id(session, exchange="bybit", symbol="BTC/USDT", timeframe="1m", create=True)
    assert iid is not None
    return iid


def _blocks(session, iid) -> int:
    from sqlalchemy import func, select

    from myassistant.market.tables import PriceBlock

    return session.execute(select(func.count()).where(PriceBlock.instrument_id == iid)).scalar_one()


BLOCK_ALIGNED = T0 - T0 % SPAN


@pytest.mark.parametrize(
    ("start", "end", "limit"),
    [
        (None, None, None),
        (BLOCK_ALIGNED + SPAN - 5 * M1, BLOCK_ALIGNED + 2 * SPAN + 7 * M1, None),
        (BLOCK_ALIGNED + SPAN, BLOCK_ALIGNED + 2 * SPAN - M1, None),
        (None, BLOCK_ALIGNED + 3 * SPAN - M1, 5000),
        (None, None, 3),
    ],
)
def test_reads_through_packed_blocks_equal_plain_row_reads(session, start, end, limit) -> None:
    iid = _minute_series(session)
    data = _minute_bars(4 * store.BLOCK_BARS + 100, start=BLOCK_ALIGNED - 50 * M1)
    store.upsert_bars(session, instrument_id=iid, bars=data, step_ms=M1)
    assert _blocks(session, iid) == 4 or session.get_bind().dialect.name == "postgresql"
    through_blocks = _read(session, iid, start_ms=start, end_ms=end, limit=limit)
    plain = store.read_bars(session, instrument_id=iid, start_ms=start, end_ms=end, limit=limit)
    assert len(plain) > 0
    np.testing.assert_array_equal(through_blocks, plain)


def test_blocks_fill_in_as_small_pages_complete_them(session) -> None:
    iid = _minute_series(session)
    data = _minute_bars(store.BLOCK_BARS + 10, start=BLOCK_ALIGNED)
    for page in np.array_split(data, 9):
        store.upsert_bars(session, instrument_id=iid, bars=page, step_ms=M1)
    if session.get_bind().dialect.name == "sqlite":
        assert _blocks(session, iid) == 1
    np.testing.assert_array_equal(_read(session, iid), store.read_bars(session, instrument_id=iid))


def test_rows_deleted_by_hand_under_a_block_are_noticed_and_repaired(session) -> None:
    from sqlalchemy import delete

    from myassistant.market.tables import Price

    iid = _minute_series(session)
    data = _minute_bars(store.BLOCK_BARS, start=BLOCK_ALIGNED)
    store.upsert_bars(session, instrument_id=iid, bars=data, step_ms=M1)
    session.execute(delete(Price).where(Price.ts == BLOCK_ALIGNED + 10 * M1))
    assert len(_read(session, iid)) == store.BLOCK_BARS - 1
    assert store.upsert_bars(session, instrument_id=iid, bars=data, step_ms=M1) == 1
    np.testing.assert_array_equal(_read(session, iid)["close"], data[:, 4])


def test_a_full_reupsert_with_other_values_changes_nothing(session) -> None:
    iid = _minute_series(session)
    data = _minute_bars(2 * store.BLOCK_BARS, start=BLOCK_ALIGNED)
    store.upsert_bars(session, instrument_id=iid, bars=data, step_ms=M1)
    changed = data.copy()
    changed[:, 1:5] *= 2
    assert store.upsert_bars(session, instrument_id=iid, bars=changed, step_ms=M1) == 0
    np.testing.assert_array_equal(_read(session, iid)["close"], data[:, 4])
