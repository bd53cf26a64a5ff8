"""What every command prints through: the two consoles and the one-line error rule."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from musicrec.errors import MusicrecError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a user's mistake as one line and exit 1, never as a traceback."""
    try:
        yield
    except MusicrecError as exc:
        # escape: a message such as "pip install musicrec[audio]" is text, not Rich markup.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(1) from None
