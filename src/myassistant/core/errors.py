"""Domain errors; the API maps each to its HTTP status with a JSON `detail`."""

from __future__ import annotations

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


class PreconditionFailed(DomainError):
    """Something the request needs is missing (no model for the pair, no prices)."""

    status_code = 412


class UpstreamError(DomainError):
    """An outside service (exchange, feed, Telegram) failed after retries."""

    status_code = 502


class UpstreamUnavailable(UpstreamError):
    status_code = 503


def describe_validation_errors(errors: list[Any]) -> str:
    """One readable line per failing field: `field.path: why`."""
    parts = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
        message = str(error.get("msg", "invalid value"))
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """Pydantic/FastAPI error dicts reduced to {field, message, type}."""
    return [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "invalid value")),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]
