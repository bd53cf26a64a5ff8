"""What every route shares: the library of the request, whether the answer carries musicrec's
extensions, the JSON response, Spotify's paging object, the path parameters and the error
responses they declare."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import Response
from starlette.datastructures import URL

from musicrec.api import models
from musicrec.api.spotify import (
    TRACK_COLUMNS,
    Shapes,
    dumps,
)
from musicrec.errors import NotFoundError
from musicrec.library import Library

RECHECK_S = 0.5

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A bad parameter."},
    404: {"model": models.Error, "description": "An id that is not in the catalogue."},
    503: {"model": models.Error, "description": "No usable library."},
}


class JSON(Response):
    """A JSON response serialised with orjson (numpy scalars and arrays allowed)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


# Handlers and dependencies are `async def`, so they run on the event loop. Their work is
# CPU-bound and short (about a millisecond); as plain `def`s each would cost a trip to the thread
# pool and back and a fight for the GIL with the loop, and threads add no parallelism to
# Python code: that comes from worker processes (`--workers`).
async def current_library(request: Request) -> Library:
    """The current library; a 503 when there is no usable one (see `LiveLibrary`).

    `LiveLibrary.get` stats the manifest to notice a rebuild: 5% of a worker's samples under
    load (py-spy), so it is asked at most every RECHECK_S seconds; a rebuilt library is still
    switched to whole, between requests, at most that much later.
    """
    state = request.app.state
    now = time.monotonic()
    if now - state.checked_at > RECHECK_S or state.current is None:
        state.current = None
        state.current = state.live.get()  # raises LibraryError (503) when unusable
        state.checked_at = now
    return state.current


Lib = Annotated[Library, Depends(current_library)]


async def wants_extensions(
    musicrec: Annotated[bool, Query(description=(
        "true: add musicrec's `musicrec` member to the objects (stand-ins named, "
        "explanations, families, ignored knobs); without it the answer is exactly Spotify's "
        "shape."))] = False,
    x_musicrec: Annotated[bool, Header(description="1: the same as `musicrec=true`.")] = False,
) -> bool:
    """The one rule for Spotify's endpoints: the `musicrec` member only when the client asks
    for it, with `?musicrec=true` or the header `X-Musicrec: 1`; strict clients (tekore) warn
    about every member they do not know. The `/v1/musicrec/` endpoints always carry it."""
    return musicrec or x_musicrec


async def spotify_shapes(request: Request, lib: Lib,
                         extensions: Annotated[bool, Depends(wants_extensions)]) -> Shapes:
    """Shapes for an answer of Spotify's endpoints (see `wants_extensions`)."""
    return Shapes(lib, request.app.state.base, extensions=extensions)


SpotifyShapes = Annotated[Shapes, Depends(spotify_shapes)]


def shapes_for(request: Request, lib: Library) -> Shapes:
    """Shapes for an answer of the `/v1/musicrec/` endpoints: the extensions always on."""
    return Shapes(lib, request.app.state.base)


def records_of(lib: Library, ids: list[str]) -> list[dict[str, Any] | None]:
    """Catalogue records for ids, in order; None for an id not in the catalogue."""
    rows = lib.rows_of(ids)
    known = iter(lib.tracks([r for r in rows if r is not None], TRACK_COLUMNS))
    return [next(known) if r is not None else None for r in rows]


def row_of(lib: Library, track_id: str) -> int:
    """The row of a track id in the path; a 404 when it is not in the catalogue."""
    row = lib.row_of(track_id)
    if row is None:
        raise NotFoundError(f"track {track_id!r} is not in the catalogue")
    return row


def record_of(lib: Library, track_id: str) -> dict[str, Any]:
    return lib.tracks([row_of(lib, track_id)], TRACK_COLUMNS)[0]


TrackId = Annotated[str, Path(description="A Spotify track id.")]

ArtistId = Annotated[str, Path(description="An artist id (Spotify's, or derived from the "
                                           "name when the catalogue has none).")]

AlbumId = Annotated[str, Path(description="An album id (Spotify's, or derived when the "
                                          "catalogue has none).")]

Market = Annotated[str | None, Query(description="Accepted and ignored.")]


def paging(request: Request, items: list[dict[str, Any]], total: int, offset: int,
           limit: int, deepest: int | None = None) -> dict[str, Any]:
    """Spotify's paging object; `next` and `previous` are this request's URL moved a page,
    under the configured public URL (never the request's Host header)."""
    url = URL(request.app.state.base.rstrip("/") + request.url.path
              + (f"?{request.url.query}" if request.url.query else ""))
    following = offset + limit
    reachable = following < total and (deepest is None or following + limit <= deepest)
    return {
        "href": str(url), "items": items, "limit": limit, "offset": offset, "total": total,
        "next": str(url.include_query_params(offset=following, limit=limit))
        if reachable else None,
        "previous": str(url.include_query_params(offset=max(0, offset - limit), limit=limit))
        if offset > 0 else None,
    }
