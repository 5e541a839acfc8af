"""Settings: read once from the environment and `.env`, validated to fail closed."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from myassistant.core.i18n import Lang

DEFAULT_SQLITE_URL = "sqlite:///./data/myassistant.db"
MIN_TOKEN_LENGTH = 16
DASK_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx)://[^\s/]+(:\d{1,5})?/?$")
# The largest legitimate body (a 1,000-entry watchlist) is ~100 KB: 1 MiB leaves room and keeps the
# work one request can cause small.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

DEFAULT_NEWS_FEEDS = (
    "https://www.coindesk.com/arc/outboundfeeds/rss/",
    "https://cointelegraph.com/rss",
    "https://decrypt.co/feed",
    "https://bitcoinmagazine.com/feed",
    "https://www.theblock.co/rss.xml",
)


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def is_loopback_host(host: str) -> bool:
    """True when binding to `host` exposes the server to this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every setting of the product; created once and passed or injected."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_SQLITE_URL
    artifacts_dir: Path = Path("./artifacts")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_token: SecretStr | None = None
    # Request bodies above this many bytes answer 413, before or while they arrive.
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=1024**3)
    enable_docs: bool = True
    offline_docs: bool = True
    scheduler_enabled: bool = True
    news_feeds: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_NEWS_FEEDS))
    # Feed URLs come from callers too: by default a host that resolves to a loopback, private,
    # link-local or otherwise non-public address is refused (the local peers and an intranet feed need 1).
    news_allow_private_hosts: bool = False
    default_exchange: str = "bybit"
    default_timeframe: str = "15m"
    default_horizon_steps: int = Field(default=12, ge=1, le=10_000)
    exchange_api_override: str | None = None
    telegram_api_base: str = "https://api.telegram.org"
    # Run the two-way bot inside the service too (only one process per database polls, by lock).
    telegram_bot_enabled: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    ui_lang: Lang = "en"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    # Training runs in a process of its own that exits when it ends, so the service stays small; 0 runs it
    # in the service's process (tests that patch the training path).
    training_isolated: bool = True
    # An existing Dask cluster for training and replays (through joblib's dask backend); unset: local
    # worker processes.
    dask_scheduler_address: str | None = None

    @field_validator("news_feeds", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("exchange_api_override", "dask_scheduler_address", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dask_scheduler_address")
    @classmethod
    def _dask_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        address = value.strip()
        if not DASK_ADDRESS.fullmatch(address):
            raise ValueError(
                f"DASK_SCHEDULER_ADDRESS={address!r} is not a scheduler address: use "
                "tcp://host:port (or tls://host:port), as `dask scheduler` prints it"
            )
        return address

    @field_validator("api_token", mode="before")
    @classmethod
    def _token_not_blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("API_TOKEN is set but empty; unset it or give a token of 16+ characters")
        return value

    @model_validator(mode="after")
    def _fail_closed(self) -> Settings:
        token = self.api_token.get_secret_value() if self.api_token else None
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"API_TOKEN is too short: use at least {MIN_TOKEN_LENGTH} characters")
        if not is_loopback_host(self.host) and token is None:
            raise ValueError(
                f"HOST={self.host} exposes the API beyond this machine; set API_TOKEN or bind 127.0.0.1"
            )
        if "*" in self.cors_origins and self.cors_allow_credentials:
            raise ValueError("CORS_ORIGINS='*' together with CORS_ALLOW_CREDENTIALS is unsafe; list origins")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds, for log redaction."""
        secrets = [self.api_token.get_secret_value()] if self.api_token else []
        from sqlalchemy.engine import make_url

        password = make_url(self.database_url).password
        if password:
            secrets.append(str(password))
        return secrets

    def ensure_dirs(self) -> None:
        """Create the artifacts dir and the SQLite file's folder."""
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        if self.is_sqlite:
            from sqlalchemy.engine import make_url

            database = make_url(self.database_url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
