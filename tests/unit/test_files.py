"""Files written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from myassistant.core.files import write_atomically


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "daily.html"
    write_atomically(target, b"first")
    write_atomically(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["daily.html"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_one(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "daily.html"
    write_atomically(target, b"the old report")

    def crash(_source: object, _target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"half a new rep")
    assert target.read_bytes() == b"the old report"
    assert [p.name for p in tmp_path.iterdir()] == ["daily.html"]
