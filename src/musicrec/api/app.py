"""The REST API: Spotify's retired recommendation endpoints, answered from a local library.

A thin layer: handlers parse the query, call the core (`Library`) and shape the answer as
Spotify would (`musicrec.api.spotify`). Handlers that compute are plain `def`, so FastAPI runs
them in its thread pool while numpy and faiss work outside the event loop.

Every error, whether raised by the core, by parameter validation or by routing, answers with
Spotify's error object `{"error": {"status": 400, "message": "..."}}`.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from musicrec import __version__
from musicrec.api import audio, models
from musicrec.api.params import KNOB_PARAMETERS, IdsQuery, id_list, split_ids, tuning
from musicrec.api.spotify import (
    artist_object,
    audio_features_object,
    family_profile,
    family_summary,
    recommended_track,
    seed_object,
    track_object,
)
from musicrec.errors import InvalidQueryError, MusicrecError, NotFoundError
from musicrec.library import Library, LiveLibrary
from musicrec.request import Knobs, RecommendRequest

log = logging.getLogger("musicrec.api")

MAX_TRACK_IDS = 50
MAX_FEATURE_IDS = 100
MAX_SEARCH_OFFSET = 1000
MAX_SEARCH_LIMIT = 50
# Search pages are cut from one ranked list this many songs long (or a multiple), so that
# asking for the next page of 10 or 20 does not re-rank the songs already shown.
SEARCH_BLOCK = 50
SEARCH_TYPES = ("track", "artist")
SPOTIFY_ONLY_TYPES = ("album", "playlist", "show", "episode", "audiobook")
# Spotify's field filters ("artist:Queen track:Bicycle"); we search titles and artists anyway.
_FIELD_FILTER = re.compile(r"\b(?:track|artist|album|year|genre|isrc|upc|tag):", re.IGNORECASE)

DESCRIPTION = """\
Answers the requests of Spotify's retired `GET /v1/recommendations`, `GET /v1/audio-features`
and related endpoints from a local music library, with the same parameter names and response
shapes, so an existing Spotify client pointed at this server keeps working for the songs in
the catalogue. A "genre" seed is a sound family (its id or name) or, when the catalogue has
them, a genre label: see `/v1/recommendations/available-genre-seeds`.

Every error answers with Spotify's error object: `{"error": {"status": 400, "message": "..."}}`.
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A bad parameter."},
    404: {"model": models.Error, "description": "An id that is not in the catalogue."},
}
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error, "description": "Missing or wrong bearer token."}}

_bearer = HTTPBearer(auto_error=False, description="The token the server was started with "
                     "(--token-file).")


# Dependencies are `async def`: they do not block, and a plain `def` would cost a trip to the
# thread pool each.
async def _library(request: Request) -> Library:
    """The current library; a 503 when there is no usable one (see `LiveLibrary`)."""
    return request.app.state.live.get()


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


def _base(request: Request) -> str:
    return str(request.base_url)


def _records(lib: Library, ids: list[str]) -> list[dict[str, Any] | None]:
    """Catalogue records for ids, in order; None for an id not in the catalogue."""
    rows = lib.rows_of(ids)
    known = iter(lib.tracks([r for r in rows if r is not None]))
    return [next(known) if r is not None else None for r in rows]


def _record(lib: Library, track_id: str) -> dict[str, Any]:
    row = lib.row_of(track_id)
    if row is None:
        raise NotFoundError(f"track {track_id!r} is not in the catalogue")
    return lib.tracks([row])[0]


TrackId = Annotated[str, Path(description="A Spotify track id.")]


@router.get("/recommendations", response_model=models.Recommendations,
            summary="Recommendations from seeds, targets and filters",
            openapi_extra={"parameters": KNOB_PARAMETERS})
def recommendations(
    request: Request, lib: Lib, knobs: Annotated[Knobs, Depends(tuning)],
    seed_artists: Annotated[str | None, Query(
        description="Comma-separated artist ids. 1 to 5 seeds in total, of all kinds.")] = None,
    seed_genres: Annotated[str | None, Query(
        description="Comma-separated sound family ids or names, or genre labels when the "
                    "catalogue has them (see available-genre-seeds).")] = None,
    seed_tracks: Annotated[str | None, Query(
        description="Comma-separated track ids.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Number of songs.")] = 20,
    market: Annotated[str | None, Query(description="Accepted and ignored.")] = None,
) -> JSONResponse:
    """Songs like the seeds, each found from one seed and explained in `musicrec`."""
    result = lib.recommend(RecommendRequest.parse(
        seed_tracks=split_ids(seed_tracks), seed_artists=split_ids(seed_artists),
        seed_genres=split_ids(seed_genres), limit=limit, target=knobs.target, min=knobs.min,
        max=knobs.max))
    base = _base(request)
    return JSONResponse({"tracks": [recommended_track(r, base) for r in result.tracks],
                         "seeds": [seed_object(s, base) for s in result.seeds]})


@router.get("/recommendations/available-genre-seeds", response_model=models.GenreSeeds,
            summary="Genre seeds: sound family names, then genre labels")
def available_genre_seeds(lib: Lib) -> JSONResponse:
    return JSONResponse({"genres": lib.genre_seeds()})


@router.get("/audio-features/{id}", response_model=models.AudioFeatures,
            summary="Audio features of one track")
def audio_features(request: Request, lib: Lib, id: TrackId) -> JSONResponse:
    return JSONResponse(audio_features_object(_record(lib, id), _base(request)))


# Clients such as spotipy ask for "audio-features/?ids=" and "tracks/?ids=", which Spotify
# answered directly; a redirect to the path without the slash would cost a round trip.
@router.get("/audio-features", response_model=models.SeveralAudioFeatures,
            summary="Audio features of several tracks (null for unknown ids)")
@router.get("/audio-features/", include_in_schema=False)
def several_audio_features(request: Request, lib: Lib, ids: IdsQuery) -> JSONResponse:
    base = _base(request)
    records = _records(lib, id_list(ids, "ids", MAX_FEATURE_IDS))
    return JSONResponse({"audio_features": [
        audio_features_object(rec, base) if rec else None for rec in records]})


@router.get("/tracks/{id}", response_model=models.Track, summary="One track")
def track(request: Request, lib: Lib, id: TrackId,
          market: Annotated[str | None, Query(description="Accepted and ignored.")] = None,
          ) -> JSONResponse:
    return JSONResponse(track_object(_record(lib, id), _base(request)))


@router.get("/tracks", response_model=models.SeveralTracks,
            summary="Several tracks (null for unknown ids)")
@router.get("/tracks/", include_in_schema=False)
def several_tracks(request: Request, lib: Lib, ids: IdsQuery,
                   market: Annotated[str | None, Query(description="Accepted and ignored.")]
                   = None) -> JSONResponse:
    base = _base(request)
    records = _records(lib, id_list(ids, "ids", MAX_TRACK_IDS))
    return JSONResponse({"tracks": [track_object(rec, base) if rec else None
                                    for rec in records]})


def _artist(lib: Library, artist_row: int, base: str) -> dict[str, Any]:
    return artist_object(lib.artist(artist_row), lib.artist_families(artist_row), base)


@router.get("/artists/{id}", response_model=models.Artist, summary="One artist")
def artist(request: Request, lib: Lib,
           id: Annotated[str, Path(description="A Spotify artist id.")]) -> JSONResponse:
    row = lib.artist_row_of(id)
    if row is None:
        raise NotFoundError(f"artist {id!r} is not in the catalogue")
    return JSONResponse(_artist(lib, row, _base(request)))


def _search_types(value: str) -> list[str]:
    types = split_ids(value)
    for kind in types:
        if kind in SPOTIFY_ONLY_TYPES:
            raise InvalidQueryError(f"type: this server has no {kind}s; search for "
                                    f"{' or '.join(SEARCH_TYPES)}")
        if kind not in SEARCH_TYPES:
            raise InvalidQueryError(f"type: {kind!r} is not a search type; use "
                                    f"{' or '.join(SEARCH_TYPES)}")
    if not types:
        raise InvalidQueryError(f"type: give {' or '.join(SEARCH_TYPES)}")
    return list(dict.fromkeys(types))


def _page(request: Request, items: list[dict[str, Any]], total: int, offset: int,
          limit: int) -> dict[str, Any]:
    """Spotify's paging object; `next` and `previous` are this request's URL moved a page."""
    url = request.url
    following = offset + limit
    return {
        "href": str(url), "items": items, "limit": limit, "offset": offset, "total": total,
        "next": str(url.include_query_params(offset=following, limit=limit))
        if following < total and following <= MAX_SEARCH_OFFSET else None,
        "previous": str(url.include_query_params(offset=max(0, offset - limit), limit=limit))
        if offset > 0 else None,
    }


@router.get("/search", response_model=models.SearchResults, response_model_exclude_none=True,
            summary="Search tracks (and artists) by title and artist name")
def search(
    request: Request, lib: Lib,
    q: Annotated[str, Query(description="Words of a title and/or artist; typos and "
                                        "unfinished words are fine. Spotify's field filters "
                                        "(artist:, track:) are accepted.")],
    type: Annotated[str, Query(description="Comma-separated: track and/or artist.")],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_SEARCH_OFFSET)] = 0,
    market: Annotated[str | None, Query(description="Accepted and ignored.")] = None,
    include_external: Annotated[str | None, Query(description="Accepted and ignored.")] = None,
) -> JSONResponse:
    """Spotify's search, over the catalogue's song titles and artist names."""
    kinds = _search_types(type)
    query = _FIELD_FILTER.sub(" ", q)
    # Ranked in whole blocks, so the next page does not re-rank the songs already shown.
    window = -(-(offset + limit) // SEARCH_BLOCK) * SEARCH_BLOCK
    base = _base(request)
    out: dict[str, Any] = {}
    if "track" in kinds:
        songs = lib.search(query, window)
        out["tracks"] = _page(request, [track_object(s, base) for s in
                                        songs.items[offset:offset + limit]],
                              songs.total, offset, limit)
    if "artist" in kinds:
        artists = lib.search_artists(query, window)
        items = [_artist(lib, lib.artist_row_of(a["id"]), base)
                 for a in artists.items[offset:offset + limit]]
        out["artists"] = _page(request, items, artists.total, offset, limit)
    return JSONResponse(out)


FamilyKey = Annotated[str, Path(description="A sound family id or name.")]


@router.get("/musicrec/families", response_model=models.FamilyList,
            summary="The sound families (musicrec extension)")
def families(lib: Lib) -> JSONResponse:
    return JSONResponse({"families": [family_summary(f) for f in lib.families.families]})


@router.get("/musicrec/families/{family}", response_model=models.FamilyProfile,
            summary="One sound family's profile (musicrec extension)")
def family(request: Request, lib: Lib, family: FamilyKey) -> JSONResponse:
    found = lib.families.by_name_or_id(family)
    neighbours = [lib.families.families[i] for i in found.neighbours]
    return JSONResponse(family_profile(found, neighbours, lib.tracks(found.central_rows),
                                       _base(request)))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status,
                        headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0]
    name = str(first["loc"][-1]) if first.get("loc") else "request"
    if first.get("type") == "missing":
        return f"missing required parameter {name}"
    return f"invalid {name}: {first['msg']}"


def _add_error_handlers(app: FastAPI) -> None:
    async def expected(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MusicrecError)
        return _error(exc.status, str(exc))

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _error(400, _validation_message(exc))

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        message = {404: f"no endpoint at {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}
        return _error(exc.status_code, message.get(exc.status_code, exc.detail), exc.headers)

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error answering %s %s", request.method, request.url)
        return _error(500, "internal server error")

    app.add_exception_handler(MusicrecError, expected)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, bug)


def _examples(lib: Library) -> dict[tuple[str, str], str]:
    """(path, parameter) -> a value from this catalogue, so "Try it out" in /docs works."""
    song = lib.tracks([0])[0]
    track, artist, genre = song["id"], song["artist_ids"][0], "0"
    word = max(song["name"].split(), key=len)
    return {("/v1/recommendations", "seed_tracks"): track,
            ("/v1/recommendations", "seed_artists"): artist,
            ("/v1/recommendations", "seed_genres"): genre,
            ("/v1/tracks/{id}", "id"): track, ("/v1/tracks", "ids"): track,
            ("/v1/audio-features/{id}", "id"): track, ("/v1/audio-features", "ids"): track,
            ("/v1/artists/{id}", "id"): artist, ("/v1/search", "q"): word,
            ("/v1/search", "type"): "track", ("/v1/musicrec/families/{family}", "family"): genre}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema, with examples from the catalogue and without FastAPI's 422 responses
    (validation errors answer 400 here)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        try:
            examples = _examples(app.state.live.get())
        except MusicrecError:  # no usable library: the schema without examples
            examples = {}
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


def create_app(live: LiveLibrary, token: str | None = None) -> FastAPI:
    """The API over the library in one folder.

    Args:
        live: The library, opened once and shared by every request (it is read-only); a
            rebuild of its folder is picked up between requests.
        token: If given, every `/v1` request must carry `Authorization: Bearer <token>`;
            otherwise any or no token is accepted (Spotify clients always send one).
    """
    app = FastAPI(title="musicrec", version=__version__, description=DESCRIPTION)
    try:
        live.get()  # open now, so that no request waits for it (a broken one answers 503)
    except MusicrecError as exc:
        log.error("%s", exc)
    app.state.live = live
    app.state.token = token
    for routes in (router, audio.router):
        if token is None:
            app.include_router(routes)
        else:
            app.include_router(routes, dependencies=[Depends(_authorize)],
                               responses=_UNAUTHORIZED)

    @app.get("/health", response_model=models.Health, summary="Liveness and library size",
             responses={503: {"model": models.Error, "description": "No usable library."}})
    def health(lib: Lib) -> JSONResponse:
        return JSONResponse({"status": "ok", "songs": len(lib),
                             "families": len(lib.families.families),
                             "musicrec_version": __version__})

    _add_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
