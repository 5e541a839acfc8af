"""GET/POST routes for a config document, the same shape for every document.

GET answers `{name, version, updated_at, value}` with secrets masked; POST takes a partial update
(only the fields to change, explicit nulls included) plus an optional `expected_version`, validates
the whole document and answers the stored result, or 409 when the version is stale.
(No `from __future__ import annotations` here: FastAPI must see the generated body model itself.)
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from myassistant.api.deps import MAX_INT32, SessionDep
from myassistant.core import configdocs
from myassistant.core.configdocs import DocSpec, StoredDoc


class ConfigDocRead(BaseModel):
    name: str
    version: int = Field(description="0 = never written (defaults)")
    updated_at: datetime | None
    value: dict[str, Any]


def to_read(spec: DocSpec[Any], doc: StoredDoc[Any]) -> ConfigDocRead:
    return ConfigDocRead(
        name=doc.name, version=doc.version, updated_at=doc.updated_at, value=spec.public_value(doc.value)
    )


def update_model(spec: DocSpec[Any]) -> type[BaseModel]:
    """The POST body: every field of the document optional, unknown fields refused.

    A field keeps its type and constraints (null only where the document allows it), so the
    schema says what the document accepts.
    """
    fields: dict[str, Any] = {
        name: (_as_declared(info), Field(default=None, description=info.description))
        for name, info in spec.model.model_fields.items()
    }
    fields["expected_version"] = (
        int | None,
        Field(default=None, ge=0, le=MAX_INT32, description="refuse if stale"),
    )
    model: type[BaseModel] = create_model(
        f"{spec.model.__name__}Update", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def _as_declared(info: FieldInfo) -> Any:
    """The field's type with its constraints and validators (`Annotated` metadata) reattached."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def add_config_doc_routes(router: APIRouter, path: str, spec: DocSpec[Any], *, label: str) -> None:
    """Register `GET path` and `POST path` for `spec` on `router`."""
    body_model = update_model(spec)

    def read(session: SessionDep) -> ConfigDocRead:
        return to_read(spec, configdocs.get(session, spec))

    def write(body: body_model, session: SessionDep) -> ConfigDocRead:  # type: ignore[valid-type]
        changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        expected = changes.pop("expected_version", None)
        return to_read(spec, configdocs.patch(session, spec, changes, expected_version=expected))

    read.__doc__ = f"The current {label} (defaults until first written)."
    write.__doc__ = f"Change some fields of the {label}; the whole document is validated."
    router.add_api_route(path, read, methods=["GET"], response_model=ConfigDocRead, name=f"get_{spec.name}")
    router.add_api_route(
        path,
        write,
        methods=["POST"],
        response_model=ConfigDocRead,
        name=f"set_{spec.name}",
        responses={409: {"description": "stale expected_version"}, 422: {"description": "invalid value"}},
    )
