"""Albums: one or several, and an album's tracks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from musicrec.albums import Albums
from musicrec.api import models
from musicrec.api.deps import (
    ERRORS,
    JSON,
    AlbumId,
    Market,
    SpotifyShapes,
    paging,
)
from musicrec.api.params import OffsetQuery, id_list
from musicrec.api.spotify import Shapes
from musicrec.errors import NotFoundError

MAX_ALBUM_IDS = 20

ALBUM_TRACKS_IN_ALBUM = 50

router = APIRouter(prefix="/v1", responses=ERRORS)


def _album_code(albums: Albums, album_id: str) -> int:
    code = albums.code_of(album_id)
    if code is None:
        raise NotFoundError(f"album {album_id!r} is not in the catalogue")
    return code


def _album_tracks(request: Request, shapes: Shapes, code: int, offset: int,
                  limit: int) -> dict[str, Any]:
    rows = shapes.albums.rows(code)
    items = [shapes.simple_track(rec) for rec in shapes.lib.tracks(rows[offset:offset + limit])]
    return paging(request, items, len(rows), offset, limit)


def _full_album(request: Request, shapes: Shapes, code: int) -> dict[str, Any]:
    rows = shapes.albums.rows(code)
    base = f"{shapes.base}v1/albums/{shapes.albums.id(code)}/tracks"
    items = [shapes.simple_track(rec)
             for rec in shapes.lib.tracks(rows[:ALBUM_TRACKS_IN_ALBUM])]
    page = {"href": f"{base}?offset=0&limit={ALBUM_TRACKS_IN_ALBUM}", "items": items,
            "limit": ALBUM_TRACKS_IN_ALBUM, "offset": 0, "total": len(rows),
            "next": f"{base}?offset={ALBUM_TRACKS_IN_ALBUM}&limit={ALBUM_TRACKS_IN_ALBUM}"
            if len(rows) > ALBUM_TRACKS_IN_ALBUM else None, "previous": None}
    return shapes.album(code, page)


@router.get("/albums/{id}", response_model=models.Album, summary="One album")
async def album(request: Request, shapes: SpotifyShapes, id: AlbumId,
                market: Market = None) -> JSON:
    return JSON(_full_album(request, shapes, _album_code(shapes.albums, id)))


@router.get("/albums", response_model=models.SeveralAlbums,
            summary="Several albums (null for unknown ids)")
@router.get("/albums/", include_in_schema=False)
async def several_albums(request: Request, shapes: SpotifyShapes, ids: Annotated[str, Query(
        description="Comma-separated album ids (up to 20).")], market: Market = None) -> JSON:
    codes = [shapes.albums.code_of(i) for i in id_list(ids, "ids", MAX_ALBUM_IDS)]
    return JSON({"albums": [_full_album(request, shapes, c) if c is not None else None
                            for c in codes]})


@router.get("/albums/{id}/tracks", response_model=models.AlbumTracks,
            summary="An album's tracks, in catalogue order")
async def album_tracks(request: Request, shapes: SpotifyShapes, id: AlbumId,
                       market: Market = None,
                       limit: Annotated[int, Query(ge=1, le=ALBUM_TRACKS_IN_ALBUM)] = 20,
                       offset: OffsetQuery = 0) -> JSON:
    return JSON(_album_tracks(request, shapes, _album_code(shapes.albums, id), offset, limit))
