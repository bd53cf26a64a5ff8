"""`python -m musicrec.cli`, as the `musicrec` script."""

from musicrec.cli import app

app()
