"""The product's languages and one shape for every text catalog (messages, the bot, alerts, the report).

A catalog holds each key in every language; `TextCatalog` refuses a catalog whose languages disagree,
so a text can never exist in English only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

Lang = Literal["en", "ru"]
LANGS: tuple[Lang, ...] = get_args(Lang)


class TextCatalog:
    """Localised templates by language and key; `t` fills one with values the caller escaped."""

    def __init__(self, texts: Mapping[Lang, Mapping[str, str]]) -> None:
        keys = {lang: set(texts.get(lang, {})) for lang in LANGS}
        reference = keys[LANGS[0]]
        for lang in LANGS[1:]:
            if keys[lang] != reference:
                missing = sorted(reference ^ keys[lang])
                raise ValueError(f"text catalog languages disagree on keys: {missing}")
        self._texts = {lang: dict(texts[lang]) for lang in LANGS}

    def t(self, lang: Lang, key: str, **values: object) -> str:
        """The template `key` in `lang`, filled with `values`."""
        return self._texts[lang][key].format(**values)

    def get(self, lang: Lang, key: str, default: str) -> str:
        """The raw template, or `default` when the catalog has no such key."""
        return self._texts[lang].get(key, default)

    def keys(self) -> set[str]:
        return set(self._texts[LANGS[0]])

    def __add__(self, other: TextCatalog) -> TextCatalog:
        """Both catalogs' keys (the right one wins a clash): a consumer extends a shared catalog."""
        return TextCatalog({lang: {**self._texts[lang], **other._texts[lang]} for lang in LANGS})
