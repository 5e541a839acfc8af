from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from myassistant.core.config import Settings

GOOD_TOKEN = "0123456789abcdef0123"


def build(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_bind_loopback_and_use_sqlite(monkeypatch) -> None:
    for name in (
        "DATABASE_URL",
        "HOST",
        "API_TOKEN",
        "PORT",
        "EXCHANGE_API_OVERRIDE",
        "TELEGRAM_API_BASE",
        "NEWS_FEEDS",
        "NEWS_ALLOW_PRIVATE_HOSTS",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = build()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.database_url == "sqlite:///./data/myassistant.db"
    assert settings.api_token is None
    assert settings.default_exchange == "bybit" and settings.default_timeframe == "15m"
    assert settings.default_horizon_steps == 12
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.exchange_api_override is None
    assert len(settings.news_feeds) >= 3
    assert settings.news_allow_private_hosts is False


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"host": "0.0.0.0"}, "set API_TOKEN"),
        ({"host": "192.168.1.10"}, "set API_TOKEN"),
        ({"host": "myhost.lan"}, "set API_TOKEN"),
        ({"api_token": ""}, "empty"),
        ({"api_token": "   "}, "empty"),
        ({"api_token": "short"}, "too short"),
        ({"cors_origins": "*", "cors_allow_credentials": True}, "CORS"),
    ],
)
def test_unsafe_combinations_refuse_to_start(values: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build(**values)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    assert build(host=host).host == host


def test_public_bind_is_allowed_with_a_long_token() -> None:
    settings = build(host="0.0.0.0", api_token=GOOD_TOKEN)
    assert settings.api_token is not None
    assert GOOD_TOKEN not in repr(settings)


def test_environment_variables_are_read(monkeypatch) -> None:
    monkeypatch.setenv("NEWS_FEEDS", "http://a.example/rss, http://b.example/atom ,")
    monkeypatch.setenv("DEFAULT_HORIZON_STEPS", "24")
    monkeypatch.setenv("UI_LANG", "ru")
    monkeypatch.setenv("SCHEDULER_ENABLED", "0")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = build()
    assert settings.news_feeds == ["http://a.example/rss", "http://b.example/atom"]
    assert settings.default_horizon_steps == 24
    assert settings.ui_lang == "ru"
    assert settings.scheduler_enabled is False
    assert settings.log_level == "DEBUG"


def test_lang_from_the_operating_system_is_ignored(monkeypatch) -> None:
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.delenv("UI_LANG", raising=False)
    assert build().ui_lang == "en"


def test_secret_values_include_token_and_dsn_password() -> None:
    settings = build(api_token=GOOD_TOKEN, database_url="postgresql+psycopg://u:pa55word@h/db")
    assert set(settings.secret_values()) == {GOOD_TOKEN, "pa55word"}
