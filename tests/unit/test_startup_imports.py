"""The service starts fast: importing the app loads no charting or templating library (the report
imports them when it is built)."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("matplotlib", "jinja2")


def test_importing_the_api_loads_neither_matplotlib_nor_jinja2() -> None:
    code = (
        "import sys\n"
        "import myassistant.api.app, myassistant.catalog, myassistant.cli\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(LAZY)!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
