"""`GET /v1/recommendations` and its genre seeds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from musicrec.api import models
from musicrec.api.deps import (
    ERRORS,
    JSON,
    Lib,
    Market,
    SpotifyShapes,
)
from musicrec.api.params import KNOB_PARAMETERS, split_ids, tuning
from musicrec.api.spotify import TRACK_COLUMNS
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.request import Knobs, RecommendRequest

# Knobs on an attribute the catalogue lacks answer 400, except these: Spotify clients send
# target_time_signature=4 by habit, and every song of such a catalogue shows the neutral 4.
IGNORED_WHEN_MISSING = ("time_signature",)

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.get("/recommendations", response_model=models.Recommendations,
            summary="Recommendations from seeds, targets and filters",
            openapi_extra={"parameters": KNOB_PARAMETERS})
async def recommendations(
    lib: Lib, shapes: SpotifyShapes, knobs: Annotated[Knobs, Depends(tuning)],
    seed_artists: Annotated[str | None, Query(
        description="Comma-separated artist ids. 1 to 5 seeds in total, of all kinds.")] = None,
    seed_genres: Annotated[str | None, Query(
        description="Comma-separated sound family ids (\"3\"), sub-family keys (\"3.1\") "
                    "or their names, or genre labels when the catalogue has them (see "
                    "available-genre-seeds); another value is a 400, as at Spotify.")] = None,
    seed_tracks: Annotated[str | None, Query(
        description="Comma-separated track ids.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Number of songs.")] = 20,
    market: Market = None,
) -> JSON:
    """Songs like the seeds, each found from one seed and explained in `musicrec` (with
    `musicrec=true`).

    Knobs on `time_signature` are accepted and ignored on a catalogue without time
    signatures (listed in the answer's `musicrec.ignored`, with `musicrec=true`); other knobs on
    an attribute the catalogue lacks are a 400.
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
    body: dict[str, Any] = {"tracks": [shapes.recommended_track(r) for r in result.tracks],
                            "seeds": [shapes.seed(s) for s in result.seeds]}
    if ignored and shapes.extensions:
        body["musicrec"] = {"ignored": ignored}
    return JSON(body)


@router.get("/recommendations/available-genre-seeds", response_model=models.GenreSeeds,
            summary="Genre seeds: sound family and sub-family names, then genre labels")
async def available_genre_seeds(lib: Lib) -> JSON:
    return JSON({"genres": lib.genre_seeds()})
