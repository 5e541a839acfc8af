"""Where the service is and which token to send: from `--api URL`, else from the settings."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

from myassistant.core.config import Settings

WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]"}  # noqa: S104 - bind addresses, mapped to loopback to connect


@dataclass(frozen=True)
class Connection:
    """Where the service is and the token to send (None: send none)."""

    base_url: str
    token: str | None = field(default=None, repr=False)


def connection_from(argv: Sequence[str], settings: Settings) -> Connection:
    """`--api URL` from the script's arguments, else the service the settings describe (HOST, PORT)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--api", default=None)
    given, _ = parser.parse_known_args(list(argv))
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    base_url = (given.api or f"http://{host}:{settings.port}").rstrip("/")
    token = settings.api_token.get_secret_value() if settings.api_token else None
    return Connection(base_url=base_url, token=token)
