"""The `prompt` command (songs for a prompt in words) and the prompts' evaluation table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from musicrec.cli.common import JsonOption, LibraryOption, LimitOption, app, library_path
from musicrec.library import Library
from musicrec.prompts.answer import answer_prompt
from musicrec.terminal import console, user_errors


@app.command()
def prompt(
    text: Annotated[str, typer.Argument(help=(
        "What to play, in any order: 'like'/'by' an artist or song, a \"quoted title\", "
        "'not X' or '-X', 90s or 1990-1995, 120 bpm or 'under 100 bpm', #genre, and words "
        "such as calm, fast, acoustic or any word learned from playlist titles."))],
    library: LibraryOption = None,
    limit: LimitOption = 10,
    as_json: JsonOption = False,
) -> None:
    """Songs for a prompt in words, and how each part of it was read."""
    with user_errors():
        lib = Library.open(library_path(library))
        found = answer_prompt(lib, text, limit)
    interpretation = found.reading.interpretation()
    if as_json:
        print(json.dumps({"tracks": found.tracks, "interpretation": interpretation},
                         default=str, indent=2))
        return
    for part in found.reading.parts:
        console.print(part.said(), highlight=False)
    if interpretation["unknown"]:
        console.print("not understood: " + ", ".join(interpretation["unknown"]),
                      highlight=False)
    table = Table("title", "artist", "year")
    for t in found.tracks:
        table.add_row(t["name"], ", ".join(t["artists"]), str(t.get("year") or ""))
    console.print(table)


def print_prompt_evaluation(lib: Library, playlists: Path, rng_seed: int, out: Path | None,
                            as_json: bool) -> None:
    """The table of `musicrec.evaluate.prompts.evaluate_prompts`."""
    from musicrec.evaluate.prompts import evaluate_prompts

    data = evaluate_prompts(lib, playlists, rng_seed)
    if out is not None:
        out.write_text(json.dumps(data, indent=2))
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table("method", "hit@10", "R-precision", "answered",
                  title=f"title-only prompts: {data['held-out playlists']:,} held-out playlists "
                        f"(at least {data['min songs']} songs), learned from "
                        f"{data['train playlists']:,}")
    for name, m in data["methods"].items():
        table.add_row(name, f"{m['hit@10']:.3f}", f"{m['R-precision']:.3f}",
                      f"{m['answered']:.3f}")
    console.print(table)
