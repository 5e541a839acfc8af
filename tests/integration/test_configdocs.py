from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from myassistant.core import configdocs
from myassistant.core.errors import Conflict, InvalidInput


class DemoPolicy(BaseModel):
    enabled: bool = True
    max_items: int = Field(default=5, ge=0)
    token: str | None = None


SPEC = configdocs.register("demo_policy", DemoPolicy, secret_fields=("token",))


def test_missing_doc_reads_as_defaults_at_version_zero(session) -> None:
    doc = configdocs.get(session, SPEC)
    assert doc.value == DemoPolicy()
    assert doc.version == 0 and doc.updated_at is None


def test_each_write_bumps_the_version(session, frozen_clock) -> None:
    first = configdocs.put(session, SPEC, DemoPolicy(max_items=7))
    second = configdocs.patch(session, SPEC, {"enabled": False})
    assert (first.version, second.version) == (1, 2)
    stored = configdocs.get(session, SPEC)
    assert stored.value == DemoPolicy(enabled=False, max_items=7)
    assert stored.version == 2
    assert stored.updated_at == frozen_clock.now()


def test_a_stale_version_is_refused(session) -> None:
    configdocs.put(session, SPEC, DemoPolicy(max_items=1))
    configdocs.put(session, SPEC, DemoPolicy(max_items=2), expected_version=1)
    with pytest.raises(Conflict, match="changed since version 1 \\(now 2\\)"):
        configdocs.put(session, SPEC, DemoPolicy(max_items=3), expected_version=1)
    assert configdocs.get(session, SPEC).value.max_items == 2


def test_creating_with_version_zero_fails_when_someone_created_it_first(session) -> None:
    configdocs.put(session, SPEC, DemoPolicy(), expected_version=0)
    with pytest.raises(Conflict):
        configdocs.put(session, SPEC, DemoPolicy(), expected_version=0)


def test_invalid_patch_names_the_field_and_changes_nothing(session) -> None:
    configdocs.put(session, SPEC, DemoPolicy(max_items=4))
    with pytest.raises(InvalidInput, match="max_items") as excinfo:
        configdocs.patch(session, SPEC, {"max_items": -1})
    assert excinfo.value.extra["errors"][0]["field"] == "max_items"
    assert configdocs.get(session, SPEC).value.max_items == 4


def test_secrets_are_masked_and_an_echoed_mask_keeps_the_secret(session) -> None:
    configdocs.put(session, SPEC, DemoPolicy(token="123456:ABCDEFGHIJKLMNOP"))
    public = SPEC.public_value(configdocs.get(session, SPEC).value)
    assert public["token"] == "1234…OP"
    configdocs.patch(session, SPEC, {"token": public["token"], "max_items": 9})
    assert configdocs.get(session, SPEC).value.token == "123456:ABCDEFGHIJKLMNOP"


def test_concurrent_writers_with_the_same_version_exactly_one_wins(database) -> None:
    with database.session() as session:
        configdocs.put(session, SPEC, DemoPolicy())
    outcomes = []
    for value in (10, 20):
        try:
            with database.session() as session:
                configdocs.put(session, SPEC, DemoPolicy(max_items=value), expected_version=1)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
    assert outcomes == ["ok", "conflict"]
