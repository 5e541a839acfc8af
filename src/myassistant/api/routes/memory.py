"""Memory: the assistant's journal."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from myassistant.api.deps import RowId, SessionDep
from myassistant.memory import service
from myassistant.memory.schemas import MemoryCreate, MemoryRead

router = APIRouter(tags=["Memory"])


@router.post("/memory", response_model=MemoryRead, status_code=status.HTTP_201_CREATED)
def add_note(body: MemoryCreate, session: SessionDep) -> MemoryRead:
    """Store a note with optional tags and symbol."""
    return MemoryRead.model_validate(service.create(session, note=body))


@router.get("/memory", response_model=list[MemoryRead])
def list_notes(
    session: SessionDep,
    q: str | None = Query(None, max_length=200, description="text to look for"),
    tag: str | None = Query(None, max_length=40),
    symbol: str | None = Query(None, max_length=32),
    limit: int = Query(50, ge=1, le=500),
) -> list[MemoryRead]:
    """Notes, newest first, filtered by text, tag and symbol."""
    rows = service.list_(session, q=q, tag=tag, symbol=symbol, limit=limit)
    return [MemoryRead.model_validate(row) for row in rows]


@router.delete(
    "/memory/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such note"}},
)
def delete_note(note_id: RowId, session: SessionDep) -> Response:
    """Delete one note."""
    service.delete(session, note_id=note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
