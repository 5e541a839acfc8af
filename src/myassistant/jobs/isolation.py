"""Heavy work in a process of its own, so the service stays small.

Training loads pandas, XGBoost and scikit-learn and starts a pool of worker processes: a few hundred
MB that a long-running service would otherwise keep for the rest of its life. `run_isolated` runs such
work in a fresh process (spawned: the same on Windows and POSIX) that exits when the work is done,
giving every byte back. Its progress is forwarded to the caller's callback, its domain errors are
raised again in the caller with their status, and stopping the service stops it (`stop_all`).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from myassistant.core import clock
from myassistant.core.errors import DomainError
from myassistant.jobs.runner import Progress

logger = logging.getLogger("myassistant.jobs")

T = TypeVar("T")
POLL_S = 0.2
STOP_GRACE_S = 20.0

_running: set[Any] = set()  # the processes started here and not finished yet
_guard = threading.Lock()


class IsolatedWorkDied(DomainError):
    """The process doing the work ended without an answer (killed, out of memory)."""

    status_code = 500


def run_isolated(target: Callable[..., T], *args: Any, progress: Progress | None = None) -> T:
    """`target(*args, progress=...)` in a new process; its result, or the error it raised.

    `target` must be a module-level function and its arguments picklable. A frozen clock (tests)
    is frozen at the same time in the new process.
    """
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    frozen_at = _frozen_time()
    process = context.Process(target=_child, args=(messages, target, args, frozen_at), daemon=False)
    process.start()
    with _guard:
        _running.add(process)
    try:
        result: T = _collect(process, messages, progress)
        return result
    finally:
        process.join(STOP_GRACE_S)
        with _guard:
            _running.discard(process)
        messages.close()


def stop_all(timeout_s: float = STOP_GRACE_S) -> None:
    """Stop every isolated process of this service (it unwinds: its worker pools are released)."""
    with _guard:
        processes = list(_running)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout_s)
        if process.is_alive():
            logger.warning("isolated process %s did not stop in %.0f s; killing it", process.pid, timeout_s)
            process.kill()


def _frozen_time() -> datetime | None:
    current = clock.current()
    return current.now() if isinstance(current, clock.FrozenClock) else None


def _collect(process: Any, messages: Any, progress: Progress | None) -> Any:
    while True:
        try:
            kind, value = messages.get(timeout=POLL_S)
        except queue.Empty:
            if not process.is_alive():
                raise IsolatedWorkDied(
                    f"the process doing the work ended without an answer (exit code {process.exitcode})"
                ) from None
            continue
        if kind == "progress":
            if progress is not None:
                progress(*value)
        elif kind == "result":
            return value
        elif kind == "domain_error":
            raise _rebuilt(*value)
        else:
            raise IsolatedWorkDied(f"the work crashed: {value}")


def _rebuilt(kind: type[DomainError], detail: str, extra: dict[str, Any]) -> DomainError:
    """The child's domain error as the same class, detail and extras (no __init__: signatures vary)."""
    error = kind.__new__(kind)
    Exception.__init__(error, detail)
    error.detail, error.extra = detail, extra
    return error


def _child(
    messages: Any, target: Callable[..., Any], args: tuple[Any, ...], frozen_at: datetime | None
) -> None:
    """The new process: run `target`, sending progress and then the result or the error."""
    if frozen_at is not None:
        clock.set_clock(clock.FrozenClock(frozen_at))
    # terminate() from the service: unwind (pools are released in their `finally`), then exit.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def progress(done: int, total: int, label: str) -> None:
        messages.put(("progress", (done, total, label)))

    try:
        messages.put(("result", target(*args, progress=progress)))
    except DomainError as exc:
        messages.put(("domain_error", (type(exc), exc.detail, exc.extra)))
    except BaseException as exc:  # reported to the caller, which records the run as failed
        messages.put(("crash", f"{type(exc).__name__}: {exc}"))
    finally:
        messages.close()
        messages.join_thread()


def _exit_on_sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)
