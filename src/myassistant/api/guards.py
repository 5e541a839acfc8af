"""Checks every route gets before its own validation: text free of control characters, bounded JSON.

One app-wide dependency rather than a type on every field: it covers each text a route declares
(query and path parameters, every string and key of a JSON body, nested or not) on every route,
present and future, and runs before the route's validation and before any database work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.params import Path, Query
from fastapi.routing import APIRoute

from myassistant.core.errors import ContentTooLarge
from myassistant.core.text import describe_character, first_control_character

# A 1,000-entry watchlist, the largest legitimate body, holds ~6,000 values. Checked before the
# route's validation, whose work (and error list) grows with the number of values.
MAX_JSON_VALUES = 20_000
MAX_TEXT_ERRORS = 20
CONTROL_CHARACTER = "control_character"

_DECLARED: dict[tuple[str, frozenset[str], Callable[..., Any]], tuple[tuple[str, str], ...]] = {}


def _declared_text_parameters(route: APIRoute) -> tuple[tuple[str, str], ...]:
    """(location, name) of the route's query and path parameters, worked out once per endpoint."""
    # Routes do not hash; what they declare follows from the path, methods and endpoint.
    key = (route.path, frozenset(route.methods or ()), route.endpoint)
    declared = _DECLARED.get(key)
    if declared is None:
        declared = _DECLARED[key] = tuple(
            ("query" if isinstance(field.field_info, Query) else "path", field.alias)
            for field in get_flat_params(route.dependant)
            if isinstance(field.field_info, Query | Path)
        )
    return declared


def _is_json(content_type: str | None) -> bool:
    """What FastAPI parses as JSON: application/json or application/*+json."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _error(loc: tuple[str | int, ...], text: str, position: int, what: str = "") -> dict[str, Any]:
    return {
        "type": CONTROL_CHARACTER,
        "loc": loc,
        "msg": f"{what}control character {describe_character(text, position)} is not allowed",
        "input": None,
    }


def _parameter_errors(request: Request, route: APIRoute) -> list[dict[str, Any]]:
    errors = []
    for location, name in _declared_text_parameters(route):
        if location == "query":
            values: list[Any] = request.query_params.getlist(name)
        else:
            values = [request.path_params.get(name)]
        for value in values:
            position = first_control_character(value) if isinstance(value, str) else None
            if position is not None:
                errors.append(_error((location, name), value, position))
    return errors


def _body_errors(body: Any) -> list[dict[str, Any]]:
    """Control characters in any string or key of `body`, in document order.

    ContentTooLarge past MAX_JSON_VALUES values, counted before a container's items are looked at.
    """
    errors: list[dict[str, Any]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [(("body",), body)]
    values = 1
    while stack and len(errors) < MAX_TEXT_ERRORS:
        loc, value = stack.pop()
        if isinstance(value, dict | list):
            values += len(value)
            if values > MAX_JSON_VALUES:
                raise ContentTooLarge(f"request body too large: more than {MAX_JSON_VALUES} JSON values")
        if isinstance(value, str):
            position = first_control_character(value)
            if position is not None:
                errors.append(_error(loc, value, position))
        elif isinstance(value, dict):
            for key in value:
                position = first_control_character(key)
                if position is not None:
                    errors.append(_error(loc, key, position, "key with a "))
            stack.extend(((*loc, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in reversed(list(enumerate(value))))
    return errors[:MAX_TEXT_ERRORS]


async def check_request(request: Request) -> None:
    """422 naming each field that holds a control character; 413 for a body of too many values."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    errors = _parameter_errors(request, route)
    if route.body_field is not None and _is_json(request.headers.get("content-type")):
        body = await request.body()
        if body:  # FastAPI has already parsed it (cached on the request) or refused it as invalid JSON
            errors.extend(_body_errors(await request.json()))
    if errors:
        raise RequestValidationError(errors)
