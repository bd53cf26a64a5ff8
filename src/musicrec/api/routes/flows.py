"""The flow endpoints (musicrec extensions): continue a playlist, journeys, radio.

    POST /v1/musicrec/continue   a playlist (track ids, or a file's text) -> songs to add
    POST /v1/musicrec/journey    FROM, TO, length, filters -> the songs of the journey
    POST /v1/musicrec/radio      seeds, or the last page's cursor and feedback -> next songs

A thin layer over `musicrec.flows` and `musicrec.radio`: bodies are the core's request models
(each with `order`, `exclude_artists` and `exclude_albums`; continue and radio with
`artist_gap`), answers hold Spotify track objects, in the order asked for, and a `note` when
the library lacks a feature the order reads. `?format=m3u` (or csv, uris, jspf, xspf) answers
with the songs as a playlist file instead. The radio keeps no server state: each page returns a
cursor holding the station (checked with a digest keyed by the library and the server's token,
so an edited or foreign cursor answers 400).

`create_app` includes `router` beside the Spotify endpoints, with the same token dependency.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from musicrec import flows, sequence
from musicrec.api import models
from musicrec.api.deps import Lib
from musicrec.api.spotify import Shapes
from musicrec.library import Library
from musicrec.playlist_files import MAX_ENTRIES, ImportFormat
from musicrec.playlists import FORMATS, Format, export, load_playlist
from musicrec.radio import RadioRequest, radio_page

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A bad parameter, file or cursor, or no song "
                                                "left once the filters and exclusions apply."},
    404: {"model": models.Error, "description": "A song, or an excluded artist or album, that "
                                                "is not in the catalogue."},
}


ExportQuery = Annotated[Format | None, Query(
    description="Answer with the songs as a playlist file in this format instead of JSON.")]
router = APIRouter(prefix="/v1/musicrec", responses=_ERRORS, tags=["flows"])


class ContinueBody(flows.ContinueRequest):
    """The playlist as track ids (`tracks`) or as a playlist file's text (`playlist`)."""

    tracks: list[str] | None = Field(None, max_length=MAX_ENTRIES, description=(
        "Spotify track ids, URIs or links, in playlist order."))
    playlist: str | None = Field(None, description=(
        "A playlist file's text: CSV, Spotify URIs, M3U, JSPF, XSPF or MPD JSON."))
    format: ImportFormat | None = Field(None, description="The file's format; default: "
                                        "recognised from the text.")


class Tracks(BaseModel):
    tracks: list[models.Track]
    note: str | None = Field(None, description="What the order could not use: a feature this "
                             "library has no values of (left out when there is none).")


class Continuation(Tracks):
    playlist_songs: int = Field(description="Songs of the playlist found in the catalogue.")
    unknown: int = Field(description="Songs of the playlist not in the catalogue (left out).")


class RadioPage(Tracks):
    cursor: str = Field(description="Send it back (with likes and skips) for the next songs.")


def _answer(request: Request, lib: Library, rows: list[int], fmt: Format | None,
            title: str, note: str | None, **extra: Any) -> Response:
    records = lib.tracks(rows)
    if fmt is not None:
        spec = FORMATS[fmt]
        return Response(export(records, fmt, title), media_type=spec.mime, headers={
            "Content-Disposition": f'attachment; filename="{title.replace(" ", "-")}.'
                                   f'{spec.extension}"'})
    # The public URL, never the request's Host header (see musicrec.api.app).
    shapes = Shapes(lib, request.app.state.base)
    if note is not None:
        extra["note"] = note
    return JSONResponse({"tracks": [shapes.track(r) for r in records], **extra})


@router.post("/continue", response_model=Continuation,
             summary="Songs that fit a whole playlist (musicrec extension)")
def continue_playlist(request: Request, lib: Lib, body: ContinueBody,
                      format: ExportQuery = None) -> Response:
    """Adds `count` songs fitting the playlist's spread of sounds: none already in it, no other
    version of one, at most `max_per_artist` by one artist, inside `min`/`max` filters, none
    by an excluded artist or album; in `order` after the playlist's last song, no artist again
    within `artist_gap` songs."""
    resolved = load_playlist(lib, ids=body.tracks, text=body.playlist, fmt=body.format)
    req = flows.ContinueRequest.model_validate(body.model_dump(
        include=set(flows.ContinueRequest.model_fields)))
    rows = flows.continue_playlist(lib, resolved.rows, req)
    return _answer(request, lib, rows, format, "musicrec continuation",
                   sequence.Mix.of(lib).note(req.order), playlist_songs=len(resolved.rows),
                   unknown=len(resolved.unknown))


@router.post("/journey", response_model=Tracks,
             summary="A smooth journey from one song to another (musicrec extension)")
def journey(request: Request, lib: Lib, body: flows.JourneyRequest,
            format: ExportQuery = None) -> Response:
    """`length` songs from `from` to `to` (both included): each step close to the last and
    nearer the destination, no artist twice in a row, the songs between inside the filters and
    exclusions, in `order` with both ends kept."""
    return _answer(request, lib, flows.journey(lib, body), format, "musicrec journey",
                   sequence.Mix.of(lib).note(body.order))


@router.post("/radio", response_model=RadioPage,
             summary="The next songs of a radio station (musicrec extension)")
def radio(request: Request, lib: Lib, body: RadioRequest,
          format: ExportQuery = None) -> Response:
    """Start a station with 1 to 5 `seeds`, then send the returned `cursor` (with the ids of
    `liked` and `skipped` songs) for each next page. No song repeats within a station; the
    cursor keeps its order, artist window and exclusions (an `order` or `artist_gap` sent with
    it replaces the station's, exclusions add to its own)."""
    token: str | None = getattr(request.app.state, "token", None)
    page = radio_page(lib, body, (token or "").encode())
    if format is not None:
        return _answer(request, lib, page.rows, format, "musicrec radio", page.note)
    return _answer(request, lib, page.rows, None, "musicrec radio", page.note,
                   cursor=page.cursor)


__all__ = ["router"]
