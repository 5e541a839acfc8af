"""The structure holds: every package has its place in the layer contract that `make lint` checks, and
the pure core pulls in no database, web or network library, even indirectly."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import myassistant

PACKAGE = Path(myassistant.__file__).parent
IO_LIBRARIES = {"sqlalchemy", "fastapi", "starlette", "httpx", "apscheduler", "ccxt", "uvicorn", "psycopg"}
# Pure modules that are not named logic.py.
OTHER_PURE_MODULES = (
    "myassistant.core.i18n",
    "myassistant.notify.text",
    "myassistant.trading.costs",
    "myassistant.signals.risk",
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


ROOT = PACKAGE.parent.parent
NOT_LAYERED = {"peers"}  # outside the stack: its own contract lets it import only the core


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["contracts"])


def _layered_packages() -> set[str]:
    [layers] = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    return {name.split(".")[1] for layer in layers for name in re.findall(r"myassistant\.\w+", str(layer))}


def test_every_package_has_its_place_in_the_layer_contract() -> None:
    packages = {module.name for module in pkgutil.iter_modules([str(PACKAGE)])}
    assert packages - NOT_LAYERED <= _layered_packages(), "place the new package in [tool.importlinter]"
    peers = next(c for c in _contracts() if c.get("source_modules") == ["myassistant.peers"])
    assert {m.split(".")[1] for m in peers["forbidden_modules"]} == packages - {"core", "peers"}


def test_the_import_contracts_hold() -> None:
    """The same check as `make lint`: an upward import fails with a message naming it."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_no_module_imports_itself_through_a_cycle() -> None:
    """Not only packages: no module of the product reaches itself through its imports."""
    import grimp

    graph = grimp.build_graph("myassistant")
    cycles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert cycles == []
