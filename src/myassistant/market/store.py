"""Bulk price I/O through the DB driver: the paths that carry millions of bars.

SQLite: `executemany` of tuples into the WITHOUT ROWID table, `INSERT … ON CONFLICT DO NOTHING`.
PostgreSQL: binary COPY into a temporary table, then one `INSERT … SELECT … ON CONFLICT DO NOTHING`;
reads come back as binary COPY too and are decoded by numpy in one call.
Both run inside the session's current transaction; the caller decides when to commit.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

Bars = npt.NDArray[np.float64]  # (n, 6): ts (epoch ms), open, high, low, close, volume

ROW_DTYPE = np.dtype(
    [("ts", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"), ("volume", "<f8")]
)
_COLUMNS = "ts, open, high, low, close, volume"
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
_PG_OUT_DTYPE = np.dtype(
    [("n", ">i2")]
    + [
        item
        for i, kind in enumerate((">i8", ">f8", ">f8", ">f8", ">f8", ">f8"))
        for item in ((f"l{i}", ">i4"), (f"v{i}", kind))
    ]
)


def _driver(session: Session) -> tuple[str, Any]:
    connection = session.connection()
    return connection.dialect.name, connection.connection.driver_connection


def upsert_bars(session: Session, *, instrument_id: int, bars: Bars) -> int:
    """Insert the bars not stored yet (existing ones are left as they are); returns how many were new."""
    if len(bars) == 0:
        return 0
    dialect, raw = _driver(session)
    if dialect == "postgresql":
        return _pg_upsert(raw, instrument_id, bars)
    columns = [bars[:, 0].astype(np.int64).tolist()] + [bars[:, i].tolist() for i in range(1, 6)]
    cursor = raw.cursor()
    try:
        cursor.executemany(_SQLITE_INSERT, zip(itertools.repeat(instrument_id), *columns, strict=False))
        return int(cursor.rowcount)
    finally:
        cursor.close()


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
) -> npt.NDArray[Any]:
    """Bars as a structured array (ROW_DTYPE) in ascending time; `limit` keeps the latest N."""
    dialect, raw = _driver(session)
    placeholder = "%s" if dialect == "postgresql" else "?"
    where, extra = _where(start_ms, end_ms, placeholder)
    params: list[int] = [instrument_id, *extra]
    if limit is not None:
        inner = f"SELECT {_COLUMNS} FROM prices WHERE {where} ORDER BY ts DESC LIMIT {int(limit)}"  # noqa: S608
        query = f"SELECT {_COLUMNS} FROM ({inner}) AS latest ORDER BY ts"  # noqa: S608
    else:
        query = f"SELECT {_COLUMNS} FROM prices WHERE {where} ORDER BY ts"  # noqa: S608
    if dialect == "postgresql":
        return _pg_read(raw, query, params)
    cursor = raw.cursor()
    try:
        return np.fromiter(cursor.execute(query, params), dtype=ROW_DTYPE, count=-1)
    finally:
        cursor.close()


def _pg_read(raw: Any, query: str, params: list[int]) -> npt.NDArray[Any]:
    chunks: list[bytes] = []
    with raw.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
        chunks.extend(bytes(block) for block in copy)
    data = b"".join(chunks)
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : -2]
    rows = np.frombuffer(body, dtype=_PG_OUT_DTYPE)
    out = np.empty(len(rows), dtype=ROW_DTYPE)
    for i, name in enumerate(ROW_DTYPE.names or ()):
        out[name] = rows[f"v{i}"]
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
