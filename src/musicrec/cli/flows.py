"""The `continue`, `journey` and `radio` commands: parse arguments, call `musicrec.flows` or
`musicrec.radio`, print a table, JSON (tracks in the API's track shape) or a playlist file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from musicrec import flows, radio, sequence
from musicrec.api.spotify import Shapes
from musicrec.cli.common import LibraryOption, app, knob_pairs, library_path
from musicrec.config import Settings
from musicrec.errors import InvalidQueryError
from musicrec.library import Library
from musicrec.playlist_files import ImportFormat
from musicrec.playlists import FORMATS, export, format_for_name, load_playlist
from musicrec.request import MAX_SEEDS, read_knobs
from musicrec.terminal import check_output, console, err_console, knobs_help, user_errors

FlowJson = Annotated[bool, typer.Option("--json", help="Print JSON: tracks in the API's "
                                                       "track shape.")]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Also write the songs as a playlist file; the format follows the extension: "
    + ", ".join(f".{f.extension}" for f in FORMATS.values()) + ".", show_default=False)]
NoExplicit = Annotated[bool, typer.Option("--no-explicit", help="Leave out explicit songs.")]
OrderOption = Annotated[str, typer.Option("--order", help=sequence.ORDER_HELP)]
ExcludeArtist = Annotated[list[str] | None, typer.Option(
    "--exclude-artist", help="Leave out an artist's songs: its id or exact name (repeatable).",
    show_default=False)]
ExcludeAlbum = Annotated[list[str] | None, typer.Option(
    "--exclude-album", help="Leave out an album's songs: its id (repeatable).",
    show_default=False)]
FILTERS_HELP = knobs_help("--min-X and --max-X (hard filters)")
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def _filters(args: list[str], no_explicit: bool, artists: list[str] | None,
             albums: list[str] | None) -> dict[str, Any]:
    knobs = read_knobs(knob_pairs(args))
    if knobs.target:
        raise InvalidQueryError("flows take hard filters (--min-X, --max-X), not targets")
    return {"min": knobs.min, "max": knobs.max, "explicit": False if no_explicit else None,
            **_exclusions(artists, albums)}


def _exclusions(artists: list[str] | None, albums: list[str] | None) -> dict[str, Any]:
    return {"exclude_artists": artists or [], "exclude_albums": albums or []}


@app.command("continue", context_settings=EXTRA)
def continue_command(
    ctx: typer.Context,
    playlist: Annotated[str, typer.Argument(
        help="Playlist file (CSV, Spotify URIs, M3U, JSPF, XSPF or MPD JSON), or - for "
             "standard input.")],
    library: LibraryOption = None,
    count: Annotated[int, typer.Option("--count", min=1, max=flows.MAX_ADD,
                                       help="Songs to add.")] = 20,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="csv, uris, m3u, jspf, xspf or mpd (default: from the file).")]
    = None,
    max_per_artist: Annotated[int, typer.Option("--max-per-artist", min=1)] = 2,
    artist_gap: Annotated[int, typer.Option("--artist-gap", help=flows.GAP_HELP)] = 1,
    order: OrderOption = sequence.DEFAULT_ORDER,
    exclude_artist: ExcludeArtist = None,
    exclude_album: ExcludeAlbum = None,
    no_explicit: NoExplicit = False,
    as_json: FlowJson = False,
    out: OutOption = None,
) -> None:
    """Add songs that fit a whole playlist: its spread of sounds, no song already in it,
    no other version of one, no artist over-represented; ordered to mix from its last song. """
    with user_errors():
        req = flows.parse(flows.ContinueRequest, count=count, max_per_artist=max_per_artist,
                          artist_gap=artist_gap, order=order,
                          **_filters(ctx.args, no_explicit, exclude_artist, exclude_album))
        _check_out(out)
        name, data = _read_input(playlist)
        lib = Library.open(library_path(library))
        resolved = load_playlist(lib, text=data, name=name,
                                 fmt=_import_format(fmt))
        if resolved.unknown:
            err_console.print(f"{len(resolved.rows)} songs of the playlist are in the "
                              f"library; {len(resolved.unknown)} are not and are left out",
                              highlight=False)
        rows = flows.continue_playlist(lib, resolved.rows, req)
        _emit(lib, rows, as_json, out, "musicrec continuation",
              {"playlist_songs": len(resolved.rows), "unknown": len(resolved.unknown)},
              sequence.Mix.of(lib).note(req.order))


continue_command.__doc__ = (continue_command.__doc__ or "") + FILTERS_HELP


@app.command("journey", context_settings=EXTRA)
def journey_command(
    ctx: typer.Context,
    start: Annotated[str, typer.Argument(metavar="FROM",
                                         help="Track id or search text: the first song.")],
    end: Annotated[str, typer.Argument(metavar="TO",
                                       help="Track id or search text: the last song.")],
    library: LibraryOption = None,
    length: Annotated[int, typer.Option("--length", min=3, max=flows.MAX_JOURNEY,
                                        help="Songs, both ends included.")] = 12,
    order: OrderOption = sequence.DEFAULT_ORDER,
    exclude_artist: ExcludeArtist = None,
    exclude_album: ExcludeAlbum = None,
    no_explicit: NoExplicit = False,
    as_json: FlowJson = False,
    out: OutOption = None,
) -> None:
    """Songs that move smoothly from one song to another: each step close to the last and
    nearer the destination, no artist twice in a row. """
    with user_errors():
        extra = _filters(ctx.args, no_explicit, exclude_artist, exclude_album)
        _check_out(out)
        lib = Library.open(library_path(library))
        a, b = (_track(lib, text) for text in (start, end))
        req = flows.parse(flows.JourneyRequest, length=length, order=order,
                          **{"from": a, "to": b}, **extra)
        rows = flows.journey(lib, req)
        _emit(lib, rows, as_json, out, "musicrec journey", {},
              sequence.Mix.of(lib).note(req.order))


journey_command.__doc__ = (journey_command.__doc__ or "") + FILTERS_HELP


@app.command("radio")
def radio_command(
    seeds: Annotated[list[str] | None, typer.Argument(
        metavar="SEED...", help="1 to 5 track ids or search texts (not with --cursor).",
        show_default=False)] = None,
    library: LibraryOption = None,
    seeds_file: Annotated[Path | None, typer.Option(
        "--seeds-file", help="Take the seeds from a playlist file (any import format): its "
        "first 5 songs in the library.", show_default=False)] = None,
    count: Annotated[int, typer.Option("--count", min=1, max=flows.MAX_ADD)] = 50,
    cursor: Annotated[str | None, typer.Option(
        "--cursor", help="Go on with a station: the cursor printed with its last songs.")]
    = None,
    like: Annotated[list[str] | None, typer.Option(
        "--like", help="A song of the station you liked (repeatable).")] = None,
    skip: Annotated[list[str] | None, typer.Option(
        "--skip", help="A song of the station you skipped (repeatable).")] = None,
    order: Annotated[str | None, typer.Option(
        "--order", help=sequence.ORDER_HELP + " Default: the station's (smooth when it starts).",
        show_default=False)] = None,
    artist_gap: Annotated[int | None, typer.Option(
        "--artist-gap", help=flows.GAP_HELP + f" Default: the station's "
        f"({radio.RECENT_ARTISTS} when it starts).", show_default=False)] = None,
    exclude_artist: ExcludeArtist = None,
    exclude_album: ExcludeAlbum = None,
    as_json: FlowJson = False,
    out: OutOption = None,
) -> None:
    """An endless station from 1 to 5 seed songs. Each run prints a cursor; pass it back
    with --cursor (and --like/--skip) for the next songs: the station keeps its order, artist
    window and exclusions."""
    with user_errors():
        _check_out(out)
        lib = Library.open(library_path(library))
        seed_ids = [_track(lib, s) for s in seeds or []]
        if seeds_file is not None:
            name, data = _read_input(str(seeds_file))
            rows = load_playlist(lib, text=data, name=name).rows
            seed_ids += [t["id"] for t in lib.tracks(rows[:MAX_SEEDS])]
        req = flows.parse(radio.RadioRequest, seeds=seed_ids,
                          cursor=cursor, liked=like or [], skipped=skip or [],
                          count=count, order=order, artist_gap=artist_gap,
                          **_exclusions(exclude_artist, exclude_album))
        page = radio.radio_page(lib, req)
        _emit(lib, page.rows, as_json, out, "musicrec radio", {"cursor": page.cursor},
              page.note)
        if not as_json:
            err_console.print(f"next: musicrec radio --cursor {page.cursor}",
                              highlight=False, soft_wrap=True)


def _import_format(fmt: str | None) -> ImportFormat | None:
    known = ("csv", "uris", "m3u", "jspf", "xspf", "mpd")
    if fmt is not None and fmt not in known:
        raise InvalidQueryError(f"unknown playlist format {fmt!r}; use one of "
                                f"{', '.join(known)}")
    return fmt  # type: ignore[return-value]


def _check_out(out: Path | None) -> None:
    """Fail before the work when the --out file cannot be written: a folder, a missing folder,
    no permission, or not a playlist format's extension."""
    if out is not None:
        check_output(out)
        format_for_name(out.name)


def _read_input(path: str) -> tuple[str | None, bytes]:
    if path == "-":
        return None, sys.stdin.buffer.read()
    file = Path(path)
    if not file.is_file():
        raise InvalidQueryError(f"no playlist file at {path}")
    try:
        return file.name, file.read_bytes()
    except OSError as exc:
        raise InvalidQueryError(f"cannot read {path}: {exc.strerror}") from None


def _track(lib: Library, text: str) -> str:
    """A track id for a track id or search text; an artist is not a song."""
    resolved = lib.resolve_seed(text)
    if resolved.kind != "track":
        raise InvalidQueryError(f"{text!r} is an artist; give a song (its id or title)")
    if resolved.guessed:
        err_console.print(f"{text} → {resolved.label}", highlight=False)
    return resolved.id


def _emit(lib: Library, rows: list[int], as_json: bool, out: Path | None, title: str,
          extra: dict[str, Any], note: str | None) -> None:
    if note is not None:
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
        extra = {**extra, "note": note}
    records = lib.tracks(rows)
    if out is not None:
        out.write_text(export(records, format_for_name(out.name), title), encoding="utf-8")
        err_console.print(f"wrote {len(records)} songs to {out}", highlight=False)
    if as_json:
        shapes = Shapes(lib, Settings().base_url())
        print(json.dumps({"tracks": [shapes.track(r) for r in records], **extra},
                         indent=2, default=str))
        return
    table = Table("#", "title", "artist", "year", "family")
    for i, t in enumerate(records, 1):
        table.add_row(str(i), t["name"], ", ".join(t["artists"]), str(t.get("year") or ""),
                      t["family_name"])
    console.print(table if records else "no songs found")
