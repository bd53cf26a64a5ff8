"""`POST /v1/musicrec/audio-features`: audio features of an uploaded file (the audio extra).

Spotify closed `/v1/audio-features` to new apps in 2024; this answers in the same shape for a
file of one's own. Features that cannot be estimated with confidence are `null`, with the
reason in the `musicrec.unknown` object, rather than invented.

The upload is streamed to a private temporary file (never named by the client) and removed
after the analysis; its size is capped by `Settings.max_upload_mb`, and at most
`Settings.audio_analyses` run at once in a worker (more answer 503 with ``Retry-After``).
Analyses run on threads of their own, always the same ones (see `_limits`).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from typing import TYPE_CHECKING, Annotated, BinaryIO

from fastapi import APIRouter, File, HTTPException, UploadFile
from fastapi.responses import JSONResponse

from musicrec.config import Settings

if TYPE_CHECKING:
    from musicrec.audio import AnalysisResult

router = APIRouter(prefix="/v1/musicrec")


@cache
def _limits() -> tuple[int, threading.BoundedSemaphore, ThreadPoolExecutor]:
    """Read once: the largest upload in bytes, the slots for concurrent analyses, and the
    threads analyses run on, one per slot, kept for the worker's life.

    Threads of their own because glibc's malloc gives each thread an arena, and
    `musicrec.allocator.keep_freed_memory` keeps the memory freed in each (up to its 64 MB
    heap). Run on the thread pool of FastAPI, analyses landed on ever other threads: an idle
    worker grew from 290 to 580 MB, and its peak from 750 to 975 MB, over 12 rounds of four
    372 MB uploads; here it stays at 345 and 745 MB (benchmarks/upload_memory.py).
    """
    settings = Settings()
    return (int(settings.max_upload_mb * 2**20),
            threading.BoundedSemaphore(settings.audio_analyses),
            ThreadPoolExecutor(settings.audio_analyses, thread_name_prefix="musicrec-audio"))


@router.post("/audio-features", summary="Audio features of an uploaded audio file "
             "(musicrec extension; needs the audio extra)")
async def analyse_upload(file: Annotated[UploadFile, File(description=(
        "WAV, FLAC, OGG or MP3 (other codecs when ffmpeg is installed)."))]) -> JSONResponse:
    """Analyse the first minutes of the file into Spotify's audio-features object."""
    max_bytes, slots, threads = _limits()
    if not slots.acquire(blocking=False):
        raise HTTPException(503, "busy analysing other uploads; try again shortly",
                            headers={"Retry-After": "5"})
    job = partial(_analyse, slots, file.file, file.filename or "upload", max_bytes)
    # shielded: a cancelled request must not cancel a job still queued, which gives the slot back
    result = await asyncio.shield(asyncio.get_running_loop().run_in_executor(threads, job))
    return JSONResponse(result.spotify_audio_features())


def _analyse(slots: threading.BoundedSemaphore, stream: BinaryIO, name: str,
             max_bytes: int) -> AnalysisResult:
    """One analysis, its slot given back when it ends (not when a client goes away)."""
    from musicrec.audio import analyze_upload

    try:
        return analyze_upload(stream, name, max_bytes=max_bytes)
    finally:
        slots.release()
