"""The notify config document and the Notify API's input and output models."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from myassistant.core.i18n import Lang

TOKEN_PATTERN = re.compile(r"^\d{5,12}:[A-Za-z0-9_-]{30,64}$")
CHANNEL_PATTERN = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{4,31}$")
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
MAX_PROFILES = 20
MAX_VERSION = 2**31 - 1
MAX_CHAT_ID = 10**15  # Telegram ids fit in 52 bits; supergroups look like -100 followed by 10 digits

Source = Literal["both", "endpoint", "scheduler"]
ChatId = int | str
DEFAULT_PROFILE = "default"


def validate_chat_id(value: object) -> ChatId | None:
    """An integer chat id (negative for groups) or `@channelname`; numeric strings become integers."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,20}\s*", value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value == 0 or abs(value) >= MAX_CHAT_ID:
            raise ValueError("chat_id must be a non-zero chat id of at most 15 digits, as Telegram shows it")
        return value
    if isinstance(value, str):
        text = value.strip()
        if CHANNEL_PATTERN.fullmatch(text):
            return text
    raise ValueError(
        "chat_id must be an integer chat id (negative for groups) or @channelname "
        "(5-32 letters, digits or underscores, starting with a letter)"
    )


def validate_token(value: str | None) -> str | None:
    """The token's shape only; the value never appears in the message."""
    if value is None:
        return None
    if not TOKEN_PATTERN.fullmatch(value):
        raise ValueError(
            "token must look like '<bot id>:<secret>' as @BotFather gives it: 5-12 digits, a colon, "
            "then 30-64 letters, digits, '_' or '-'"
        )
    return value


class NotifyRules(BaseModel):
    """When a signal becomes a Telegram message, for one profile."""

    model_config = ConfigDict(extra="forbid")

    buy: bool = Field(default=True, description="notify BUY signals")
    flat_min_prob: float | None = Field(
        default=None, ge=0.0, le=1.0, description="notify FLAT only when prob >= this; null = never"
    )
    source: Source = Field(
        default="both",
        description="which origins notify: both, endpoint (on-demand: endpoint and actions) or scheduler",
    )
    include_blocked: bool = Field(
        default=False, description="also notify BUYs the risk policy blocked, marked as blocked"
    )
    max_delay_minutes: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="skip signals whose bar closed more than this many minutes ago; null = no limit",
    )
    alerts: bool = Field(
        default=True, description="also send alerts: a job or feed that keeps failing, a stale model"
    )


def _default_profiles() -> dict[str, NotifyRules]:
    return {DEFAULT_PROFILE: NotifyRules()}


class NotifyConfig(BaseModel):
    """The `notify_config` document: Telegram credentials, language and rule profiles."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    enabled: bool = False
    token: str | None = Field(default=None, validate_default=True, description="bot token from @BotFather")
    chat_id: ChatId | None = Field(default=None, validate_default=True)
    lang: Lang | None = Field(default=None, description="message language; null = the UI_LANG setting")
    profiles: dict[str, NotifyRules] = Field(default_factory=_default_profiles)
    active_profile: str = Field(default=DEFAULT_PROFILE, validate_default=True)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = validate_token(value.strip() if value is not None else None)
        if value is None and info.data.get("enabled"):
            raise ValueError("a token is required while notifications are enabled")
        return value

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_shape(cls, value: object, info: ValidationInfo) -> object:
        chat_id = validate_chat_id(value)
        if chat_id is None and info.data.get("enabled"):
            raise ValueError("a chat_id is required while notifications are enabled")
        return chat_id

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, profiles: dict[str, NotifyRules]) -> dict[str, NotifyRules]:
        if not profiles:
            raise ValueError("at least one profile is required")
        if len(profiles) > MAX_PROFILES:
            raise ValueError(f"at most {MAX_PROFILES} profiles")
        bad = [name for name in profiles if not re.fullmatch(PROFILE_NAME_PATTERN, name)]
        if bad:
            raise ValueError(f"profile names are 1-32 letters, digits, '_' or '-': {bad[0][:40]!r}")
        return profiles

    @field_validator("active_profile")
    @classmethod
    def _active_exists(cls, value: str, info: ValidationInfo) -> str:
        profiles = info.data.get("profiles")
        if profiles is not None and value not in profiles:
            raise ValueError(f"active_profile {value[:40]!r} is not one of the profiles {sorted(profiles)}")
        return value

    def rules(self) -> NotifyRules:
        """The active profile's rules."""
        return self.profiles[self.active_profile]

    def effective_lang(self, default: Lang) -> Lang:
        return self.lang or default


class NotifyRulesUpdate(BaseModel):
    """Partial rules: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    # None means "not given": a null for these would reach the merged document, which refuses it.
    buy: bool | None = Field(default=None, json_schema_extra=lambda schema: _not_null(schema))
    flat_min_prob: float | None = Field(default=None, ge=0.0, le=1.0)
    source: Source | None = Field(default=None, json_schema_extra=lambda schema: _not_null(schema))
    include_blocked: bool | None = Field(default=None, json_schema_extra=lambda schema: _not_null(schema))
    max_delay_minutes: int | None = Field(default=None, ge=1, le=100_000)
    alerts: bool | None = Field(default=None, json_schema_extra=lambda schema: _not_null(schema))


def _not_null(schema: dict[str, Any]) -> None:
    """Schema: the field may be omitted, but not sent as null (the validator below refuses null)."""
    schema["anyOf"] = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    schema.pop("default", None)


def _profile_name(schema: dict[str, Any]) -> None:
    _not_null(schema)
    for option in schema["anyOf"]:
        option["pattern"] = PROFILE_NAME_PATTERN


# The schema states what the validators accept: a token of @BotFather's shape, a chat id or
# @channelname, profile names of the allowed form (the masked token echoed back also keeps the token).
TOKEN_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "pattern": TOKEN_PATTERN.pattern}, {"type": "null"}]
}
CHAT_ID_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": -(MAX_CHAT_ID - 1), "maximum": MAX_CHAT_ID - 1, "not": {"const": 0}},
        {"type": "string", "pattern": r"^-?[1-9][0-9]{0,14}$"},
        {"type": "string", "pattern": CHANNEL_PATTERN.pattern},
        {"type": "null"},
    ]
}


class NotifyConfigUpdate(BaseModel):
    """A partial update: omitted fields keep their value; the masked token echoed back keeps the token.

    `profiles` merges by name: a profile given as an object updates (or creates) that profile with
    the fields given, a profile given as `null` is removed.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    enabled: bool | None = Field(default=None, json_schema_extra=_not_null)
    token: str | None = Field(
        default=None, max_length=200, description="null removes the token", json_schema_extra=TOKEN_SCHEMA
    )
    chat_id: int | str | None = Field(
        default=None,
        description="integer id or @channelname; null removes it",
        json_schema_extra=CHAT_ID_SCHEMA,
    )
    lang: Lang | None = None
    profiles: dict[str, NotifyRulesUpdate | None] | None = Field(
        default=None,
        max_length=MAX_PROFILES,
        json_schema_extra=lambda schema: _profile_names(schema),
    )
    active_profile: str | None = Field(
        default=None,
        max_length=32,
        description="one of the profiles (after this update)",
        json_schema_extra=_profile_name,
    )
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=MAX_VERSION,
        description="refuse the update (409) unless the stored version is this one",
    )

    @field_validator("enabled", "profiles", "active_profile")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null; omit it to keep the current value")
        return value


def _profile_names(schema: dict[str, Any]) -> None:
    _not_null(schema)
    for option in schema["anyOf"]:
        if option.get("type") == "object":
            option["propertyNames"] = {"pattern": PROFILE_NAME_PATTERN}


class NotifyConfigPublic(BaseModel):
    """The document's fields as clients see them: the token masked (first 4 and last 2 characters)."""

    enabled: bool
    token: str | None = Field(description="masked")
    chat_id: int | str | None
    lang: Lang | None
    profiles: dict[str, NotifyRules]
    active_profile: str


class NotifyConfigRead(BaseModel):
    """The same shape as every config document's GET (name, version, updated_at, value), plus two facts."""

    name: str
    version: int = Field(description="0 = never written (defaults)")
    updated_at: datetime | None
    value: NotifyConfigPublic
    token_set: bool = Field(description="a token is stored (the value shows it masked)")
    effective_lang: Lang = Field(description="lang, or UI_LANG when lang is null")


Outcome = Literal[
    "ok",
    "bad_token",
    "chat_not_found",
    "forbidden",
    "rate_limited",
    "unreachable",
    "server_error",
    "bad_request",
    "conflict",
]


class NotifyTestResult(BaseModel):
    """What Telegram answered to the test message."""

    ok: bool
    outcome: Outcome
    detail: str
    chat_id: int | str
    message_id: int | None = None
    bot_username: str | None = None


NotificationStatus = Literal["sent", "failed", "skipped", "already_handled", "error"]


class NotificationResult(BaseModel):
    """What `maybe_send_signal_notification` did for one signal event (it never raises)."""

    status: NotificationStatus = Field(
        description="sent now; failed (stored, retried later when retryable); skipped by the rules; "
        "already_handled by an earlier or concurrent call; error (unexpected, logged)"
    )
    reason: str = Field(description="which rule decided, or Telegram's answer in clear words")
    notification_id: int | None = None
    chat_id: int | str | None = None
    message_id: int | None = None
    outcome: str | None = Field(
        default=None, description="Telegram's answer to the last attempt (see Outcome)"
    )
    attempts: int = Field(default=0, description="HTTP attempts made by this call")
    retryable: bool | None = None
