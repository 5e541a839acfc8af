"""Bulk price I/O through the DB driver: the paths that carry millions of bars.

SQLite: `executemany` of tuples into the WITHOUT ROWID table, `INSERT … ON CONFLICT DO NOTHING`.
Reading rows through the sqlite3 module costs about a microsecond per row, so full runs of
BLOCK_BARS stored bars are also kept packed in `price_blocks` and read back with one
`np.frombuffer` each; only the bars outside full blocks are read row by row.
PostgreSQL: binary COPY into a temporary table, then one `INSERT … SELECT … ON CONFLICT DO NOTHING`;
reads come back as one server-packed bytea decoded by numpy in one call.
Both run inside the session's current transaction; the caller decides when to commit.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

logger = logging.getLogger("myassistant.market.store")

Bars = npt.NDArray[np.float64]  # (n, 6): ts (epoch ms), open, high, low, close, volume

ROW_DTYPE = np.dtype(
    [("ts", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"), ("volume", "<f8")]
)
PRICE_FIELDS = ("open", "high", "low", "close", "volume")
_COLUMNS = "ts, open, high, low, close, volume"
BLOCK_BARS = 4096
_MIN_TS, _MAX_TS = -(2**62), 2**62
_SQLITE_INSERT = (
    "INSERT INTO prices (instrument_id, ts, open, high, low, close, volume) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS prices_incoming "
    "(instrument_id BIGINT, ts BIGINT, open FLOAT8, high FLOAT8, low FLOAT8, close FLOAT8, volume FLOAT8) "
    "ON COMMIT DELETE ROWS"
)
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
# One binary COPY tuple: field count, then (length, value) per field, all big-endian.
_PG_IN_DTYPE = np.dtype(
    [("n", ">i2")]
    + [
        item
        for i, kind in enumerate((">i8", ">i8", ">f8", ">f8", ">f8", ">f8", ">f8"))
        for item in ((f"l{i}", ">i4"), (f"v{i}", kind))
    ]
)
_PG_ROW_DTYPE = ROW_DTYPE.newbyteorder(">")


def _driver(session: Session) -> tuple[str, Any]:
    connection = session.connection()
    return connection.dialect.name, connection.connection.driver_connection


def upsert_bars(session: Session, *, instrument_id: int, bars: Bars, step_ms: int | None = None) -> int:
    """Insert the bars not stored yet (existing ones are left as they are); returns how many were new.

    With `step_ms` (the bar length) SQLite also packs every block this page completes.
    """
    if len(bars) == 0:
        return 0
    dialect, raw = _driver(session)
    if dialect == "postgresql":
        return _pg_upsert(raw, instrument_id, bars)
    bars = bars[np.argsort(bars[:, 0], kind="stable")]
    columns = [bars[:, 0].astype(np.int64).tolist()] + [bars[:, i].tolist() for i in range(1, 6)]
    cursor = raw.cursor()
    try:
        cursor.executemany(_SQLITE_INSERT, zip(itertools.repeat(instrument_id), *columns, strict=False))
        inserted = int(cursor.rowcount)
        if step_ms:
            _pack_blocks(cursor, instrument_id, bars, inserted, step_ms)
        return inserted
    finally:
        cursor.close()


def _pack_blocks(cursor: Any, iid: int, bars: Bars, inserted: int, step_ms: int) -> None:
    """Store packed copies of the full blocks among those this (sorted) page touches."""
    span = BLOCK_BARS * step_ms
    ts = bars[:, 0].astype(np.int64)
    first, last = int(ts[0]) - int(ts[0]) % span, int(ts[-1]) - int(ts[-1]) % span
    cached = {
        row[0]
        for row in cursor.execute(
            "SELECT block_start FROM price_blocks WHERE instrument_id = ? AND block_start BETWEEN ? AND ?",
            (iid, first, last),
        )
    }
    if inserted and cached:
        # A full block cannot gain rows unless some were deleted by hand: rebuild those.
        cursor.execute(
            "DELETE FROM price_blocks WHERE instrument_id = ? AND block_start BETWEEN ? AND ?",
            (iid, first, last),
        )
        cached = set()
    all_new = inserted == len(bars)
    for start in range(first, last + 1, span):
        if start in cached:
            continue
        lo, hi = np.searchsorted(ts, [start, start + span])
        page_part = bars[lo:hi]
        packed: bytes | None
        if all_new and len(page_part) == BLOCK_BARS and ((ts[lo:hi] - start) % step_ms == 0).all():
            packed = _pack(page_part)  # every row of the block is in this page and was new: DB == page
        else:
            packed = _pack_from_rows(cursor, iid, start, start + span - 1)
        if packed is not None:
            cursor.execute(
                "INSERT INTO price_blocks (instrument_id, block_start, bars, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (iid, start, BLOCK_BARS, packed),
            )


def _pack(bars: Bars) -> bytes:
    rows = np.empty(len(bars), dtype=ROW_DTYPE)
    rows["ts"] = bars[:, 0].astype(np.int64)
    for i, name in enumerate(PRICE_FIELDS, start=1):
        rows[name] = bars[:, i]
    return rows.tobytes()


def _pack_from_rows(cursor: Any, iid: int, lo: int, hi: int) -> bytes | None:
    (count,) = cursor.execute(
        "SELECT count(*) FROM prices WHERE instrument_id = ? AND ts BETWEEN ? AND ?", (iid, lo, hi)
    ).fetchone()
    return _rows(cursor, iid, lo, hi).tobytes() if count == BLOCK_BARS else None


def _pg_upsert(raw: Any, instrument_id: int, bars: Bars) -> int:
    rows = np.empty(len(bars), dtype=_PG_IN_DTYPE)
    rows["n"] = 7
    for i in range(7):
        rows[f"l{i}"] = 8
    rows["v0"] = instrument_id
    rows["v1"] = bars[:, 0].astype(np.int64)
    for i in range(1, 6):
        rows[f"v{i + 1}"] = bars[:, i]
    payload = _PG_COPY_HEADER + rows.tobytes() + b"\xff\xff"
    with raw.cursor() as cursor:
        cursor.execute(_PG_STAGE)
        cursor.execute("TRUNCATE prices_incoming")
        with cursor.copy("COPY prices_incoming FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(payload)
        cursor.execute(
            "INSERT INTO prices (instrument_id, ts, open, high, low, close, volume) "
            "SELECT instrument_id, ts, open, high, low, close, volume FROM prices_incoming "
            "ON CONFLICT DO NOTHING"
        )
        return int(cursor.rowcount)


def _where(start_ms: int | None, end_ms: int | None, placeholder: str) -> tuple[str, list[int]]:
    clauses, params = [f"instrument_id = {placeholder}"], []
    if start_ms is not None:
        clauses.append(f"ts >= {placeholder}")
        params.append(start_ms)
    if end_ms is not None:
        clauses.append(f"ts <= {placeholder}")
        params.append(end_ms)
    return " AND ".join(clauses), params


def read_bars(
    session: Session,
    *,
    instrument_id: int,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int | None = None,
    step_ms: int | None = None,
) -> npt.NDArray[Any]:
    """Bars as a structured array (ROW_DTYPE) in ascending time; `limit` keeps the latest N.

    With `step_ms` SQLite reads full blocks from their packed copies.
    """
    dialect, raw = _driver(session)
    if dialect == "postgresql":
        query, params = _range_query(instrument_id, start_ms, end_ms, limit, "%s", ordered=False)
        return _pg_read(raw, query, params)
    cursor = raw.cursor()
    try:
        if step_ms is None:
            query, params = _range_query(instrument_id, start_ms, end_ms, limit, "?")
            return np.fromiter(cursor.execute(query, params), dtype=ROW_DTYPE, count=-1)
        return _sqlite_read(cursor, instrument_id, start_ms, end_ms, limit, step_ms)
    finally:
        cursor.close()


def _range_query(
    iid: int,
    start_ms: int | None,
    end_ms: int | None,
    limit: int | None,
    placeholder: str,
    ordered: bool = True,
) -> tuple[str, list[int]]:
    where, extra = _where(start_ms, end_ms, placeholder)
    params: list[int] = [iid, *extra]
    order = " ORDER BY ts" if ordered else ""
    if limit is None:
        return f"SELECT {_COLUMNS} FROM prices WHERE {where}{order}", params  # noqa: S608
    inner = f"SELECT {_COLUMNS} FROM prices WHERE {where} ORDER BY ts DESC LIMIT {int(limit)}"  # noqa: S608
    return f"SELECT {_COLUMNS} FROM ({inner}) AS latest{order}", params  # noqa: S608


def _rows(cursor: Any, iid: int, lo: int, hi: int) -> npt.NDArray[Any]:
    query = f"SELECT {_COLUMNS} FROM prices WHERE instrument_id = ? AND ts BETWEEN ? AND ? ORDER BY ts"  # noqa: S608
    return np.fromiter(cursor.execute(query, (iid, lo, hi)), dtype=ROW_DTYPE, count=-1)


def _sqlite_read(
    cursor: Any, iid: int, start_ms: int | None, end_ms: int | None, limit: int | None, step_ms: int
) -> npt.NDArray[Any]:
    lo = _MIN_TS if start_ms is None else start_ms
    hi = _MAX_TS if end_ms is None else end_ms
    if limit is not None:
        nth = cursor.execute(
            "SELECT ts FROM prices WHERE instrument_id = ? AND ts BETWEEN ? AND ? "
            "ORDER BY ts DESC LIMIT 1 OFFSET ?",
            (iid, lo, hi, limit - 1),
        ).fetchone()
        lo = max(lo, nth[0]) if nth else lo
    span = BLOCK_BARS * step_ms
    blocks = cursor.execute(
        "SELECT block_start, data FROM price_blocks WHERE instrument_id = ? AND block_start >= ? "
        "AND block_start <= ? ORDER BY block_start",
        (iid, lo, hi - span + 1),
    ).fetchall()
    pieces, position = [], lo
    for start, data in blocks:
        if position < start:
            pieces.append(_rows(cursor, iid, position, start - 1))
        pieces.append(np.frombuffer(data, dtype=ROW_DTYPE))
        position = start + span
    pieces.append(_rows(cursor, iid, position, hi))
    result = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
    if blocks:
        (count,) = cursor.execute(
            "SELECT count(*) FROM prices WHERE instrument_id = ? AND ts BETWEEN ? AND ?", (iid, lo, hi)
        ).fetchone()
        if count != len(result):  # rows deleted by hand under a packed block: trust the rows
            logger.warning("price_blocks of instrument %s are stale; reading rows", iid)
            return _rows(cursor, iid, lo, hi)
    return result


def _pg_read(raw: Any, query: str, params: list[int]) -> npt.NDArray[Any]:
    """One round trip: the server packs the rows into a single bytea (IEEE big-endian), numpy unpacks it.

    Row-wise fetching (or COPY, which psycopg yields row by row) costs seconds per million bars.
    """
    packed = "int8send(ts) || " + " || ".join(f"float8send({name})" for name in PRICE_FIELDS)
    aggregate = f"SELECT string_agg({packed}, ''::bytea) FROM ({query}) AS picked"  # noqa: S608
    with raw.cursor(binary=True) as cursor:
        cursor.execute(aggregate, params)
        blob = cursor.fetchone()[0]
    rows = np.frombuffer(blob or b"", dtype=_PG_ROW_DTYPE)
    out = np.empty(len(rows), dtype=ROW_DTYPE)
    order = np.argsort(rows["ts"], kind="stable")
    for name in ROW_DTYPE.names or ():
        out[name] = rows[name][order]
    return out


def stored_ts(session: Session, *, instrument_id: int) -> npt.NDArray[np.int64]:
    """Every stored open time of a series, ascending (for gap detection)."""
    dialect, raw = _driver(session)
    placeholder = "%s" if dialect == "postgresql" else "?"
    query = f"SELECT ts FROM prices WHERE instrument_id = {placeholder} ORDER BY ts"  # noqa: S608
    cursor = raw.cursor()
    try:
        cursor.execute(query, [instrument_id])
        return np.fromiter((row[0] for row in cursor), dtype=np.int64, count=-1)
    finally:
        cursor.close()
