"""The notify config document's validation: each problem named on its field, never echoing the token."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from myassistant.notify.schemas import NotifyConfig, NotifyRules

TOKEN = "123456789:AAH" + "x" * 32


def errors(**data: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as excinfo:
        NotifyConfig.model_validate(data)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in excinfo.value.errors()}


def test_defaults_are_disabled_with_one_default_profile() -> None:
    config = NotifyConfig()
    assert not config.enabled and config.token is None and config.chat_id is None
    assert config.active_profile == "default"
    assert config.rules() == NotifyRules(buy=True, flat_min_prob=None, source="both", include_blocked=False)


@pytest.mark.parametrize(
    "token",
    ["123456789", "abc:AAH" + "x" * 32, "1234:AAH" + "x" * 32, "123456789:short", "123456789:AAH" + "x" * 70],
)
def test_malformed_tokens_are_refused_without_echoing_them(token: str) -> None:
    found = errors(token=token)
    assert "token must look like" in found["token"]
    assert token not in str(found)
    with pytest.raises(ValidationError) as excinfo:
        NotifyConfig(token=token)
    assert token not in str(excinfo.value)  # hide_input_in_errors


@pytest.mark.parametrize(
    ("given", "stored"), [(42, 42), ("-1001234567890", -1001234567890), ("@my_channel", "@my_channel")]
)
def test_chat_id_is_an_integer_or_a_channel_name(given: object, stored: object) -> None:
    assert NotifyConfig(chat_id=given).chat_id == stored


@pytest.mark.parametrize("given", ["my_channel", "@ab", "12abc", 0, "0", True, 1.5, "@bad-name", 10**20])
def test_other_chat_ids_are_refused_with_a_clear_message(given: object) -> None:
    message = errors(chat_id=given)["chat_id"]
    assert "chat_id must be" in message


def test_enabling_needs_a_token_and_a_chat() -> None:
    found = errors(enabled=True)
    assert "required while notifications are enabled" in found["token"]
    assert "required while notifications are enabled" in found["chat_id"]
    assert NotifyConfig(enabled=True, token=TOKEN, chat_id=5).enabled


def test_the_active_profile_must_exist() -> None:
    found = errors(profiles={"quiet": {}}, active_profile="loud")
    assert "'loud' is not one of the profiles ['quiet']" in found["active_profile"]


def test_rules_are_checked_field_by_field() -> None:
    found = errors(profiles={"default": {"flat_min_prob": 1.5, "source": "telepathy", "surprise": 1}})
    assert set(found) == {
        "profiles.default.flat_min_prob",
        "profiles.default.source",
        "profiles.default.surprise",
    }


def test_there_is_always_at_least_one_profile_with_a_sane_name() -> None:
    assert "at least one profile" in errors(profiles={})["profiles"]
    assert "profile names" in errors(profiles={"has space": {}}, active_profile="has space")["profiles"]
