"""The product's one rule for control characters in text, at the API and for what feeds and exchanges send.

Refused (or, in text from outside, removed): the C0 and C1 control characters except tab, line feed
and carriage return, DEL, and lone UTF-16 surrogates. PostgreSQL refuses NUL in text where SQLite
stores it, and a surrogate cannot be encoded at all: one rule keeps both backends alike.
"""

from __future__ import annotations

import re

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same rule as a JSON Schema pattern for the API's text (lone surrogates cannot be written in one).
PLAIN_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def first_control_character(text: str) -> int | None:
    """Position of the first refused character in `text`, or None when it has none."""
    found = CONTROL_CHARACTERS.search(text)
    return None if found is None else found.start()


def without_control_characters(text: str, replacement: str = "") -> str:
    """`text` with every refused character replaced (removed by default)."""
    return CONTROL_CHARACTERS.sub(replacement, text)


def describe_character(text: str, position: int) -> str:
    """`U+0000 at position 3`, for error messages."""
    return f"U+{ord(text[position]):04X} at position {position}"
