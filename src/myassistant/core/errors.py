"""Domain errors; the API maps each to its HTTP status with a JSON `detail`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    """Base of every error a caller can act on; `status_code` is the HTTP answer."""

    status_code = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status_code = 422


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """The request clashes with the current state (stale version, job already running)."""

    status_code = 409


class ContentTooLarge(DomainError):
    """The request body is over a limit (bytes, or JSON values)."""

    status_code = 413


class PreconditionFailed(DomainError):
    """Something the request needs is missing (no model for the pair, no prices)."""

    status_code = 412


class UpstreamError(DomainError):
    """An outside service (exchange, feed, Telegram) failed after retries."""

    status_code = 502


class UpstreamUnavailable(UpstreamError):
    status_code = 503


# A field path is partly the caller's text (an unknown key): cut, so an answer stays small.
MAX_FIELD_CHARS = 200
MAX_MESSAGE_CHARS = 500


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _location(error: Any, *, skip_root: bool = False) -> str:
    parts = (str(part) for part in error.get("loc", ()) if not (skip_root and part == "__root__"))
    return _cut(".".join(parts), MAX_FIELD_CHARS)


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One readable line per failing field: `field.path: why`."""
    parts = []
    for error in errors:
        location = _location(error, skip_root=True)
        message = _cut(str(error.get("msg", "invalid value")), MAX_MESSAGE_CHARS)
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic/FastAPI error dicts reduced to {field, message, type}."""
    return [
        {
            "field": _location(error),
            "message": _cut(str(error.get("msg", "invalid value")), MAX_MESSAGE_CHARS),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]
