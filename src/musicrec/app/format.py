"""One way to show every number in the app: BPM, m:ss, dB, percentages, years."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from musicrec import schema

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
    known = schema.BY_NAME.get(name)
    show = _DISPLAY.get(known.display) if known is not None else None
    return show(value) if show is not None else f"{float(value):g}"


def _key(value: Any) -> str:
    return _KEYS[int(value)] if 0 <= int(value) < 12 else "unknown key"


_DISPLAY: dict[str, Callable[[Any], str]] = {
    "percent": percent, "bpm": bpm, "db": decibels, "duration": duration, "year": year,
    "score": lambda v: f"{int(v)}/100", "key": _key,
    "mode": lambda v: "major" if int(v) == 1 else "minor", "meter": lambda v: f"{int(v)}/4"}


def label(name: str) -> str:
    """The human name of a feature."""
    known = schema.BY_NAME.get(name)
    return known.label if known is not None else name.replace("_", " ").capitalize()


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
