"""What every command shares: the `musicrec` Typer app, the common options, the library
folder, knob parsing and the build progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from musicrec.build import BuildProgress
from musicrec.config import Settings
from musicrec.errors import InvalidQueryError
from musicrec.terminal import err_console

app = typer.Typer(help="Music recommendations over Spotify audio features.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

LimitOption = Annotated[int, typer.Option("--limit", min=1, max=100, help="How many.")]
LibraryOption = Annotated[Path | None, typer.Option(
    "--library", envvar="MUSICREC_LIBRARY", help="Library folder (default: per-user data dir).",
    show_default=False)]


def library_path(library: Path | None) -> Path:
    return library if library is not None else Settings().library_path()


class RichBuildProgress(BuildProgress):
    """One Rich progress bar per build stage."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def start(self, stage: str, total: int) -> None:
        self.tasks[stage] = self.progress.add_task(stage, total=total)

    def advance(self, stage: str, amount: int) -> None:
        self.progress.advance(self.tasks[stage], amount)


def progress() -> Progress:
    return Progress(TextColumn("{task.description:<10}"), BarColumn(),
                    TextColumn("{task.percentage:>5.0f}%"), TimeElapsedColumn(),
                    console=err_console, transient=False)


def knob_pairs(args: list[str]) -> list[tuple[str, str]]:
    """`--target-energy 0.8 --min-year=1990` as [("target-energy", "0.8"), ("min-year", "1990")].

    Raises:
        InvalidQueryError: an option without a value, or an argument that is not an option.
    """
    pairs = []
    i = 0
    while i < len(args):
        name, _, value = args[i].partition("=")
        if not name.startswith("--"):
            raise InvalidQueryError(f"unexpected argument {args[i]!r}")
        if not value:
            if i + 1 >= len(args):
                raise InvalidQueryError(f"option {args[i]} needs a value")
            i += 1
            value = args[i]
        pairs.append((name.removeprefix("--"), value))
        i += 1
    return pairs
