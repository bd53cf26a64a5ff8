"""The sound families: rebuild them, list both levels, show one family's profile."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from musicrec.cli.common import LibraryOption, app, library_path
from musicrec.library import Library
from musicrec.terminal import console, user_errors


@app.command("families")
def families_command(
    library: LibraryOption = None,
    count: Annotated[int | None, typer.Option(
        "--count", min=2, help="Re-cluster into this many families.")] = None,
    show: Annotated[bool, typer.Option(
        "--show", help="Print the families and their sub-families as a table.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print both levels as JSON: id, key, parent, name, size, profile, top "
                       "artists and each word's evidence.")] = False,
) -> None:
    """Rebuild the sound families (with --count, or with no option), or list them (--show,
    --json)."""
    from musicrec.build import rebuild_families

    path = library_path(library)
    with user_errors():
        if count is not None or not (show or as_json):
            rebuild_families(path, count)
        lib = Library.open(path)
    families = lib.families
    if as_json:
        print(json.dumps({"method": families.method, "catalogue_means":
                          families.families[0].catalogue_means,
                          "families": [f.record() for f in families.families],
                          "subfamilies": [f.record() for f in families.subfamilies]},
                         indent=1, ensure_ascii=False))
        return
    table = Table("id", "family", "songs", "years", "top artists",
                  title=f"{len(families.families)} sound families, "
                        f"{len(families.subfamilies)} sub-families ({families.method})")
    for f in families.families:
        table.add_row(f.key, f"[bold]{f.name}[/]", f"{f.size:,}", f"{f.years[0]}–{f.years[2]}",
                      ", ".join(a for a, _ in f.top_artists[:3]))
        for sub in (families.subfamilies[i] for i in f.children):
            table.add_row(f"  {sub.key}", f"  {sub.name}", f"{sub.size:,}",
                          f"{sub.years[0]}–{sub.years[2]}",
                          ", ".join(a for a, _ in sub.top_artists[:3]))
    console.print(table)


@app.command()
def family(
    key: Annotated[str, typer.Argument(help='Family or sub-family: key ("3", "3.2") or name.')],
    library: LibraryOption = None,
) -> None:
    """Print one sound family's (or sub-family's) profile."""
    with user_errors():
        lib = Library.open(library_path(library))
        f = lib.families.by_name_or_id(key)
        examples = lib.tracks(f.central_rows[:5])
    neighbours, children = lib.families.related(f)
    level = "family" if f.parent is None else \
        f"sub-family of {lib.families.families[f.parent].name}"
    console.print(f"[bold]{f.name}[/] ({level} {f.key}): {f.size:,} songs, "
                  f"years {f.years[0]}–{f.years[2]} (median {f.years[1]})", highlight=False)
    profile = Table("feature", "family mean", "catalogue mean")
    for name, value in f.feature_means.items():
        profile.add_row(name, f"{value:.3g}", f"{f.catalogue_means.get(name, float('nan')):.3g}")
    console.print(profile)
    console.print("Why the name: " + "; ".join(_evidence(w) for w in f.words), highlight=False)
    console.print("Best examples: " + "; ".join(
        f"{t['name']} — {', '.join(t['artists'])}" for t in examples), highlight=False)
    console.print("Frequent artists: " + ", ".join(f"{a} ({n})" for a, n in f.top_artists),
                  highlight=False)
    console.print("Nearest: " + ", ".join(n.name for n in neighbours), highlight=False)
    if children:
        console.print("Sub-families: " + ", ".join(f"{c.key} {c.name}" for c in children),
                      highlight=False)


def _evidence(word: dict[str, object]) -> str:
    """One word of a family's name and what backs it, in a few words."""
    if "rank" in word:
        return (f"{word['word']}: median {word['feature']} {word['family_median']:.3g} "
                f"(catalogue {word['catalogue_median']:.3g}), typical song above "
                f"{float(word['rank']):.0%} of the catalogue")  # type: ignore[arg-type]
    if "share" in word:
        return f"{word['word']}: {float(word['share']):.0%} of its songs"  # type: ignore[arg-type]
    return f"{word['word']}: median year {word['family_median']}"
