"""`python -m myassistant.cli ...`, the same as the `myassistant` console script."""

from myassistant.cli import app

app(prog_name="myassistant")
