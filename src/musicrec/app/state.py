"""What the person chose on Discover, kept in the session and mirrored in the URL.

The URL carries the whole recommendation, so it can be shared and reloaded:

    ?seed=<track id>&artist=<artist id>&target_energy=0.8&target_tempo=124
     &min_year=1990&max_year=2005&explicit=0&per_artist=1&family=3&diversity=0.2&limit=20

`seed` and `artist` repeat for several seeds. Values the app cannot use (an unknown knob, a
number that is not one) are dropped with a note for the person, never an exception. The
session copy is the source of truth while the app runs: Streamlit forgets the values of
widgets that are not on screen, so a visit to another page would otherwise reset the knobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st

from musicrec import schema
from musicrec.errors import InvalidQueryError
from musicrec.request import MAX_SEEDS, RecommendRequest, read_knobs
from musicrec.schema import RANGES

SeedKind = Literal["track", "artist", "sound"]
PER_ARTIST_CHOICES: tuple[int | None, ...] = (1, 2, 3, 4, 5, None)  # None: no limit
LIMIT_CHOICES = (10, 20, 30, 50)
DEFAULT_LIMIT = 20
DEFAULT_PER_ARTIST = 2


@dataclass(frozen=True)
class Knob:
    """A mood knob: a slider over `lo..hi` in steps of `step`, in the feature's own unit."""

    feature: str
    lo: float
    hi: float
    step: float
    start: float  # where the slider sits when the knob is first switched on
    more: bool = False  # shown behind "More knobs"

    def options(self) -> list[float]:
        n = round((self.hi - self.lo) / self.step)
        return [round(self.lo + i * self.step, 6) for i in range(n + 1)]

    def snap(self, value: float) -> float:
        """The slider position nearest to `value`."""
        i = round((min(max(value, self.lo), self.hi) - self.lo) / self.step)
        return round(self.lo + i * self.step, 6)


KNOBS: tuple[Knob, ...] = tuple(
    Knob(f.name, k.lo, k.hi, k.step, k.start, k.more)
    for f in schema.KNOBS if (k := f.knob) is not None)
KNOB_BY_FEATURE = {k.feature: k for k in KNOBS}


@dataclass(frozen=True)
class Seed:
    """A seed: a song or an artist by id, or a sound by its features ("tempo=120,energy=0.8",
    from a visitor's own audio file)."""

    kind: SeedKind
    id: str


def encode_sound(features: Mapping[str, float]) -> str:
    """Audio features as a sound seed's id, short enough for a URL."""
    return ",".join(f"{name}={value:.4g}" for name, value in sorted(features.items()))


def decode_sound(text: str) -> dict[str, float]:
    """The features of a sound seed's id; read as every interface reads knobs.

    Raises:
        InvalidQueryError: a part that is not NAME=NUMBER for a tunable feature.
    """
    pairs = [part.partition("=")[::2] for part in text.split(",") if part.strip()]
    knobs = read_knobs((f"target_{name.strip()}", value) for name, value in pairs)
    return knobs.target


@dataclass
class DiscoverState:
    """Seeds, knobs and filters of the Discover page."""

    seeds: list[Seed] = field(default_factory=list)
    targets: dict[str, float] = field(default_factory=dict)
    years: tuple[int, int] | None = None
    clean_only: bool = False
    per_artist: int | None = DEFAULT_PER_ARTIST
    family: int | None = None
    diversity: float = 0.0
    limit: int = DEFAULT_LIMIT

    def add_seed(self, seed: Seed) -> str | None:
        """Add a seed; returns why it was not added (already there, or full), else None."""
        if seed in self.seeds:
            return "That is already a seed."
        if len(self.seeds) >= MAX_SEEDS:
            return f"You already have {MAX_SEEDS} seeds: remove one first."
        self.seeds.append(seed)
        return None

    def remove_seed(self, seed: Seed) -> None:
        if seed in self.seeds:
            self.seeds.remove(seed)

    def request(self) -> RecommendRequest:
        """The request for `Library.recommend`.

        Raises:
            InvalidQueryError: the state cannot make a request (e.g. no seeds).
        """
        return RecommendRequest.parse(**{
            "seed_tracks": [s.id for s in self.seeds if s.kind == "track"],
            "seed_artists": [s.id for s in self.seeds if s.kind == "artist"],
            "seed_features": [decode_sound(s.id) for s in self.seeds if s.kind == "sound"],
            "limit": self.limit,
            "target": dict(self.targets),
            "min": {"year": self.years[0]} if self.years else {},
            "max": {"year": self.years[1]} if self.years else {},
            "explicit": False if self.clean_only else None,
            "families": None if self.family is None else [self.family],
            "max_per_artist": self.per_artist,
            "diversity": self.diversity,
        })

    def to_params(self) -> dict[str, list[str]]:
        """The state as URL query parameters; defaults are left out to keep links short."""
        params: dict[str, list[str]] = {}
        for kind, key in (("track", "seed"), ("artist", "artist"), ("sound", "sound")):
            ids = [s.id for s in self.seeds if s.kind == kind]
            if ids:
                params[key] = ids
        for name, value in self.targets.items():
            params[f"target_{name}"] = [f"{value:g}"]
        if self.years:
            params["min_year"], params["max_year"] = [str(self.years[0])], [str(self.years[1])]
        if self.clean_only:
            params["explicit"] = ["0"]
        if self.per_artist != DEFAULT_PER_ARTIST:
            params["per_artist"] = [str(self.per_artist or "any")]
        if self.family is not None:
            params["family"] = [str(self.family)]
        if self.diversity:
            params["diversity"] = [f"{self.diversity:g}"]
        if self.limit != DEFAULT_LIMIT:
            params["limit"] = [str(self.limit)]
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> tuple[DiscoverState, list[str]]:
        """Read the state from query parameters (each key -> all its values).

        Returns:
            The state, and one note per value that was dropped because it cannot be used.
        """
        state, notes = cls(), []
        for key, kind in (("seed", "track"), ("artist", "artist"), ("sound", "sound")):
            for value in (v.strip() for v in params.get(key, ())):
                if value and Seed(kind, value) not in state.seeds \
                        and state.add_seed(Seed(kind, value)) is not None:
                    notes.append(f"Only {MAX_SEEDS} seeds are used; {value!r} was left out.")
        parsed = _Reader(params, notes)
        for key in params:
            if key.startswith("target_"):
                name = key.removeprefix("target_")
                knob = KNOB_BY_FEATURE.get(name)
                if knob is None:
                    notes.append(f"There is no {name!r} knob; the link's {key} was ignored.")
                elif (value := parsed.knob(key)) is not None:
                    state.targets[name] = knob.snap(value)
        lo, hi = parsed.knob("min_year"), parsed.knob("max_year")
        if lo is not None or hi is not None:
            year_lo, year_hi = RANGES["year"]
            lo, hi = int(lo if lo is not None else year_lo), int(hi if hi is not None else year_hi)
            state.years = (min(lo, hi), max(lo, hi))
        state.clean_only = parsed.first("explicit") in ("0", "false", "no")
        per_artist = parsed.first("per_artist")
        if per_artist is not None:
            choices = {str(c or "any"): c for c in PER_ARTIST_CHOICES}
            if per_artist in choices:
                state.per_artist = choices[per_artist]
            else:
                notes.append(f"per_artist must be 1 to 5 or 'any', not {per_artist!r}.")
        family = parsed.number("family")
        state.family = None if family is None else int(family)
        diversity = parsed.number("diversity")
        state.diversity = 0.0 if diversity is None else round(min(max(diversity, 0.0), 1.0), 1)
        limit = parsed.number("limit")
        if limit is not None:
            state.limit = min(LIMIT_CHOICES, key=lambda c: abs(c - limit))
        return state, notes


class _Reader:
    """Reads single values from query parameters, noting the ones that are not numbers."""

    def __init__(self, params: Mapping[str, Sequence[str]], notes: list[str]):
        self.params = params
        self.notes = notes

    def first(self, key: str) -> str | None:
        values = self.params.get(key, ())
        return values[0].strip().lower() if values else None

    def knob(self, key: str) -> float | None:
        """A knob's value read as every interface reads knobs (`musicrec.request`)."""
        text = self.first(key)
        if text is None:
            return None
        try:
            knobs = read_knobs([(key, text)])
        except InvalidQueryError as exc:
            self.notes.append(f"The link's {key} was ignored: {exc}.")
            return None
        return next(iter({**knobs.target, **knobs.min, **knobs.max}.values()))

    def number(self, key: str) -> float | None:
        text = self.first(key)
        if text is None:
            return None
        try:
            value = float(text)
        except ValueError:
            self.notes.append(f"The link's {key}={text!r} is not a number; it was ignored.")
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.notes.append(f"The link's {key}={text!r} is not a number; it was ignored.")
            return None
        return value


# ---------------------------------------------------------------------------------------------
# Session glue: one DiscoverState and one playlist per browser session.

_STATE = "discover_state"
_NOTES = "discover_url_notes"
_PLAYLIST = "playlist"


def init_session() -> None:
    """On a session's first run, read the Discover state from the URL it was opened with."""
    if _STATE not in st.session_state:
        params = {key: st.query_params.get_all(key) for key in st.query_params}
        st.session_state[_STATE], st.session_state[_NOTES] = DiscoverState.from_params(params)


def discover() -> DiscoverState:
    """This session's Discover state (mutable: change it, it stays changed)."""
    init_session()
    return st.session_state[_STATE]


def reset_discover(keep_seeds: bool = True) -> None:
    """Knobs and filters back to their defaults."""
    seeds = discover().seeds if keep_seeds else []
    st.session_state[_STATE] = DiscoverState(seeds=list(seeds))


def take_url_notes() -> list[str]:
    """Notes about unusable URL values, returned once."""
    return st.session_state.pop(_NOTES, [])


def sync_url(state: DiscoverState) -> None:
    """Write the state into the address bar, only when it changed (each write is a message)."""
    wanted = state.to_params()
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def playlist() -> list[dict[str, Any]]:
    """This session's playlist: song records in play order (mutable)."""
    return st.session_state.setdefault(_PLAYLIST, [])


PLAYLIST_KEYS = ("id", "name", "artists", "album", "year", "duration_ms", "track_number")


def add_to_playlist(track: Mapping[str, Any]) -> bool:
    """Append a song unless it is already there; True when added."""
    songs = playlist()
    if any(s["id"] == track["id"] for s in songs):
        return False
    songs.append({key: track.get(key) for key in PLAYLIST_KEYS})
    return True


_TOASTS = "pending_toasts"


def announce(message: str, icon: str = ":material/music_note:") -> None:
    """Show a toast on the next run: callbacks that draw break fragment reruns."""
    st.session_state.setdefault(_TOASTS, []).append((message, icon))


def show_announcements() -> None:
    for message, icon in st.session_state.pop(_TOASTS, []):
        st.toast(message, icon=icon)


def add_seed(seed: Seed, label: str) -> None:
    """Add a seed to this session's Discover state and say what happened (a widget callback)."""
    problem = discover().add_seed(seed)
    announce(problem or f"Added {label} as a seed.",
             ":material/warning:" if problem else ":material/music_note:")


def remove_seed(seed: Seed) -> None:
    discover().remove_seed(seed)
