"""Where a read-only handler's database work runs: the event loop for SQLite, the threadpool otherwise.

Python threads that call into sqlite3 give up the interpreter lock on every step and then wait up
to the switch interval (5 ms) to get it back while other threads run: with eight concurrent readers
a 1.5 ms read cost 5 ms of wall time and p99 reached 150 ms (bench/signals_bench.py). SQLite reads
are in-process and short (WAL readers never wait for writers), so hot read routes run them on the
loop; PostgreSQL goes over the network and stays in the threadpool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from myassistant.core.db import Database

P = ParamSpec("P")
T = TypeVar("T")


async def run_read(database: Database, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a short read-only `func` where it is fastest for the backend."""
    if database.is_sqlite:
        return func(*args, **kwargs)
    return await run_in_threadpool(func, *args, **kwargs)
