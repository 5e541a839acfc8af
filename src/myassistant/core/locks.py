"""Cross-process named locks: a file lock next to the SQLite file, an advisory lock on PostgreSQL.

Used for the scheduler's leader election and so that a job never overlaps itself, whichever
process (service, CLI, a second replica) starts it. Both kinds are released by the operating
system or the server when the holding process dies, so a crash never leaves a job locked.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from types import TracebackType
from typing import Protocol

from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from myassistant.core.db import Database


class NamedLock(Protocol):
    name: str

    def acquire(self) -> bool:
        """Try once, without waiting; True when this holder now owns the lock."""
        ...

    def release(self) -> None: ...

    @property
    def held(self) -> bool: ...


class FileNamedLock:
    """An OS file lock (works on Windows and POSIX) guarded by a thread lock for this process."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(str(path), thread_local=False)
        self._held = False
        self._guard = threading.Lock()

    def acquire(self) -> bool:
        with self._guard:
            if self._held:
                return False
            try:
                self._file_lock.acquire(timeout=0)
            except Timeout:
                return False
            self._held = True
            return True

    def release(self) -> None:
        with self._guard:
            if self._held:
                self._file_lock.release()
                self._held = False

    @property
    def held(self) -> bool:
        return self._held


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock`."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class AdvisoryNamedLock:
    """A PostgreSQL session-level advisory lock held on a dedicated connection."""

    def __init__(self, name: str, database: Database) -> None:
        self.name = name
        self._database = database
        self._key = advisory_key(f"myassistant:{name}")
        self._connection: Connection | None = None
        self._guard = threading.Lock()

    def acquire(self) -> bool:
        with self._guard:
            if self._connection is not None:
                return False
            connection = self._database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar())
            if got:
                self._connection = connection
            else:
                connection.close()
            return got

    def release(self) -> None:
        with self._guard:
            if self._connection is None:
                return
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            finally:
                self._connection.close()
                self._connection = None

    @property
    def held(self) -> bool:
        return self._connection is not None


def lock_dir_for(database: Database, fallback: Path) -> Path:
    """Lock files live next to the SQLite file, so every process using that file sees them."""
    path = make_url(database.url).database
    if path and path != ":memory:":
        return Path(path).resolve().parent / ".locks"
    return fallback / ".locks"


def named_lock(database: Database, name: str, *, lock_dir: Path) -> NamedLock:
    """The right lock kind for the database backend."""
    if database.is_sqlite:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return FileNamedLock(name, lock_dir / f"{safe}.lock")
    return AdvisoryNamedLock(name, database)


class held_lock:  # noqa: N801  (used as a context manager, reads like one)
    """`with held_lock(lock) as got:` acquires without waiting and always releases what it took."""

    def __init__(self, lock: NamedLock) -> None:
        self.lock = lock
        self.got = False

    def __enter__(self) -> bool:
        self.got = self.lock.acquire()
        return self.got

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.got:
            self.lock.release()
