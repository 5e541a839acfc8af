"""Typed configuration documents stored in `config_docs` with optimistic concurrency.

Each domain registers a pydantic model with defaults; reading a missing document yields the
defaults (version 0); every write validates the whole document and bumps the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.db import insert_ignoring_conflicts
from myassistant.core.errors import (
    Conflict,
    InvalidInput,
    describe_validation_errors,
    field_errors,
)
from myassistant.core.tables import ConfigDoc

ModelT = TypeVar("ModelT", bound=BaseModel)


def mask_secret(value: str | None) -> str | None:
    """Show at most the first 4 and last 2 characters of a secret."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}…{value[-2:]}"


@dataclass(frozen=True)
class DocSpec(Generic[ModelT]):
    """A registered document: its name, model and which string fields are secrets."""

    name: str
    model: type[ModelT]
    secret_fields: tuple[str, ...] = field(default=())

    def defaults(self) -> ModelT:
        return self.model()

    def public_value(self, value: ModelT) -> dict[str, Any]:
        """The document as shown to clients: secrets masked."""
        data = value.model_dump(mode="json")
        for name in self.secret_fields:
            data[name] = mask_secret(data.get(name))
        return data


@dataclass(frozen=True)
class StoredDoc(Generic[ModelT]):
    name: str
    value: ModelT
    version: int
    updated_at: datetime | None


_REGISTRY: dict[str, DocSpec[Any]] = {}


def register(name: str, model: type[ModelT], *, secret_fields: tuple[str, ...] = ()) -> DocSpec[ModelT]:
    """Declare a document; registering the same name twice with another model is an error."""
    existing = _REGISTRY.get(name)
    if existing is not None and existing.model is not model:
        raise ValueError(f"config doc {name!r} already registered with {existing.model.__name__}")
    spec = DocSpec(name=name, model=model, secret_fields=secret_fields)
    _REGISTRY[name] = spec
    return spec


def get(session: Session, spec: DocSpec[ModelT]) -> StoredDoc[ModelT]:
    """The stored document, or the model's defaults at version 0 when never written."""
    row = session.get(ConfigDoc, spec.name)
    if row is None:
        return StoredDoc(name=spec.name, value=spec.defaults(), version=0, updated_at=None)
    return StoredDoc(
        name=spec.name, value=_validate(spec, row.value), version=row.version, updated_at=row.updated_at
    )


def put(
    session: Session, spec: DocSpec[ModelT], value: ModelT, *, expected_version: int | None = None
) -> StoredDoc[ModelT]:
    """Store `value`; with `expected_version` a stale writer is refused (409)."""
    payload = spec.model.model_validate(value.model_dump()).model_dump(mode="json")
    now = clock.now()
    if expected_version in (None, 0):
        inserted = session.execute(
            insert_ignoring_conflicts(session, ConfigDoc.__table__)
            .values(name=spec.name, value=payload, version=1, updated_at=now)
            .returning(ConfigDoc.name)
        ).scalar_one_or_none()
        if inserted is not None:
            return StoredDoc(name=spec.name, value=value, version=1, updated_at=now)
        if expected_version == 0:
            raise _stale(session, spec, expected_version)
    condition = ConfigDoc.name == spec.name
    if expected_version is not None:
        condition = condition & (ConfigDoc.version == expected_version)
    new_version = session.execute(
        update(ConfigDoc)
        .where(condition)
        .values(value=payload, version=ConfigDoc.version + 1, updated_at=now)
        .returning(ConfigDoc.version)
    ).scalar_one_or_none()
    if new_version is None:
        raise _stale(session, spec, expected_version)
    session.expire_all()
    return StoredDoc(name=spec.name, value=value, version=new_version, updated_at=now)


def patch(
    session: Session, spec: DocSpec[ModelT], changes: dict[str, Any], *, expected_version: int | None = None
) -> StoredDoc[ModelT]:
    """Merge `changes` over the current document, validate the whole, store it."""
    current = get(session, spec)
    merged = current.value.model_dump()
    for name, new_value in changes.items():
        if (
            name in spec.secret_fields
            and new_value is not None
            and new_value == mask_secret(merged.get(name))
        ):
            continue  # a client echoing the masked secret back means "keep it"
        merged[name] = new_value
    return put(session, spec, _validate(spec, merged), expected_version=expected_version)


def _validate(spec: DocSpec[ModelT], data: dict[str, Any]) -> ModelT:
    try:
        return spec.model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid {spec.name}: {describe_validation_errors(exc.errors())}",
            errors=field_errors(exc.errors()),
        ) from exc


def _stale(session: Session, spec: DocSpec[Any], expected_version: int | None) -> Conflict:
    current = session.execute(select(ConfigDoc.version).where(ConfigDoc.name == spec.name)).scalar()
    return Conflict(
        f"config {spec.name!r} changed since version {expected_version} (now {current or 0}); "
        "reload it and retry",
        current_version=current or 0,
    )
