"""The OpenAPI description: FastAPI's, without its 422 answers (validation errors answer 400
here), with examples from the catalogue."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from musicrec.albums import Albums
from musicrec.errors import MusicrecError
from musicrec.library import Library

DESCRIPTION = """\
Answers Spotify's Web API requests about the songs of a local music library: the retired
`GET /v1/recommendations` and `GET /v1/audio-features`, tracks, artists, albums and search, with
the same parameter names and response shapes, so an existing Spotify client pointed at this
server keeps working for the songs in the catalogue. A "genre" seed is a sound family (its id
or name), a sub-family (its key such as "3.1", or name) or, when the catalogue has them, a genre
label: see
`/v1/recommendations/available-genre-seeds`.

Every response validates against Spotify's OpenAPI description. A field the catalogue cannot
supply is derived from it where possible (an album's `total_tracks` is its number of songs
here) or given a neutral value (`track_number` 1, `time_signature` 4, ...) and named in the
object's `musicrec.unknown` list. An artist's top tracks are its most popular songs when the
catalogue has popularity, otherwise the songs closest to the average sound of its songs.

Every error answers with Spotify's error object: `{"error": {"status": 400, "message": "..."}}`.
"""


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


def openapi_schema(app: FastAPI) -> dict[str, Any]:
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
