"""`GET /v1/search`: tracks, artists and albums by title and artist words."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from musicrec.api import models
from musicrec.api.deps import (
    ERRORS,
    JSON,
    Lib,
    Market,
    SpotifyShapes,
    paging,
)
from musicrec.api.params import split_ids
from musicrec.errors import InvalidQueryError

# Search: limit 1-50, as Spotify's classic API had it (its current reference: 1-10), the
# default 5 of its current reference; offset + limit at most 1,000. The query is bounded too:
# each word costs a fuzzy match over the vocabulary (a 6,000-word query took 34 s of CPU), so
# at most MAX_QUERY_WORDS words and MAX_QUERY_CHARS characters.
MAX_SEARCH_LIMIT = 50

DEFAULT_SEARCH_LIMIT = 5

MAX_SEARCH_DEPTH = 1000

MAX_QUERY_CHARS = 250

MAX_QUERY_WORDS = 12

# Search pages are cut from one ranked list this many items long (or a multiple), so that
# asking for the next page does not re-rank the items already shown.
SEARCH_BLOCK = 50

SEARCH_TYPES = ("track", "artist", "album")

SPOTIFY_ONLY_TYPES = ("playlist", "show", "episode", "audiobook")

# Spotify's field filters ("artist:Queen track:Bicycle"); we search titles and artists anyway.
_FIELD_FILTER = re.compile(r"\b(?:track|artist|album|year|genre|isrc|upc|tag):", re.IGNORECASE)

router = APIRouter(prefix="/v1", responses=ERRORS)


def _search_types(value: str) -> list[str]:
    types = split_ids(value)
    for kind in types:
        if kind in SPOTIFY_ONLY_TYPES:
            raise InvalidQueryError(f"type: this server has no {kind}s; search for "
                                    f"{', '.join(SEARCH_TYPES)}")
        if kind not in SEARCH_TYPES:
            raise InvalidQueryError(f"type: {kind!r} is not a search type; use "
                                    f"{', '.join(SEARCH_TYPES)}")
    if not types:
        raise InvalidQueryError(f"type: give {', '.join(SEARCH_TYPES)}")
    return list(dict.fromkeys(types))


def _search_query(q: str) -> str:
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidQueryError(f"q: at most {MAX_QUERY_CHARS} characters, got {len(q)}")
    query = _FIELD_FILTER.sub(" ", q)
    words = len(query.split())
    if words > MAX_QUERY_WORDS:
        raise InvalidQueryError(f"q: at most {MAX_QUERY_WORDS} words, got {words}")
    return query


class _AlbumDocs:
    """Album code -> "album name artist", for re-ranking album search hits."""

    def __init__(self, docs: Any):
        self.docs = docs

    def __getitem__(self, code: int) -> str:
        return str(self.docs[code].as_py())

    def __len__(self) -> int:
        return len(self.docs)


@router.get("/search", response_model=models.SearchResults, response_model_exclude_none=True,
            summary="Search tracks, artists and albums by title and artist name")
async def search(
    request: Request, lib: Lib, shapes: SpotifyShapes,
    q: Annotated[str, Query(description="Words of a title, album and/or artist (at most "
                                        f"{MAX_QUERY_WORDS} words, {MAX_QUERY_CHARS} "
                                        "characters); typos and unfinished words are fine. "
                                        "Spotify's field filters (artist:, track:) are "
                                        "accepted.")],
    type: Annotated[str, Query(description="Comma-separated: track, artist and/or album.")],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = DEFAULT_SEARCH_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_SEARCH_DEPTH)] = 0,
    market: Market = None,
    include_external: Annotated[str | None, Query(description="Accepted and ignored.")] = None,
) -> JSON:
    """Spotify's search over song titles, artist names and album names (`offset + limit` at
    most 1,000)."""
    kinds = _search_types(type)
    if offset + limit > MAX_SEARCH_DEPTH:
        raise InvalidQueryError(f"offset + limit: at most {MAX_SEARCH_DEPTH}, got "
                                f"{offset + limit}")
    query = _search_query(q)
    # Ranked in whole blocks, so the next page does not re-rank the items already shown.
    window = -(-(offset + limit) // SEARCH_BLOCK) * SEARCH_BLOCK
    out: dict[str, Any] = {}
    if "track" in kinds:
        songs = lib.search(query, window)
        items = [shapes.track(s) for s in songs.items[offset:offset + limit]]
        out["tracks"] = paging(request, items, songs.total, offset, limit, MAX_SEARCH_DEPTH)
    if "artist" in kinds:
        artists = lib.search_artists(query, window)
        items = [shapes.artist(lib.artist_row_of(a["id"]))
                 for a in artists.items[offset:offset + limit]]
        out["artists"] = paging(request, items, artists.total, offset, limit,
                                MAX_SEARCH_DEPTH)
    if "album" in kinds:
        albums = shapes.albums
        docs = albums.documents(lib.table)
        found = albums.text(lib.table).search(query, window, documents=_AlbumDocs(docs))
        codes = [h.row for h in found.hits[offset:offset + limit]]
        firsts = lib.tracks(albums.first[codes]) if codes else []
        items = [shapes.simple_album(rec, code) for rec, code in zip(firsts, codes, strict=True)]
        out["albums"] = paging(request, items, found.total, offset, limit, MAX_SEARCH_DEPTH)
    return JSON(out)
