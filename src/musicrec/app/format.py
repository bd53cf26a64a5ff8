"""One way to show every number in the app: BPM, m:ss, dB, percentages, years."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

# Features measured from 0 to 1, shown as percentages.
UNIT_FEATURES = ("danceability", "energy", "valence", "acousticness", "instrumentalness",
                 "speechiness", "liveness")

LABELS: dict[str, str] = {
    "danceability": "Danceability",
    "energy": "Energy",
    "valence": "Mood (valence)",
    "acousticness": "Acousticness",
    "instrumentalness": "Instrumental",
    "speechiness": "Spoken words",
    "liveness": "Live",
    "tempo": "Tempo",
    "loudness": "Loudness",
    "duration_ms": "Length",
    "popularity": "Popularity",
    "year": "Year",
    "key": "Key",
    "mode": "Mode",
    "time_signature": "Time signature",
}

_KEYS = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")
UNKNOWN = "–"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(value: float | None) -> str:
    """0.834 -> "83%"."""
    return UNKNOWN if _missing(value) else f"{round(float(value) * 100):d}%"


def bpm(value: float | None) -> str:
    """121.96 -> "122 BPM"."""
    return UNKNOWN if _missing(value) else f"{round(float(value)):d} BPM"


def decibels(value: float | None) -> str:
    """-5.25 -> "-5.2 dB" (one decimal; a true minus sign)."""
    return UNKNOWN if _missing(value) else f"{float(value):.1f} dB".replace("-", "−")


def duration(ms: float | None) -> str:
    """225000 -> "3:45"; an hour or more -> "1:02:03"."""
    if _missing(ms):
        return UNKNOWN
    seconds = round(float(ms) / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def year(value: float | None) -> str:
    return UNKNOWN if _missing(value) else str(int(value))


def feature(name: str, value: Any) -> str:
    """Any feature value in its unit: "83%", "122 BPM", "−5.2 dB", "3:45", "C♯", "minor"."""
    if _missing(value):
        return UNKNOWN
    if name in UNIT_FEATURES:
        return percent(value)
    formats = {"tempo": bpm, "loudness": decibels, "duration_ms": duration, "year": year}
    if name in formats:
        return formats[name](value)
    if name == "popularity":
        return f"{int(value)}/100"
    if name == "key":
        return _KEYS[int(value)] if 0 <= int(value) < 12 else "unknown key"
    if name == "mode":
        return "major" if int(value) == 1 else "minor"
    if name == "time_signature":
        return f"{int(value)}/4"
    return f"{float(value):g}"


def label(name: str) -> str:
    """The human name of a feature."""
    return LABELS.get(name, name.replace("_", " ").capitalize())


def artists(names: Sequence[str]) -> str:
    return ", ".join(names)


def count(n: int) -> str:
    """12345 -> "12,345"."""
    return f"{n:,}"


def megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:,.1f} MB"


def markdown(text: str) -> str:
    """Text shown literally inside Markdown: song titles may contain `*`, `[` or `#`."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
