"""How `myassistant dashboard` and the demo start Streamlit: the app file shipped in the package,
on loopback, headless, and with nothing that reaches the internet (no usage statistics)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from myassistant.dashboard import APP_FILE

DEFAULT_PORT = 8501
LOOPBACK = "127.0.0.1"
# The same options as environment variables, so a bare `streamlit run <app.py>` started from this
# environment behaves alike.
QUIET_ENV = {
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_HEADLESS": "true",
    "STREAMLIT_GLOBAL_DEVELOPMENT_MODE": "false",
}


def command(*, port: int = DEFAULT_PORT, api: str | None = None) -> list[str]:
    """`python -m streamlit run ...` for a child process."""
    return [sys.executable, "-m", "streamlit", *arguments(port=port, api=api)]


def arguments(*, port: int = DEFAULT_PORT, api: str | None = None) -> list[str]:
    """`streamlit`'s arguments: `run <app.py>` and its options; `api` reaches the app as `--api URL`."""
    line = [
        "run",
        str(APP_FILE),
        "--server.address",
        LOOPBACK,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "light",
    ]
    return line + (["--", "--api", api] if api else [])


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**(os.environ if base is None else base), **QUIET_ENV}


def url(port: int = DEFAULT_PORT) -> str:
    return f"http://{LOOPBACK}:{port}"


def run_here(*, port: int = DEFAULT_PORT, api: str | None = None) -> None:
    """Streamlit in this process, as `streamlit run` would (Ctrl+C or a terminate stop it, no child
    left behind); exits the process when Streamlit stops."""
    from streamlit.web import cli as streamlit_cli

    os.environ.update(QUIET_ENV)
    sys.argv = ["streamlit", *arguments(port=port, api=api)]
    streamlit_cli.main(prog_name="streamlit")


def start(
    *, port: int = DEFAULT_PORT, api: str | None = None, quiet: bool = False
) -> subprocess.Popen[bytes]:
    """Streamlit in a child process (stopped by the caller); `quiet` drops its console output."""
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments, no shell
        command(port=port, api=api), env=environment(), stdout=output, stderr=output
    )
