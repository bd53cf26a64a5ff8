"""The audio features, one row each: every fact the project knows about a feature.

Every other module reads its feature lists from here: the catalogue's columns and checks, the
vectors' transforms and weights, the knobs of every interface, the words of explanations and
family names, the app's labels, charts and axes, the sound sketches. `tests/test_architecture`
fails when a list of features is written anywhere else.

Row order is the order of the song vectors' dimensions (`musicrec.features`), which libraries
store: it never changes for an existing feature. Two other orders are facts of the outside
world or of the interfaces, and are kept as such: `KAGGLE_HEADER` (the seed dataset's columns,
which also orders the catalogue's required columns) and `Feature.rank` (the order in which the
app and explanations list features; families break ties by `Feature.trait_rank`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Transform = Literal["linear", "log", "sqrt", "circle"]
# How a value is shown: "percent" for 0..1 features, the rest by their unit.
Display = Literal["percent", "bpm", "db", "duration", "year", "score", "key", "mode", "meter",
                  "number", "bool"]

# The exact header of Kaggle's "Spotify 1.2M+ Songs" tracks_features.csv (24 columns).
KAGGLE_HEADER: tuple[str, ...] = (
    "id", "name", "album", "album_id", "artists", "artist_ids", "track_number", "disc_number",
    "explicit", "danceability", "energy", "key", "loudness", "mode", "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence", "tempo", "duration_ms",
    "time_signature", "year", "release_date")


@dataclass(frozen=True)
class Knob:
    """A slider in the app: its range, step and where it starts; `more` puts it behind
    "More knobs"."""

    lo: float
    hi: float
    step: float
    start: float
    more: bool = False


@dataclass(frozen=True)
class Sketch:
    """How a sound sketch renders the feature: the value it uses when none is given, and the
    range it can draw."""

    default: float
    lo: float
    hi: float


@dataclass(frozen=True)
class Feature:
    """One audio feature (or numeric song attribute) and everything said about it."""

    name: str
    label: str  # the app's name for it
    lo: float  # inclusive valid range in a catalogue; values outside are rejected
    hi: float
    display: Display
    required: bool = False  # a column every catalogue must have
    integer: bool = False  # whole numbers only (a fraction in a catalogue is rejected)
    aliases: tuple[str, ...] = ()  # other header names accepted for the column
    # The song vectors: the transform before standardising, and the default weight; None: not
    # in the vectors. Weights tuned by `benchmarks/quality.py tune` (docs/quality.md).
    transform: Transform | None = None
    weight: float = 0.0
    # Multiplier on the feature in an artist's averaged-features context (`musicrec.learn`),
    # tuned by `benchmarks/quality.py learn` (docs/quality.md).
    artist_scale: float = 1.0
    tunable: bool = False  # min_X, max_X and target_X in every interface
    rank: int | None = None  # where the app and explanations list it (None: not listed)
    axis: str | None = None  # its short name on the "why this song" chart (None: not charted)
    tick: tuple[str, str, float] | None = None  # sound-map axis: tick format, suffix, factor
    words: tuple[str, str, str] | None = None  # explanations: (higher, lower, noun)
    traits: tuple[str, str] | None = None  # family names: (above the catalogue, below)
    # Prompts (`musicrec.prompts`): words that ask for more of the feature, and for less, so
    # that a library without playlists still understands "calm" or "instrumental".
    asks: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    trait_rank: int | None = None  # which trait wins a tie in a family's name
    # Where the words make a claim in absolute terms (Spotify's documentation of the feature:
    # e.g. instrumentalness above 0.5 "is intended to represent instrumental tracks"), the
    # value a family's median must be above for the first word and below for the second.
    trait_split: float | None = None
    profile: bool = False  # averaged in a family's profile
    knob: Knob | None = None
    sketch: Sketch | None = None
    # Sequencing (`musicrec.sequence`): the change between adjacent songs that counts as one
    # step of roughness, in the feature's unit (tempo: a ratio, after doubling or halving; key:
    # steps on the Camelot wheel, read with the mode); None: sequencing does not read it.
    mix: float | None = None
    # Why an analysis of an audio file leaves it unknown (no model weights are shipped).
    unknown_from_audio: str | None = None

    @property
    def unit(self) -> bool:
        """Measured from 0 to 1 (shown as a percentage; may be unknown in a catalogue)."""
        return self.display == "percent"

    @property
    def whole(self) -> bool:
        """Requests give it in whole numbers (milliseconds count as whole too)."""
        return self.integer or self.name == "duration_ms"


def _unit(name: str, label: str, **facts: object) -> Feature:
    return Feature(name, label, 0.0, 1.0, "percent", required=True, tunable=True, profile=True,
                   **facts)  # type: ignore[arg-type]


FEATURES: tuple[Feature, ...] = (
    _unit("danceability", "Danceability", transform="sqrt", weight=0.8, rank=1, axis="Dance",
          words=("more danceable", "less danceable", "danceability"),
          traits=("danceable", "undanceable"), trait_rank=4, trait_split=0.5,
          asks=(("danceable", "dance", "dancing", "groovy", "party"), ()),
          knob=Knob(0.0, 1.0, 0.01, 0.5), sketch=Sketch(0.65, 0.0, 1.0)),
    _unit("energy", "Energy", transform="linear", weight=1.0, rank=0, axis="Energy",
          words=("more energetic", "calmer", "energy"), traits=("energetic", "calm"),
          asks=(("energetic", "energy", "intense", "hype", "workout", "pump"),
                ("calm", "chill", "mellow", "relaxing", "relax", "soft", "gentle", "sleep")),
          trait_rank=0, trait_split=0.5, knob=Knob(0.0, 1.0, 0.01, 0.5),
          sketch=Sketch(0.7, 0.0, 1.0), mix=0.2),
    _unit("valence", "Mood (valence)", transform="linear", weight=0.3, artist_scale=2.0,
          rank=2, axis="Mood", words=("happier", "sadder", "mood"), traits=("happy", "sad"),
          asks=(("happy", "cheerful", "joyful", "sunny", "feelgood"),
                ("sad", "melancholy", "melancholic", "gloomy", "dark", "heartbreak")),
          trait_rank=5, trait_split=0.5, knob=Knob(0.0, 1.0, 0.01, 0.5),
          unknown_from_audio="musical mood cannot be read from tempo, key and loudness with "
                             "confidence"),
    _unit("acousticness", "Acousticness", transform="sqrt", weight=0.3, artist_scale=2.0,
          rank=3, axis="Acoustic", words=("more acoustic", "more electric", "acousticness"),
          traits=("acoustic", "electric"), trait_rank=1, trait_split=0.5,
          knob=Knob(0.0, 1.0, 0.01, 0.5),
          asks=(("acoustic", "unplugged", "folk"), ("electric", "electronic", "synth")),
          sketch=Sketch(0.2, 0.0, 1.0)),
    _unit("instrumentalness", "Instrumental", transform="sqrt", weight=1.0, artist_scale=3.0,
          rank=4, axis="Instrumental",
          words=("more instrumental", "more vocal", "instrumentation"),
          traits=("instrumental", "vocal"), trait_rank=2, trait_split=0.5,
          asks=(("instrumental", "instrumentals", "study", "focus"), ("vocal", "vocals")),
          knob=Knob(0.0, 1.0, 0.01, 0.5, more=True),
          unknown_from_audio="needs a trained vocal detector (no model weights are shipped)"),
    _unit("speechiness", "Spoken words", transform="sqrt", weight=0.6, rank=5, axis="Speech",
          words=("more spoken", "more sung", "amount of speech"),
          traits=("wordy", "sung"), trait_rank=3,
          asks=(("spoken", "talk", "poetry"), ("sung",)),
          knob=Knob(0.0, 1.0, 0.01, 0.1, more=True)),
    _unit("liveness", "Live", transform="linear", weight=0.2, rank=6, axis="Live",
          words=("more live", "more studio", "liveness"), traits=("live", "studio"),
          asks=(("live", "concert"), ("studio",)),
          trait_rank=9, trait_split=0.8, knob=Knob(0.0, 1.0, 0.01, 0.2, more=True),
          unknown_from_audio="needs a trained audience/room model (no model weights are "
                             "shipped)"),
    Feature("loudness", "Loudness", -70.0, 10.0, "db", required=True, transform="linear",
            weight=0.7, artist_scale=0.5, tunable=True, rank=8, axis="Loud",
            tick=(".0f", " dB", 1.0), words=("louder", "quieter", "loudness"),
            traits=("loud", "quiet"), trait_rank=6, profile=True,
            asks=(("loud", "heavy"), ("quiet",)),
            knob=Knob(-40.0, 0.0, 0.5, -8.0, more=True), sketch=Sketch(-8.0, -40.0, -1.0),
            mix=4.0),
    Feature("tempo", "Tempo", 0.0, 300.0, "bpm", required=True, transform="linear",
            weight=2.5, artist_scale=0.5, tunable=True, rank=7, axis="Tempo",
            tick=("d", " BPM", 1.0), words=("faster", "slower", "tempo"),
            traits=("fast", "slow"), trait_rank=7, profile=True,
            asks=(("fast", "upbeat", "running", "speedy"), ("slow", "slower", "downtempo")),
            knob=Knob(40.0, 220.0, 1.0, 120.0), sketch=Sketch(120.0, 40.0, 250.0), mix=0.06),
    Feature("duration_ms", "Length", 1.0, 10_800_000.0, "duration", required=True,
            transform="log", weight=0.4, artist_scale=2.0, tunable=True, rank=10,
            tick=(".1f", " min", 1 / 60_000), traits=("long", "short"), trait_rank=10,
            asks=(("long", "epic"), ("short",)),
            profile=True, knob=Knob(30_000.0, 600_000.0, 5_000.0, 210_000.0, more=True)),
    Feature("key", "Key", -1, 11, "key", required=True, integer=True, transform="circle",
            weight=0.1, artist_scale=3.0, tunable=True, sketch=Sketch(0, -1, 11), mix=1.0),
    Feature("mode", "Mode", 0, 1, "mode", required=True, integer=True, transform="linear",
            weight=0.2, artist_scale=2.0, tunable=True, traits=("major-key", "minor-key"),
            trait_rank=8, profile=True, sketch=Sketch(1, 0, 1)),
    Feature("time_signature", "Time signature", 0, 7, "meter", integer=True,
            transform="linear", weight=0.1, tunable=True, sketch=Sketch(4, 3, 4)),
    Feature("year", "Year", 0, 2100, "year", integer=True, aliases=("release_year",),
            transform="linear", weight=2.0, tunable=True, rank=9, tick=("d", "", 1.0),
            words=("newer", "older", "era"), profile=True),
    Feature("explicit", "Explicit", 0, 1, "bool", transform="linear", weight=0.5,
            traits=("explicit", "clean"), trait_rank=11, profile=True),
    Feature("popularity", "Popularity", 0, 100, "score", integer=True,
            aliases=("track_popularity",), tunable=True, rank=11, tick=("d", "", 1.0),
            asks=(("popular", "hits", "mainstream"), ("obscure", "underground")),
            profile=True, knob=Knob(0.0, 100.0, 1.0, 50.0, more=True)),
    Feature("track_number", "Track number", 0, 10_000, "number", integer=True),
    Feature("disc_number", "Disc number", 0, 1_000, "number", integer=True),
)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}


def _ordered(key: str) -> tuple[Feature, ...]:
    return tuple(sorted((f for f in FEATURES if getattr(f, key) is not None),
                        key=lambda f: getattr(f, key)))


# The catalogue's required feature columns: the 0..1 ones first, each group in Kaggle's order.
REQUIRED: tuple[Feature, ...] = tuple(sorted(
    (f for f in FEATURES if f.required), key=lambda f: (not f.unit, KAGGLE_HEADER.index(f.name))))
# Optional numeric columns, kept where a catalogue has them (explicit is a yes/no column).
OPTIONAL_NUMBERS: tuple[Feature, ...] = tuple(
    f for f in FEATURES if not f.required and f.display != "bool")
UNIT: tuple[Feature, ...] = tuple(f for f in FEATURES if f.unit)
IN_VECTORS: tuple[Feature, ...] = tuple(f for f in FEATURES if f.transform is not None)
TUNABLE: tuple[str, ...] = tuple(sorted(f.name for f in FEATURES if f.tunable))
LISTED: tuple[Feature, ...] = _ordered("rank")  # explanations, knobs and charts, in order
TRAITS: tuple[Feature, ...] = _ordered("trait_rank")
EXPLAINED: tuple[Feature, ...] = tuple(f for f in LISTED if f.words is not None)
CHARTED: tuple[Feature, ...] = tuple(f for f in LISTED if f.axis is not None)
KNOBS: tuple[Feature, ...] = tuple(sorted((f for f in LISTED if f.knob is not None),
                                          key=lambda f: f.knob.more))  # type: ignore[union-attr]
SKETCHED: tuple[Feature, ...] = tuple(f for f in FEATURES if f.sketch is not None)
MIXED: tuple[Feature, ...] = tuple(f for f in FEATURES if f.mix is not None)  # sequencing
ASKED: tuple[Feature, ...] = tuple(f for f in FEATURES if f.asks is not None)  # prompts
# Inclusive valid ranges of the numeric columns; values outside are rejected, never clipped.
RANGES: dict[str, tuple[float, float]] = {
    f.name: (f.lo, f.hi) for f in FEATURES if f.display != "bool"}


def names(features: tuple[Feature, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in features)
