"""The Streamlit dashboard: an entry point that sees the service only through its HTTP API.

`app.py` is the script `streamlit run` starts (`myassistant dashboard`, `make dashboard`); each page
is one module under `views/`, listed in `views.PAGES`. Nothing here imports a domain package: the
API's JSON is the contract.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
APP_FILE = PACKAGE_DIR / "app.py"
