"""`POST /v1/musicrec/audio-features`: audio features of an uploaded file (the audio extra).

Spotify closed `/v1/audio-features` to new apps in 2024; this answers in the same shape for a
file of one's own. Features that cannot be estimated with confidence are `null`, with the
reason in the `musicrec.unknown` object, rather than invented.

The upload is streamed to a private temporary file (never named by the client) and removed
after the analysis; its size is capped by `Settings.max_upload_mb`, and at most
`Settings.audio_analyses` run at once in a worker (more answer 503 with ``Retry-After``).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, UploadFile
from fastapi.responses import JSONResponse

from musicrec.config import Settings

router = APIRouter(prefix="/v1/musicrec")


@cache
def _limits() -> tuple[int, threading.BoundedSemaphore]:
    """(the largest upload in bytes, the slots for concurrent analyses), read once."""
    settings = Settings()
    return int(settings.max_upload_mb * 2**20), threading.BoundedSemaphore(
        settings.audio_analyses)


@router.post("/audio-features", summary="Audio features of an uploaded audio file "
             "(musicrec extension; needs the audio extra)")
def analyse_upload(file: Annotated[UploadFile, File(description=(
        "WAV, FLAC, OGG or MP3 (other codecs when ffmpeg is installed)."))]) -> JSONResponse:
    """Analyse the first minutes of the file into Spotify's audio-features object."""
    from musicrec.audio import analyze_upload

    max_bytes, slots = _limits()
    if not slots.acquire(blocking=False):
        raise HTTPException(503, "busy analysing other uploads; try again shortly",
                            headers={"Retry-After": "5"})
    try:
        result = analyze_upload(file.file, file.filename or "upload", max_bytes=max_bytes)
    finally:
        slots.release()
    return JSONResponse(result.spotify_audio_features())
