"""What every command prints through: the two consoles, the one-line error rule, the check of
an output file before the work that fills it, and the help of the feature knobs."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from musicrec.errors import MusicrecError
from musicrec.schema import TUNABLE

console = Console()
err_console = Console(stderr=True)


def knobs_help(options: str) -> str:
    """The sentence that ends the help of a command taking feature knobs, e.g. for
    ``options="--min-X and --max-X (hard filters)"``."""
    return f"Also takes {options} for X in {', '.join(TUNABLE)}."


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


def check_output(path: Path, suffixes: Collection[str] = ()) -> None:
    """Fail unless a file can be written at `path`: called before the work that fills it.

    Args:
        path: the file an `--out` option names.
        suffixes: the extensions its writer takes (e.g. ``{".wav"}``); empty for any.

    Raises:
        MusicrecError: a folder, a missing folder, another extension, or no permission.
    """
    if path.is_dir():
        raise MusicrecError(f"--out {path} is a folder; give a file name")
    if suffixes and path.suffix.lower() not in suffixes:
        raise MusicrecError(f"--out {path}: the file name must end in "
                            f"{' or '.join(sorted(suffixes))}")
    if not path.parent.is_dir():
        raise MusicrecError(f"--out {path}: there is no folder {path.parent}")
    existed = path.exists()
    try:  # the only sure test: permissions, read-only disks and root all have their say
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise MusicrecError(f"--out {path}: cannot write there ({exc.strerror})") from None
    if not existed:
        path.unlink()
