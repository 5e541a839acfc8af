"""The journal: add, search and delete notes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from myassistant.core import clock
from myassistant.core.errors import NotFound
from myassistant.memory.schemas import MemoryCreate
from myassistant.memory.tables import MemoryNote


def create(session: Session, *, note: MemoryCreate) -> MemoryNote:
    row = MemoryNote(
        text=note.text,
        tags=note.tags,
        symbol=note.symbol.upper() if note.symbol else None,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def list_(
    session: Session,
    *,
    q: str | None = None,
    tag: str | None = None,
    symbol: str | None = None,
    limit: int = 50,
) -> Sequence[MemoryNote]:
    """Newest first; `q` matches text case-insensitively, `tag` and `symbol` exactly."""
    query = select(MemoryNote).order_by(MemoryNote.created_at.desc(), MemoryNote.id.desc()).limit(limit)
    if q:
        query = query.where(MemoryNote.text.icontains(q, autoescape=True))
    if tag:
        query = query.where(_has_tag(session, tag.strip().lower()))
    if symbol:
        query = query.where(MemoryNote.symbol == symbol.upper())
    return session.scalars(query).all()


def delete(session: Session, *, note_id: int) -> None:
    row = session.get(MemoryNote, note_id)
    if row is None:
        raise NotFound(f"memory note {note_id} not found")
    session.delete(row)


def _has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(MemoryNote.tags, JSONB).contains([tag])
    each = func.json_each(MemoryNote.tags).table_valued("value")
    return exists().where(each.c.value == tag)
