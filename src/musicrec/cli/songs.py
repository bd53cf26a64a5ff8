"""Commands about songs: search, recommend, related artists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from musicrec.cli.common import (
    JsonOption,
    LibraryOption,
    LimitOption,
    app,
    knob_pairs,
    library_path,
)
from musicrec.library import Library
from musicrec.recommend import Recommendations
from musicrec.request import RecommendRequest, read_knobs
from musicrec.schema import TUNABLE
from musicrec.terminal import console, err_console, knobs_help, user_errors


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Title and/or artist words; typos are fine.")],
    library: LibraryOption = None,
    limit: LimitOption = 10,
    as_json: JsonOption = False,
) -> None:
    """Find songs by title and/or artist."""
    with user_errors():
        lib = Library.open(library_path(library))
        hits = lib.search(query, limit).items
    if as_json:
        print(json.dumps(hits, default=str, indent=2))
        return
    table = Table("id", "title", "artist", "album", "year")
    for h in hits:
        table.add_row(h["id"], h["name"], ", ".join(h["artists"]), h.get("album") or "",
                      str(h.get("year") or ""))
    console.print(table if hits else f"no songs match {query!r}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def recommend(
    ctx: typer.Context,
    seed: Annotated[list[str] | None, typer.Option(
        "--seed", help="Track id, artist id, 'artist:NAME' or a search query; 1 to 5.")]
    = None,
    seed_audio: Annotated[list[Path] | None, typer.Option(
        "--seed-audio", help="An audio file, analysed into audio features (needs the "
        "audio extra).")] = None,
    library: LibraryOption = None,
    limit: LimitOption = 10,
    no_explicit: Annotated[bool, typer.Option("--no-explicit", help="Leave out explicit songs.")]
    = False,
    max_per_artist: Annotated[int, typer.Option("--max-per-artist", min=1)] = 2,
    diversity: Annotated[float, typer.Option("--diversity", min=0.0, max=1.0,
                                             help="0 = closest first, 1 = most varied.")] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Recommend songs like the seeds."""
    with user_errors():
        knobs = read_knobs(knob_pairs(ctx.args))
        lib = Library.open(library_path(library))
        seeds = [lib.resolve_seed(s) for s in seed or []]
        for resolved in seeds:
            if resolved.guessed:
                err_console.print(f"seed → {resolved.label}", highlight=False)
        sounds = [audio_seed(path) for path in seed_audio or []]
        result = lib.recommend(RecommendRequest.parse(
            seed_tracks=[s.id for s in seeds if s.kind == "track"],
            seed_artists=[s.id for s in seeds if s.kind == "artist"],
            seed_features=sounds,
            limit=limit, target=knobs.target, min=knobs.min, max=knobs.max,
            explicit=False if no_explicit else None, max_per_artist=max_per_artist,
            diversity=diversity))
    if as_json:
        print(json.dumps(recommendations_json(result), default=str, indent=2))
    else:
        print_recommendations(result)


recommend.__doc__ = f"{recommend.__doc__} {knobs_help('--target-X, --min-X and --max-X')}"


def audio_seed(path: Path) -> dict[str, float]:
    """The known audio features of a file, as a seed.

    Raises:
        MusicrecError: the audio extra is missing or the file cannot be analysed.
    """
    from musicrec.audio import analyze_file

    result = analyze_file(path)
    known = {k: float(v) for k, v in result.features.items()
             if v is not None and k in TUNABLE and k != "year"}
    err_console.print(f"seed → {path.name}: " + ", ".join(
        f"{k} {v:g}" for k, v in known.items()), highlight=False)
    return known


def recommendations_json(result: Recommendations) -> dict[str, Any]:
    return {"seeds": [s.__dict__ for s in result.seeds],
            "tracks": [{**r.track, "score": r.score, "similarity": r.similarity,
                        "seed": r.seed, "explanation": r.explanation} for r in result.tracks]}


def print_recommendations(result: Recommendations) -> None:
    console.print("Seeds: " + "; ".join(f"{s.label} ({s.type.lower()})" for s in result.seeds),
                  highlight=False)
    table = Table("#", "title", "artist", "year", "score", "why")
    for i, r in enumerate(result.tracks, 1):
        t = r.track
        table.add_row(str(i), t["name"], ", ".join(t["artists"]), str(t.get("year") or ""),
                      f"{r.score:.3f}", r.explanation)
    console.print(table if result.tracks else "no songs satisfy these filters")


@app.command()
def related(
    artist: Annotated[str, typer.Argument(help="Artist id or name.")],
    library: LibraryOption = None,
    limit: LimitOption = 10,
    as_json: JsonOption = False,
) -> None:
    """Artists whose songs sound like this artist's."""
    with user_errors():
        lib = Library.open(library_path(library))
        resolved = lib.resolve_seed(artist if lib.artist_row_of(artist) is not None
                                    else f"artist:{artist}")
        found = lib.related_artists(lib.artist_row_of(resolved.id), limit)
    if as_json:
        print(json.dumps({"artist": resolved.id, "related": found}, indent=2))
        return
    table = Table("#", "artist", "songs", "similarity", title=f"Artists like {resolved.label}")
    for i, a in enumerate(found, 1):
        table.add_row(str(i), a["name"], f"{a['tracks']:,}", f"{a['similarity']:.3f}")
    console.print(table)
