"""Artists: one or several, related artists, top tracks and albums."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request

from musicrec.albums import Albums
from musicrec.api import models
from musicrec.api.deps import (
    ERRORS,
    JSON,
    ArtistId,
    Lib,
    Market,
    SpotifyShapes,
    paging,
)
from musicrec.api.params import OffsetQuery, id_list, split_ids
from musicrec.api.spotify import TRACK_COLUMNS
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.library import Library

MAX_ARTIST_IDS = 50

MAX_RELATED = 20  # as many as Spotify's related-artists answered

MAX_ALBUMS_LIMIT = 50  # Spotify's classic maximum (its current reference: 10)

ALBUM_GROUPS = ("album", "single", "compilation", "appears_on")

TOP_TRACKS = 10

router = APIRouter(prefix="/v1", responses=ERRORS)


def _artist_row(lib: Library, artist_id: str) -> int:
    row = lib.artist_row_of(artist_id)
    if row is None:
        raise NotFoundError(f"artist {artist_id!r} is not in the catalogue")
    return row


@router.get("/artists/{id}", response_model=models.Artist, summary="One artist")
async def artist(lib: Lib, shapes: SpotifyShapes, id: ArtistId) -> JSON:
    return JSON(shapes.artist(_artist_row(lib, id)))


@router.get("/artists", response_model=models.SeveralArtists,
            summary="Several artists (null for unknown ids)")
@router.get("/artists/", include_in_schema=False)
async def several_artists(lib: Lib, shapes: SpotifyShapes, ids: Annotated[str, Query(
        description="Comma-separated artist ids (up to 50).")]) -> JSON:
    rows = [lib.artist_row_of(i) for i in id_list(ids, "ids", MAX_ARTIST_IDS)]
    return JSON({"artists": [shapes.artist(r) if r is not None else None for r in rows]})


@router.get("/artists/{id}/related-artists", response_model=models.SeveralArtists,
            summary="Artists whose songs sound like this artist's")
async def related_artists(lib: Lib, shapes: SpotifyShapes, id: ArtistId) -> JSON:
    """Up to 20 artists, closest first by the cosine of their mean song vectors (artists with at
    least 3 songs first, since a one-song artist's mean is one song). Retired by Spotify in
    2024 like the recommendations; answered here from the catalogue's own sound."""
    found = lib.related_artists(_artist_row(lib, id), MAX_RELATED)
    return JSON({"artists": [shapes.artist(lib.artist_row_of(a["id"])) for a in found]})


@router.get("/artists/{id}/top-tracks", response_model=models.SeveralTracks,
            summary="An artist's top tracks: most popular, or most typical of its sound")
async def top_tracks(lib: Lib, shapes: SpotifyShapes, id: ArtistId,
                     market: Market = None) -> JSON:
    """Up to 10 of the artist's songs: by popularity when the catalogue has it (ties by
    catalogue order), otherwise by how central a song is to the artist, the cosine similarity
    of its vector to the mean vector of all the artist's songs."""
    rows = lib.rows_of_artist(_artist_row(lib, id))
    if lib.has_column("popularity"):
        score = np.nan_to_num(lib.numeric("popularity")[rows], nan=-1.0)
    else:
        vectors = np.asarray(lib.vectors[rows], dtype=np.float32)
        centre = vectors.mean(axis=0)
        score = vectors @ centre / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(centre)
                                    + 1e-12)
    best = rows[np.argsort(-score, kind="stable")[:TOP_TRACKS]]
    return JSON({"tracks": [shapes.track(rec) for rec in lib.tracks(best, TRACK_COLUMNS)]})


@router.get("/artists/{id}/albums", response_model=models.ArtistAlbums,
            summary="An artist's albums")
async def artist_albums(
    request: Request, lib: Lib, shapes: SpotifyShapes, id: ArtistId,
    include_groups: Annotated[str | None, Query(
        description="Comma-separated: album, single, compilation, appears_on.")] = None,
    market: Market = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALBUMS_LIMIT)] = 5,
    offset: OffsetQuery = 0,
) -> JSON:
    """Albums with a song by the artist, in catalogue order: `album_group` "appears_on" where
    the artist is not the album's first artist."""
    groups = split_ids(include_groups) or list(ALBUM_GROUPS)
    for group in groups:
        if group not in ALBUM_GROUPS:
            raise InvalidQueryError(f"include_groups: {group!r} is not one of "
                                    f"{', '.join(ALBUM_GROUPS)}")
    artist_row = _artist_row(lib, id)
    artist_id = lib.artist(artist_row)["id"]
    albums = Albums.of(lib)
    codes = albums.codes_of_rows(lib.rows_of_artist(artist_row))
    firsts = lib.tracks(albums.first[codes])
    items = []
    for code, first in zip(codes.tolist(), firsts, strict=True):
        album = shapes.simple_album(first, code)
        own = first["artist_ids"][:1] == [artist_id]
        album["album_group"] = album["album_type"] if own else "appears_on"
        if album["album_group"] in groups:
            items.append(album)
    return JSON(paging(request, items[offset:offset + limit], len(items), offset, limit))
