"""API models of the journal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

TAG_PATTERN = r"^[A-Za-z0-9_.:/-]{1,40}$"  # for the schema; the validator also takes any-case letters


class MemoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)
    tags: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="1-40 letters, digits or _.:/- each; stored lower-case",
        json_schema_extra={"items": {"type": "string", "pattern": TAG_PATTERN}},
    )
    symbol: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9/:._-]+$")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, tags: list[str]) -> list[str]:
        normalised: list[str] = []
        for tag in tags:
            tag = tag.strip().lower()
            if not tag or len(tag) > 40 or not all(c.isalnum() or c in "_.:/-" for c in tag):
                raise ValueError(f"invalid tag {tag!r}: 1-40 letters, digits or _.:/-")
            if tag not in normalised:
                normalised.append(tag)
        return normalised


class MemoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    tags: list[str]
    symbol: str | None
    created_at: datetime
