"""The pure core stays pure: no module of it pulls in a database, web or network library, even indirectly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import myassistant

PACKAGE = Path(myassistant.__file__).parent
IO_LIBRARIES = {"sqlalchemy", "fastapi", "starlette", "httpx", "apscheduler", "ccxt", "uvicorn", "psycopg"}
# Pure modules that are not named logic.py.
OTHER_PURE_MODULES = (
    "myassistant.core.i18n",
    "myassistant.notify.text",
    "myassistant.trading.costs",
    "myassistant.signals.risk",
    "myassistant.ml.timeframes",
    "myassistant.ml.features",
    "myassistant.ml.labels",
    "myassistant.ml.backtest",
    "myassistant.ml.dataset",
    "myassistant.ml.predictors",
    "myassistant.ml.training",
)


def pure_modules() -> list[str]:
    logic = sorted(f"myassistant.{path.parent.name}.logic" for path in PACKAGE.glob("*/logic.py"))
    return logic + list(OTHER_PURE_MODULES)


def test_every_domain_with_a_logic_module_is_checked() -> None:
    assert {
        "myassistant.news.logic",
        "myassistant.market.logic",
        "myassistant.signals.logic",
        "myassistant.trading.logic",
        "myassistant.notify.logic",
        "myassistant.bot.logic",
        "myassistant.alerts.logic",
    } <= set(pure_modules())


def test_pure_modules_load_no_database_web_or_network_library() -> None:
    code = (
        "import sys\n"
        f"for name in {pure_modules()!r}: __import__(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & " + repr(IO_LIBRARIES) + "))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
