"""The `myassistant` command line: the service, migrations, the bot, the peers and one command per job.

Each module adds its commands to `app` (or `peer_app`) from `cli.common`; the order of the imports
below is the order of `--help`.
"""

from myassistant.cli import (
    dashboard,
    demo,
    market,
    models,
    news,
    notify,
    peers,
    replay,
    reports,
    service,
    signals,
)
from myassistant.cli.common import app

__all__ = [
    "app",
    "dashboard",
    "demo",
    "market",
    "models",
    "news",
    "notify",
    "peers",
    "replay",
    "reports",
    "service",
    "signals",
]
