"""Bulk upsert and reads into pandas, on the backend DATABASE_URL names."""

from __future__ import annotations

from datetime import UTC, datetime

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


def test_instruments_are_unique_per_exchange_symbol_timeframe(session) -> None:
    first = _iid(session)
    assert _iid(session) == first
    other = service.instrument_id(session, exchange="bybit", symbol="BTC/USDT", timeframe="4h", create=True)
    assert other != first
