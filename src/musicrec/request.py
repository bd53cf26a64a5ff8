"""What a recommendation request may say, and reading it from text, once for every interface.

The CLI (`--min-tempo 100`), the API (`?min_tempo=100`) and the app's URL (`&min_tempo=100`)
all name a knob as KIND_FEATURE with a number; `read_knobs` turns such pairs into the
request's `target`, `min` and `max`, and `RecommendRequest` validates the whole request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from musicrec import schema
from musicrec.errors import InvalidQueryError
from musicrec.schema import RANGES, TUNABLE

KNOB_KINDS = ("min", "max", "target")
# Knobs whose values are whole numbers: a fraction there is a mistake worth a clear error.
WHOLE_NUMBERS = frozenset(f.name for f in schema.FEATURES if f.whole)
MAX_SEEDS = 5
MAX_LIMIT = 100  # songs one request may ask for
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class RecommendRequest(BaseModel):
    """A recommendation request, validated once here for every interface.

    Raises (on construction):
        pydantic.ValidationError; `RecommendRequest.parse` turns it into InvalidQueryError.
    """

    model_config = ConfigDict(extra="forbid")

    seed_tracks: list[str] = Field(default_factory=list)
    seed_artists: list[str] = Field(default_factory=list)
    seed_genres: list[str] = Field(default_factory=list)
    # A song known only by its audio features (e.g. analysed from a file): feature -> value;
    # a feature left out is unknown and does not pull the query either way.
    seed_features: list[dict[str, float]] = Field(default_factory=list)
    limit: int = Field(10, ge=1, le=MAX_LIMIT)
    target: dict[str, float] = Field(default_factory=dict)
    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)
    explicit: bool | None = None
    families: list[int] | None = None
    max_per_artist: int | None = Field(2, ge=1)
    diversity: float = Field(0.0, ge=0.0, le=1.0)

    @classmethod
    def parse(cls, **params: object) -> RecommendRequest:
        """Validate parameters into a request.

        Raises:
            InvalidQueryError: the first problem, naming the parameter and the value.
        """
        try:
            return cls(**params)
        except ValidationError as exc:
            raise InvalidQueryError(first_error(exc)) from exc

    @model_validator(mode="after")
    def _check(self) -> RecommendRequest:
        n_seeds = (len(self.seed_tracks) + len(self.seed_artists) + len(self.seed_genres)
                   + len(self.seed_features))
        if not 1 <= n_seeds <= MAX_SEEDS:
            raise ValueError(f"give 1 to {MAX_SEEDS} seeds in total, got {n_seeds}")
        named = [(f"{kind}_", values) for kind, values in
                 (("target", self.target), ("min", self.min), ("max", self.max))]
        named += [("seed feature ", features) for features in self.seed_features]
        for prefix, values in named:
            for name, value in values.items():
                if name not in TUNABLE:
                    raise ValueError(f"unknown attribute {prefix}{name}; tunable: "
                                     f"{', '.join(TUNABLE)}")
                lo, hi = RANGES[name]
                if not lo <= value <= hi:
                    raise ValueError(f"{prefix}{name}={value:g} is outside {lo:g}..{hi:g}")
        for name in set(self.min) & set(self.max):
            if self.min[name] > self.max[name]:
                raise ValueError(f"min_{name}={self.min[name]:g} is above "
                                 f"max_{name}={self.max[name]:g}")
        return self

    @property
    def has_filters(self) -> bool:
        return bool(self.min or self.max or self.explicit is not None
                    or self.families is not None)


@dataclass
class Knobs:
    """The tuning knobs of one request, keyed by feature name."""

    target: dict[str, float] = field(default_factory=dict)
    min: dict[str, float] = field(default_factory=dict)
    max: dict[str, float] = field(default_factory=dict)


def split_knob(key: str) -> tuple[str, str] | None:
    """("min", "tempo") for "min_tempo" (or "min-tempo"); None when `key` is no knob's name."""
    kind, sep, name = key.replace("-", "_").partition("_")
    return (kind, name) if sep and kind in KNOB_KINDS else None


def read_knobs(pairs: Iterable[tuple[str, str]], *, skip_other_keys: bool = False) -> Knobs:
    """Knobs from (name, text) pairs such as ("min_tempo", "100") or ("target-energy", "0.8").

    Args:
        pairs: knob names with their values as text.
        skip_other_keys: pass over pairs whose name is not KIND_X (an API query string also
            holds seeds and the limit); otherwise such a name is an error.

    Raises:
        InvalidQueryError: an unknown feature, a value that is not a number, or a fraction
            where the feature takes whole numbers. Ranges are checked by `RecommendRequest`.
    """
    knobs = Knobs()
    for key, text in pairs:
        parts = split_knob(key)
        if parts is None:
            if skip_other_keys:
                continue
            raise InvalidQueryError(f"unknown knob {key}: use min_X, max_X or target_X with X "
                                    f"one of {', '.join(TUNABLE)}")
        kind, name = parts
        if name not in TUNABLE:
            raise InvalidQueryError(f"unknown knob {key}: X in {kind}_X is one of "
                                    f"{', '.join(TUNABLE)}")
        if not _NUMBER.fullmatch(text.strip()):
            raise InvalidQueryError(f"invalid {key}: {text!r} is not a number")
        number = float(text)
        if name in WHOLE_NUMBERS and not number.is_integer():
            raise InvalidQueryError(f"invalid {key}: {text!r} is not a whole number")
        getattr(knobs, kind)[name] = number
    return knobs


def first_error(exc: ValidationError) -> str:
    """The first problem of a validation error, as "parameter: message"."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", exc)).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
