"""Tracks and their audio features: `GET /v1/tracks`, `GET /v1/audio-features`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from musicrec.api import models
from musicrec.api.deps import (
    ERRORS,
    JSON,
    Lib,
    Market,
    TrackId,
    record_of,
    records_of,
    shapes_for,
)
from musicrec.api.params import IdsQuery, id_list
from musicrec.errors import NotFoundError

MAX_TRACK_IDS = 50

MAX_FEATURE_IDS = 100

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.get("/audio-features/{id}", response_model=models.AudioFeatures,
            summary="Audio features of one track")
async def audio_features(request: Request, lib: Lib, id: TrackId) -> JSON:
    row = lib.row_of(id)
    if row is None:
        raise NotFoundError(f"track {id!r} is not in the catalogue")
    return JSON(shapes_for(request, lib).audio_features([id], [row])[0])


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
    known = iter(shapes_for(request, lib).audio_features([i for i, _ in found],
                                                      [r for _, r in found]))
    return JSON({"audio_features": [next(known) if r is not None else None for r in rows]})


@router.get("/tracks/{id}", response_model=models.Track, summary="One track")
async def track(request: Request, lib: Lib, id: TrackId, market: Market = None) -> JSON:
    return JSON(shapes_for(request, lib).track(record_of(lib, id)))


@router.get("/tracks", response_model=models.SeveralTracks,
            summary="Several tracks (null for unknown ids)")
@router.get("/tracks/", include_in_schema=False)
async def several_tracks(request: Request, lib: Lib, ids: IdsQuery, market: Market = None) -> JSON:
    shapes = shapes_for(request, lib)
    records = records_of(lib, id_list(ids, "ids", MAX_TRACK_IDS))
    return JSON({"tracks": [shapes.track(rec) if rec else None for rec in records]})
