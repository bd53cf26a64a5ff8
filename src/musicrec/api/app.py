"""The REST API: Spotify's Web API for the songs of a local library.

A thin layer: handlers parse the query, call the core (`Library`, `Albums`) and shape the
answer as Spotify would (`musicrec.api.spotify`), serialised with orjson. Handlers that compute
are plain `def`, so FastAPI runs them in its thread pool while numpy and faiss work outside the
event loop.

Every error, whether raised by the core, by parameter validation or by routing, answers with
Spotify's error object `{"error": {"status": 400, "message": "..."}}`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import time
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musicrec import __version__
from musicrec.albums import Albums
from musicrec.api import audio, flows, models
from musicrec.api.params import KNOB_PARAMETERS, IdsQuery, OffsetQuery, id_list, split_ids, tuning
from musicrec.api.spotify import (
    TRACK_COLUMNS,
    Shapes,
    dumps,
    family_summary,
)
from musicrec.errors import InvalidQueryError, MusicrecError, NotFoundError
from musicrec.library import Library, LiveLibrary
from musicrec.request import Knobs, RecommendRequest

log = logging.getLogger("musicrec.api")

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000/"
RECHECK_S = 0.5
MAX_TRACK_IDS = 50
MAX_ARTIST_IDS = 50
MAX_ALBUM_IDS = 20
MAX_RELATED = 20  # as many as Spotify's related-artists answered
MAX_FEATURE_IDS = 100
# Search, as Spotify's current reference has it: limit 1-10 (default 5), offset + limit at most
# 1,000. The query is bounded too: each word costs a fuzzy match over the vocabulary (a 6,000-word
# query took 34 s of CPU), so at most MAX_QUERY_WORDS words and MAX_QUERY_CHARS characters.
MAX_SEARCH_LIMIT = 10
DEFAULT_SEARCH_LIMIT = 5
MAX_SEARCH_DEPTH = 1000
MAX_QUERY_CHARS = 250
MAX_QUERY_WORDS = 12
# Search pages are cut from one ranked list this many items long (or a multiple), so that
# asking for the next page does not re-rank the items already shown.
SEARCH_BLOCK = 50
SEARCH_TYPES = ("track", "artist", "album")
SPOTIFY_ONLY_TYPES = ("playlist", "show", "episode", "audiobook")
ALBUM_GROUPS = ("album", "single", "compilation", "appears_on")
TOP_TRACKS = 10
ALBUM_TRACKS_IN_ALBUM = 50
# Knobs on an attribute the catalogue lacks answer 400, except these: Spotify clients send
# target_time_signature=4 by habit, and every song of such a catalogue shows the neutral 4.
IGNORED_WHEN_MISSING = ("time_signature",)
# Spotify's field filters ("artist:Queen track:Bicycle"); we search titles and artists anyway.
_FIELD_FILTER = re.compile(r"\b(?:track|artist|album|year|genre|isrc|upc|tag):", re.IGNORECASE)

DESCRIPTION = """\
Answers Spotify's Web API requests about the songs of a local music library: the retired
`GET /v1/recommendations` and `GET /v1/audio-features`, tracks, artists, albums and search, with
the same parameter names and response shapes, so an existing Spotify client pointed at this
server keeps working for the songs in the catalogue. A "genre" seed is a sound family (its id
or name) or, when the catalogue has them, a genre label: see
`/v1/recommendations/available-genre-seeds`.

Every response validates against Spotify's OpenAPI description. A field the catalogue cannot
supply is derived from it where possible (an album's `total_tracks` is its number of songs
here) or given a neutral value (`track_number` 1, `time_signature` 4, ...) and named in the
object's `musicrec.unknown` list. An artist's top tracks are its most popular songs when the
catalogue has popularity, otherwise the songs closest to the average sound of its songs.

Every error answers with Spotify's error object: `{"error": {"status": 400, "message": "..."}}`.
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A bad parameter."},
    404: {"model": models.Error, "description": "An id that is not in the catalogue."},
    503: {"model": models.Error, "description": "No usable library."},
}
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error, "description": "Missing or wrong bearer token."}}

_bearer = HTTPBearer(auto_error=False, description="The token the server was started with "
                     "(--token-file).")


class JSON(Response):
    """A JSON response serialised with orjson (numpy scalars and arrays allowed)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


# Handlers and dependencies are `async def`, so they run on the event loop. Their work is
# CPU-bound and short (about a millisecond); as plain `def`s each would cost a trip to the thread
# pool and back and a fight for the GIL with the loop, and threads add no parallelism to
# Python code: that comes from worker processes (`--workers`).
async def _library(request: Request) -> Library:
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


async def _authorize(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Security(_bearer)]) -> None:
    """Require the configured bearer token (installed only when there is one)."""
    token: str = request.app.state.token
    if credentials is None:
        raise HTTPException(401, "No token provided", headers={"WWW-Authenticate": "Bearer"})
    if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(401, "Invalid access token", headers={"WWW-Authenticate": "Bearer"})


Lib = Annotated[Library, Depends(_library)]
router = APIRouter(prefix="/v1", responses=_ERRORS)


def _shapes(request: Request, lib: Library) -> Shapes:
    return Shapes(lib, request.app.state.base)


def _records(lib: Library, ids: list[str]) -> list[dict[str, Any] | None]:
    """Catalogue records for ids, in order; None for an id not in the catalogue."""
    rows = lib.rows_of(ids)
    known = iter(lib.tracks([r for r in rows if r is not None], TRACK_COLUMNS))
    return [next(known) if r is not None else None for r in rows]


def _record(lib: Library, track_id: str) -> dict[str, Any]:
    row = lib.row_of(track_id)
    if row is None:
        raise NotFoundError(f"track {track_id!r} is not in the catalogue")
    return lib.tracks([row], TRACK_COLUMNS)[0]


TrackId = Annotated[str, Path(description="A Spotify track id.")]
ArtistId = Annotated[str, Path(description="An artist id (Spotify's, or derived from the "
                                           "name when the catalogue has none).")]
AlbumId = Annotated[str, Path(description="An album id (Spotify's, or derived when the "
                                          "catalogue has none).")]
Market = Annotated[str | None, Query(description="Accepted and ignored.")]


@router.get("/recommendations", response_model=models.Recommendations,
            summary="Recommendations from seeds, targets and filters",
            openapi_extra={"parameters": KNOB_PARAMETERS})
async def recommendations(
    request: Request, lib: Lib, knobs: Annotated[Knobs, Depends(tuning)],
    seed_artists: Annotated[str | None, Query(
        description="Comma-separated artist ids. 1 to 5 seeds in total, of all kinds.")] = None,
    seed_genres: Annotated[str | None, Query(
        description="Comma-separated sound family ids or names, or genre labels when the "
                    "catalogue has them (see available-genre-seeds); another value is a 400, "
                    "as at Spotify.")] = None,
    seed_tracks: Annotated[str | None, Query(
        description="Comma-separated track ids.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Number of songs.")] = 20,
    market: Market = None,
) -> JSON:
    """Songs like the seeds, each found from one seed and explained in `musicrec`.

    Knobs on `time_signature` are accepted and ignored on a catalogue without time
    signatures (listed in the answer's `musicrec.ignored`); other knobs on an attribute the
    catalogue lacks are a 400.
    """
    genres = split_ids(seed_genres)
    for genre in genres:
        try:
            lib.genre_seed(genre)
        except NotFoundError as exc:  # Spotify: 400 for a genre not in available-genre-seeds
            raise InvalidQueryError(f"seed_genres: {exc}; see "
                                    "/v1/recommendations/available-genre-seeds") from exc
    ignored = []
    for name in IGNORED_WHEN_MISSING:
        if not lib.has_column(name):
            for kind in ("target", "min", "max"):
                if getattr(knobs, kind).pop(name, None) is not None:
                    ignored.append(f"{kind}_{name}")
    result = lib.recommend(RecommendRequest.parse(
        seed_tracks=split_ids(seed_tracks), seed_artists=split_ids(seed_artists),
        seed_genres=genres, limit=limit, target=knobs.target, min=knobs.min, max=knobs.max),
        columns=TRACK_COLUMNS)
    shapes = _shapes(request, lib)
    body: dict[str, Any] = {"tracks": [shapes.recommended_track(r) for r in result.tracks],
                            "seeds": [shapes.seed(s) for s in result.seeds]}
    if ignored:
        body["musicrec"] = {"ignored": ignored}
    return JSON(body)


@router.get("/recommendations/available-genre-seeds", response_model=models.GenreSeeds,
            summary="Genre seeds: sound family names, then genre labels")
async def available_genre_seeds(lib: Lib) -> JSON:
    return JSON({"genres": lib.genre_seeds()})


@router.get("/audio-features/{id}", response_model=models.AudioFeatures,
            summary="Audio features of one track")
async def audio_features(request: Request, lib: Lib, id: TrackId) -> JSON:
    row = lib.row_of(id)
    if row is None:
        raise NotFoundError(f"track {id!r} is not in the catalogue")
    return JSON(_shapes(request, lib).audio_features([id], [row])[0])


# Clients such as spotipy ask for "audio-features/?ids=" and "tracks/?ids=", which Spotify
# answered directly; a redirect to the path without the slash would cost a round trip.
@router.get("/audio-features", response_model=models.SeveralAudioFeatures,
            summary="Audio features of several tracks (null for unknown ids)")
@router.get("/audio-features/", include_in_schema=False)
async def several_audio_features(request: Request, lib: Lib, ids: IdsQuery) -> JSON:
    wanted = id_list(ids, "ids", MAX_FEATURE_IDS)
    rows = lib.rows_of(wanted)
    found = [(track_id, row) for track_id, row in zip(wanted, rows, strict=True)
             if row is not None]
    known = iter(_shapes(request, lib).audio_features([i for i, _ in found],
                                                      [r for _, r in found]))
    return JSON({"audio_features": [next(known) if r is not None else None for r in rows]})


@router.get("/tracks/{id}", response_model=models.Track, summary="One track")
async def track(request: Request, lib: Lib, id: TrackId, market: Market = None) -> JSON:
    return JSON(_shapes(request, lib).track(_record(lib, id)))


@router.get("/tracks", response_model=models.SeveralTracks,
            summary="Several tracks (null for unknown ids)")
@router.get("/tracks/", include_in_schema=False)
async def several_tracks(request: Request, lib: Lib, ids: IdsQuery, market: Market = None) -> JSON:
    shapes = _shapes(request, lib)
    records = _records(lib, id_list(ids, "ids", MAX_TRACK_IDS))
    return JSON({"tracks": [shapes.track(rec) if rec else None for rec in records]})


# --- artists ------------------------------------------------------------------------------------


def _artist_row(lib: Library, artist_id: str) -> int:
    row = lib.artist_row_of(artist_id)
    if row is None:
        raise NotFoundError(f"artist {artist_id!r} is not in the catalogue")
    return row


@router.get("/artists/{id}", response_model=models.Artist, summary="One artist")
async def artist(request: Request, lib: Lib, id: ArtistId) -> JSON:
    return JSON(_shapes(request, lib).artist(_artist_row(lib, id)))


@router.get("/artists", response_model=models.SeveralArtists,
            summary="Several artists (null for unknown ids)")
@router.get("/artists/", include_in_schema=False)
async def several_artists(request: Request, lib: Lib, ids: Annotated[str, Query(
        description="Comma-separated artist ids (up to 50).")]) -> JSON:
    shapes = _shapes(request, lib)
    rows = [lib.artist_row_of(i) for i in id_list(ids, "ids", MAX_ARTIST_IDS)]
    return JSON({"artists": [shapes.artist(r) if r is not None else None for r in rows]})


@router.get("/artists/{id}/related-artists", response_model=models.SeveralArtists,
            summary="Artists whose songs sound like this artist's")
async def related_artists(request: Request, lib: Lib, id: ArtistId) -> JSON:
    """Up to 20 artists, closest first by the cosine of their mean song vectors (artists with at
    least 3 songs first, since a one-song artist's mean is one song). Retired by Spotify in
    2024 like the recommendations; answered here from the catalogue's own sound."""
    shapes = _shapes(request, lib)
    found = lib.related_artists(_artist_row(lib, id), MAX_RELATED)
    return JSON({"artists": [shapes.artist(lib.artist_row_of(a["id"])) for a in found]})


@router.get("/artists/{id}/top-tracks", response_model=models.SeveralTracks,
            summary="An artist's top tracks: most popular, or most typical of its sound")
async def top_tracks(request: Request, lib: Lib, id: ArtistId, market: Market = None) -> JSON:
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
    shapes = _shapes(request, lib)
    return JSON({"tracks": [shapes.track(rec) for rec in lib.tracks(best, TRACK_COLUMNS)]})


def _paging(request: Request, items: list[dict[str, Any]], total: int, offset: int,
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


@router.get("/artists/{id}/albums", response_model=models.ArtistAlbums,
            summary="An artist's albums")
async def artist_albums(
    request: Request, lib: Lib, id: ArtistId,
    include_groups: Annotated[str | None, Query(
        description="Comma-separated: album, single, compilation, appears_on.")] = None,
    market: Market = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
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
    shapes = _shapes(request, lib)
    items = []
    for code, first in zip(codes.tolist(), firsts, strict=True):
        album = shapes.simple_album(first, code)
        own = first["artist_ids"][:1] == [artist_id]
        album["album_group"] = album["album_type"] if own else "appears_on"
        if album["album_group"] in groups:
            items.append(album)
    return JSON(_paging(request, items[offset:offset + limit], len(items), offset, limit))


# --- albums -------------------------------------------------------------------------------------


def _album_code(albums: Albums, album_id: str) -> int:
    code = albums.code_of(album_id)
    if code is None:
        raise NotFoundError(f"album {album_id!r} is not in the catalogue")
    return code


def _album_tracks(request: Request, shapes: Shapes, code: int, offset: int,
                  limit: int) -> dict[str, Any]:
    rows = shapes.albums.rows(code)
    items = [shapes.simple_track(rec) for rec in shapes.lib.tracks(rows[offset:offset + limit])]
    return _paging(request, items, len(rows), offset, limit)


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
async def album(request: Request, lib: Lib, id: AlbumId, market: Market = None) -> JSON:
    shapes = _shapes(request, lib)
    return JSON(_full_album(request, shapes, _album_code(shapes.albums, id)))


@router.get("/albums", response_model=models.SeveralAlbums,
            summary="Several albums (null for unknown ids)")
@router.get("/albums/", include_in_schema=False)
async def several_albums(request: Request, lib: Lib, ids: Annotated[str, Query(
        description="Comma-separated album ids (up to 20).")], market: Market = None) -> JSON:
    shapes = _shapes(request, lib)
    codes = [shapes.albums.code_of(i) for i in id_list(ids, "ids", MAX_ALBUM_IDS)]
    return JSON({"albums": [_full_album(request, shapes, c) if c is not None else None
                            for c in codes]})


@router.get("/albums/{id}/tracks", response_model=models.AlbumTracks,
            summary="An album's tracks, in catalogue order")
async def album_tracks(request: Request, lib: Lib, id: AlbumId, market: Market = None,
                 limit: Annotated[int, Query(ge=1, le=50)] = 20,
                 offset: OffsetQuery = 0) -> JSON:
    shapes = _shapes(request, lib)
    return JSON(_album_tracks(request, shapes, _album_code(shapes.albums, id), offset, limit))


# --- search -------------------------------------------------------------------------------------


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
    request: Request, lib: Lib,
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
    shapes = _shapes(request, lib)
    out: dict[str, Any] = {}
    if "track" in kinds:
        songs = lib.search(query, window)
        items = [shapes.track(s) for s in songs.items[offset:offset + limit]]
        out["tracks"] = _paging(request, items, songs.total, offset, limit, MAX_SEARCH_DEPTH)
    if "artist" in kinds:
        artists = lib.search_artists(query, window)
        items = [shapes.artist(lib.artist_row_of(a["id"]))
                 for a in artists.items[offset:offset + limit]]
        out["artists"] = _paging(request, items, artists.total, offset, limit,
                                 MAX_SEARCH_DEPTH)
    if "album" in kinds:
        albums = shapes.albums
        docs = albums.documents(lib.table)
        found = albums.text(lib.table).search(query, window, documents=_AlbumDocs(docs))
        codes = [h.row for h in found.hits[offset:offset + limit]]
        firsts = lib.tracks(albums.first[codes]) if codes else []
        items = [shapes.simple_album(rec, code) for rec, code in zip(firsts, codes, strict=True)]
        out["albums"] = _paging(request, items, found.total, offset, limit, MAX_SEARCH_DEPTH)
    return JSON(out)


FamilyKey = Annotated[str, Path(description="A sound family id or name.")]


@router.get("/musicrec/families", response_model=models.FamilyList,
            summary="The sound families (musicrec extension)")
async def families(lib: Lib) -> JSON:
    return JSON({"families": [family_summary(f) for f in lib.families.families]})


@router.get("/musicrec/families/{family}", response_model=models.FamilyProfile,
            summary="One sound family's profile (musicrec extension)")
async def family(request: Request, lib: Lib, family: FamilyKey) -> JSON:
    found = lib.families.by_name_or_id(family)
    neighbours = [lib.families.families[i] for i in found.neighbours]
    return JSON(_shapes(request, lib).family_profile(found, neighbours,
                                                     lib.tracks(found.central_rows)))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"status": status, "message": message}}, status_code=status,
                headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0]
    name = str(first["loc"][-1]) if first.get("loc") else "request"
    if first.get("type") == "missing":
        return f"missing required parameter {name}"
    return f"invalid {name}: {first['msg']}"


def _add_error_handlers(app: FastAPI) -> None:
    async def expected(request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, MusicrecError)
        return _error(exc.status, str(exc))

    async def validation(request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, RequestValidationError)
        return _error(400, _validation_message(exc))

    async def http(request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, HTTPException)
        message = {404: f"no endpoint at {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}
        return _error(exc.status_code, message.get(exc.status_code, exc.detail), exc.headers)

    async def bug(request: Request, exc: Exception) -> JSON:
        log.exception("unhandled error answering %s %s", request.method, request.url.path)
        return _error(500, "internal server error")

    app.add_exception_handler(MusicrecError, expected)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, bug)


def _examples(lib: Library) -> dict[tuple[str, str], str]:
    """(path, parameter) -> a value from this catalogue, so "Try it out" in /docs works."""
    song = lib.tracks([0])[0]
    track, artist, genre = song["id"], song["artist_ids"][0], "0"
    album = Albums.of(lib).id(int(Albums.of(lib).code[0]))
    word = max(song["name"].split(), key=len)
    return {("/v1/recommendations", "seed_tracks"): track,
            ("/v1/recommendations", "seed_artists"): artist,
            ("/v1/recommendations", "seed_genres"): genre,
            ("/v1/tracks/{id}", "id"): track, ("/v1/tracks", "ids"): track,
            ("/v1/audio-features/{id}", "id"): track, ("/v1/audio-features", "ids"): track,
            ("/v1/artists/{id}", "id"): artist, ("/v1/artists", "ids"): artist,
            ("/v1/artists/{id}/top-tracks", "id"): artist,
            ("/v1/artists/{id}/albums", "id"): artist,
            ("/v1/albums/{id}", "id"): album, ("/v1/albums", "ids"): album,
            ("/v1/albums/{id}/tracks", "id"): album, ("/v1/search", "q"): word,
            ("/v1/search", "type"): "track", ("/v1/musicrec/families/{family}", "family"): genre}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema without FastAPI's 422 responses (validation errors answer 400 here), with
    examples from the catalogue only when the server has no token (with one, the schema shows
    no catalogue ids)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        examples: dict[tuple[str, str], str] = {}
        if app.state.token is None:
            # no usable library: the schema without examples
            with contextlib.suppress(MusicrecError):
                examples = _examples(app.state.live.get())
        for path_name, path in schema["paths"].items():
            for operation in path.values():
                operation["responses"].pop("422", None)
                for parameter in operation.get("parameters", []):
                    example = examples.get((path_name, parameter["name"]))
                    if example is not None:
                        parameter["example"] = example
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema


class HeadAsGet:
    """Answers HEAD for every GET route: the GET runs and its body is dropped (headers,
    Content-Length included, stay those of the GET, as HTTP asks)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def create_app(live: LiveLibrary, token: str | None = None, *,
               public_url: str = DEFAULT_PUBLIC_URL,
               cors_origins: Sequence[str] = ()) -> FastAPI:
    """The API over the library in one folder.

    Args:
        live: The library, opened once and shared by every request (it is read-only); a
            rebuild of its folder is picked up between requests.
        token: If given, every `/v1` request must carry `Authorization: Bearer <token>`, and
            so must `/openapi.json` (which then shows no catalogue ids); `/docs` is off, since
            a browser cannot send the token to it. Otherwise any or no token is accepted
            (Spotify clients always send one).
        public_url: The server's address as clients reach it; every href starts with it.
        cors_origins: Origins whose browser apps may call the API ("*" for any).
    """
    app = FastAPI(title="musicrec", version=__version__, description=DESCRIPTION,
                  openapi_url=None, docs_url=None, redoc_url=None)
    try:
        # Open now, so that no request waits for it (a broken one answers 503); the albums and
        # their word index too (0.07 + 0.13 s at 200k songs; forked workers share them).
        lib = live.get()
        Albums.of(lib).text(lib.table)
    except MusicrecError as exc:
        log.error("%s", exc)
    app.state.live = live
    app.state.current = None
    app.state.checked_at = 0.0
    app.state.token = token
    app.state.base = public_url.rstrip("/") + "/"
    guard = [] if token is None else [Depends(_authorize)]
    for routes in (router, audio.router, flows.router):
        if token is None:
            app.include_router(routes)
        else:
            app.include_router(routes, dependencies=guard, responses=_UNAUTHORIZED)

    @app.get("/health", response_model=models.Health, summary="Liveness: status only",
             responses={503: {"model": models.Error, "description": "No usable library."}})
    async def health(lib: Lib) -> JSON:
        return JSON({"status": "ok"})

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    async def openapi_json() -> JSON:
        return JSON(_openapi(app))

    if token is None:
        from fastapi.openapi.docs import get_swagger_ui_html

        @app.get("/docs", include_in_schema=False)
        async def docs() -> Response:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="musicrec API")

    _add_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins),
                           allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    app.add_middleware(HeadAsGet)
    return app
