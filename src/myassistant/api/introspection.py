"""Walks the app's routes, including those of routers FastAPI mounts lazily."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute, Route


@dataclass(frozen=True)
class RouteEntry:
    path: str
    methods: frozenset[str]
    name: str
    tags: tuple[str, ...]
    in_schema: bool


def iter_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[RouteEntry]:
    """Every HTTP route with its full path, methods and tags."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI >= 0.16x keeps included routers as one lazy node
            context = getattr(route, "include_context", None)
            yield from iter_routes(included.routes, prefix + str(getattr(context, "prefix", "")))
        elif isinstance(route, Route):
            yield RouteEntry(
                path=prefix + route.path,
                methods=frozenset(route.methods or ()),
                name=route.name,
                tags=tuple(str(tag) for tag in getattr(route, "tags", ())),
                in_schema=bool(getattr(route, "include_in_schema", True)),
            )
