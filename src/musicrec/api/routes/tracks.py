"""Tracks, their audio features and audio analysis: `GET /v1/tracks`, `/v1/audio-features`,
`/v1/audio-analysis`."""

from __future__ import annotations

from fastapi import APIRouter

from musicrec.api import models
from musicrec.api.deps import (
    ERRORS,
    JSON,
    Lib,
    Market,
    SpotifyShapes,
    TrackId,
    record_of,
    records_of,
    row_of,
)
from musicrec.api.params import IdsQuery, id_list
from musicrec.errors import NotFoundError

MAX_TRACK_IDS = 50

MAX_FEATURE_IDS = 100

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.get("/audio-features/{id}", response_model=models.AudioFeatures,
            summary="Audio features of one track")
async def audio_features(lib: Lib, shapes: SpotifyShapes, id: TrackId) -> JSON:
    return JSON(shapes.audio_features([id], [row_of(lib, id)])[0])


# Clients such as spotipy ask for "audio-features/?ids=" and "tracks/?ids=", which Spotify
# answered directly; a redirect to the path without the slash would cost a round trip.
@router.get("/audio-features", response_model=models.SeveralAudioFeatures,
            summary="Audio features of several tracks (null for unknown ids)")
@router.get("/audio-features/", include_in_schema=False)
async def several_audio_features(lib: Lib, shapes: SpotifyShapes, ids: IdsQuery) -> JSON:
    wanted = id_list(ids, "ids", MAX_FEATURE_IDS)
    rows = lib.rows_of(wanted)
    found = [(track_id, row) for track_id, row in zip(wanted, rows, strict=True)
             if row is not None]
    known = iter(shapes.audio_features([i for i, _ in found], [r for _, r in found]))
    return JSON({"audio_features": [next(known) if r is not None else None for r in rows]})


@router.get("/audio-analysis/{id}", summary="Audio analysis of one track: none here (404)")
async def audio_analysis(lib: Lib, id: TrackId) -> JSON:
    """Spotify's beats, bars, sections and segments are measured from the audio; a library
    keeps its songs' audio features only, so every song answers 404 with the reason (the
    `analysis_url` of its audio features points here)."""
    row_of(lib, id)
    raise NotFoundError(f"no audio analysis for track {id!r}: musicrec has its audio features "
                        f"only (/v1/audio-features/{id}); `musicrec analyze` a file of the "
                        "song measures its tempo, key, mode, loudness and time signature")


@router.get("/tracks/{id}", response_model=models.Track, summary="One track")
async def track(lib: Lib, shapes: SpotifyShapes, id: TrackId, market: Market = None) -> JSON:
    return JSON(shapes.track(record_of(lib, id)))


@router.get("/tracks", response_model=models.SeveralTracks,
            summary="Several tracks (null for unknown ids)")
@router.get("/tracks/", include_in_schema=False)
async def several_tracks(lib: Lib, shapes: SpotifyShapes, ids: IdsQuery,
                         market: Market = None) -> JSON:
    records = records_of(lib, id_list(ids, "ids", MAX_TRACK_IDS))
    return JSON({"tracks": [shapes.track(rec) if rec else None for rec in records]})
