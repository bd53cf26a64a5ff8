"""Query parameters shared by handlers: id lists and the tunable attribute knobs.

Spotify's recommendations take `min_X`, `max_X` and `target_X` for each tunable attribute X:
45 parameters. Declared one by one as FastAPI parameters they cost about 1 ms of extraction
and validation per request, more than the recommendation itself, so `tuning` reads them from
the query string in one pass, and `KNOB_PARAMETERS` declares them in the OpenAPI schema
(with type and range) for clients, docs and the schema-driven fuzz test. Ranges and unknown
attribute names are checked by the core (`musicrec.recommend.RecommendRequest`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from musicrec.errors import InvalidQueryError
from musicrec.request import KNOB_KINDS, WHOLE_NUMBERS, Knobs, read_knobs
from musicrec.schema import RANGES, TUNABLE

EXTENSIONS = ("year",)  # tunable here but not in Spotify's API
_KIND_TEXT = {
    "min": "Hard floor: every recommended song has {name} at least this value.",
    "max": "Hard ceiling: every recommended song has {name} at most this value.",
    "target": "Preferred value: songs nearer to it rank higher.",
}


def _knob_parameter(kind: str, name: str) -> dict[str, Any]:
    """The OpenAPI declaration of one knob, e.g. `min_tempo`."""
    lo, hi = RANGES[name]
    text = _KIND_TEXT[kind].format(name=name) + f" Range {lo:g} to {hi:g}."
    if name == "popularity":
        text += " Only when the catalogue has popularity data (otherwise a 400 error)."
    if name in EXTENSIONS:
        text += " A musicrec extension."
    kind_type = "integer" if name in WHOLE_NUMBERS else "number"
    return {"name": f"{kind}_{name}", "in": "query", "required": False, "description": text,
            "schema": {"type": kind_type, "minimum": lo, "maximum": hi}}


KNOB_PARAMETERS = [_knob_parameter(kind, name) for name in TUNABLE for kind in KNOB_KINDS]


async def tuning(request: Request) -> Knobs:
    """FastAPI dependency: the `min_`, `max_` and `target_` knobs of the query string.

    Raises:
        InvalidQueryError: a knob whose value is not a number (or not whole, where the
            attribute is), so that a misspelt value never passes silently.
    """
    return read_knobs(request.query_params.multi_items(), skip_other_keys=True)


def split_ids(value: str | None) -> list[str]:
    """Split a comma-separated list, ignoring blanks and spaces around items."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def id_list(value: str, name: str, most: int) -> list[str]:
    """Split a comma-separated id list; 400 unless it has 1 to `most` ids."""
    ids = split_ids(value)
    if not ids:
        raise InvalidQueryError(f"{name}: give at least one id")
    if len(ids) > most:
        raise InvalidQueryError(f"{name}: at most {most} ids, got {len(ids)}")
    return ids


IdsQuery = Annotated[str, Query(description="Comma-separated Spotify track ids.")]

# Every numeric query parameter has an upper bound, so that no value reaches the core or the
# JSON encoder (64-bit integers at most) unchecked. Spotify bounds the offset of a search (see
# `musicrec.api.app`) but not that of an artist's albums or an album's tracks: this is far
# beyond any artist's or album's count.
MAX_OFFSET = 100_000
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=(
    f"The index of the first item to return (at most {MAX_OFFSET:,})."))]
