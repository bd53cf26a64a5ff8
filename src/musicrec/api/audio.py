"""`POST /v1/musicrec/audio-features`: audio features of an uploaded file (the audio extra).

Spotify closed `/v1/audio-features` to new apps in 2024; this answers in the same shape for a
file of one's own. Features that cannot be estimated with confidence are `null`, with the
reason in the `musicrec.unknown` object, rather than invented.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from musicrec.errors import MusicrecError

# A 3-minute WAV is about 32 MB; an hour of 24-bit FLAC stays under this.
MAX_UPLOAD_BYTES = 400 * 1024 * 1024

router = APIRouter(prefix="/v1/musicrec")


class UploadTooLarge(MusicrecError):
    status = 413


@router.post("/audio-features", summary="Audio features of an uploaded audio file "
             "(musicrec extension; needs the audio extra)")
def analyse_upload(file: Annotated[UploadFile, File(description=(
        "WAV, FLAC, OGG or MP3 (other codecs when ffmpeg is installed)."))]) -> JSONResponse:
    """Analyse the first minutes of the file into Spotify's audio-features object."""
    from musicrec.audio import analyze_bytes

    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    result = analyze_bytes(data, file.filename or "upload")
    return JSONResponse(result.spotify_audio_features())
