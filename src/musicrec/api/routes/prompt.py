"""`GET /v1/musicrec/prompt` (a musicrec extension): songs for a prompt in words.

A thin layer over `musicrec.prompts.answer`: the answer holds Spotify track objects and, in
`musicrec.interpretation`, how each part of the prompt was read and the words not understood.
An empty, too long or meaningless prompt is a 400 in Spotify's error shape.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from musicrec.api import models
from musicrec.api.deps import ERRORS, JSON, Lib, Market, SpotifyShapes
from musicrec.api.spotify import TRACK_COLUMNS
from musicrec.prompts.answer import answer_prompt
from musicrec.prompts.parse import MAX_PROMPT_CHARS, MAX_PROMPT_WORDS

router = APIRouter(prefix="/v1/musicrec", responses=ERRORS)


@router.get("/prompt", response_model=models.PromptAnswer, response_model_exclude_none=True,
            summary="Songs for a prompt in words (musicrec extension)")
async def prompt(
    lib: Lib, shapes: SpotifyShapes,
    q: Annotated[str, Query(description=(
        "What to play, in words, in any order (at most "
        f"{MAX_PROMPT_WORDS} words, {MAX_PROMPT_CHARS} characters): 'like' or 'by' an artist "
        "or song, a \"quoted title\", 'not X' or '-X', years and decades (90s, 1990-1995), "
        "tempo (120 bpm, under 100 bpm), #genre or genre:X, and words such as calm, fast, "
        "acoustic, or any word the library learned from playlist titles."))],
    limit: Annotated[int, Query(ge=1, le=100, description="Number of songs.")] = 20,
    market: Market = None,
) -> JSON:
    """Songs for a prompt, with how it was read (`musicrec.interpretation`)."""
    found = answer_prompt(lib, q, limit, columns=list(TRACK_COLUMNS))
    return JSON({"tracks": [shapes.track(t) for t in found.tracks],
                 "musicrec": {"interpretation": found.reading.interpretation()}})
