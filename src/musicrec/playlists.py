"""Playlists: export a list of songs as CSV, Spotify track URIs or JSPF.

The exports take song records as `Library.tracks` returns them (dicts with at least `id`,
`name` and `artists`; `album`, `year`, `duration_ms` and `track_number` are used when present),
so the app, the API and the CLI write identical files.

Formats:
    csv   one row per song, with its Spotify URI and web link; opens in any spreadsheet.
    uris  one `spotify:track:<id>` per line; pasted into a Spotify playlist, it adds the songs.
    jspf  JSON XSPF (https://xspf.org/jspf), read by ListenBrainz and other players.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from musicrec.errors import InvalidQueryError

Format = Literal["csv", "uris", "jspf"]

CSV_COLUMNS = ("position", "id", "title", "artists", "album", "year", "duration_ms",
               "spotify_uri", "spotify_url")


@dataclass(frozen=True)
class ExportFormat:
    """How one export format is offered for download."""

    label: str
    extension: str
    mime: str


FORMATS: dict[Format, ExportFormat] = {
    "csv": ExportFormat("CSV", "csv", "text/csv"),
    "uris": ExportFormat("Spotify URIs", "txt", "text/plain"),
    "jspf": ExportFormat("JSPF", "jspf", "application/json"),
}


def spotify_uri(track_id: str) -> str:
    """The Spotify URI of a track, e.g. `spotify:track:4uLU6hMCjMI75M1A2tKUQC`."""
    return f"spotify:track:{track_id}"


def spotify_url(track_id: str) -> str:
    """The web page of a track on Spotify."""
    return f"https://open.spotify.com/track/{track_id}"


def _checked(tracks: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The tracks as a list, failing clearly on a record that cannot be exported."""
    out = list(tracks)
    for position, track in enumerate(out, 1):
        for key in ("id", "name", "artists"):
            if not track.get(key):
                raise InvalidQueryError(f"playlist song {position} has no {key!r}")
    return out


def _optional_int(value: Any) -> int | None:
    """An integer for a possibly missing or NaN number."""
    if value is None or value != value:  # NaN is the only value unequal to itself
        return None
    return int(value)


def to_csv(tracks: Iterable[Mapping[str, Any]]) -> str:
    """The songs as CSV text with the header `CSV_COLUMNS`; artists are joined with "; "."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for position, t in enumerate(_checked(tracks), 1):
        year, duration = _optional_int(t.get("year")), _optional_int(t.get("duration_ms"))
        writer.writerow([position, t["id"], t["name"], "; ".join(t["artists"]),
                         t.get("album") or "", "" if year is None else year,
                         "" if duration is None else duration,
                         spotify_uri(t["id"]), spotify_url(t["id"])])
    return buffer.getvalue()


def to_uris(tracks: Iterable[Mapping[str, Any]]) -> str:
    """One Spotify track URI per line, in playlist order."""
    return "".join(f"{spotify_uri(t['id'])}\n" for t in _checked(tracks))


def to_jspf(tracks: Iterable[Mapping[str, Any]], title: str = "musicrec playlist",
            creator: str = "musicrec", date: datetime | None = None) -> dict[str, Any]:
    """The songs as a JSPF document (a dict ready for `json.dumps`).

    Each track has title, creator (the artists), album, duration (ms), trackNum where known,
    and identifier `https://open.spotify.com/track/<id>`; absent values are left out rather
    than written as null.
    """
    date = date or datetime.now(UTC)
    entries = []
    for t in _checked(tracks):
        entry: dict[str, Any] = {"title": t["name"], "creator": ", ".join(t["artists"]),
                                 "identifier": [spotify_url(t["id"])]}
        if t.get("album"):
            entry["album"] = t["album"]
        for key, value in (("trackNum", t.get("track_number")),
                           ("duration", t.get("duration_ms"))):
            number = _optional_int(value)
            if number is not None:
                entry[key] = number
        entries.append(entry)
    return {"playlist": {"title": title, "creator": creator,
                         "date": date.isoformat(timespec="seconds"), "track": entries}}


def export(tracks: Iterable[Mapping[str, Any]], fmt: Format,
           title: str = "musicrec playlist") -> str:
    """The songs in one of `FORMATS`, as text.

    Raises:
        InvalidQueryError: an unknown format, or a song without id, name or artists.
    """
    if fmt == "csv":
        return to_csv(tracks)
    if fmt == "uris":
        return to_uris(tracks)
    if fmt == "jspf":
        return json.dumps(to_jspf(tracks, title), indent=2, ensure_ascii=False) + "\n"
    raise InvalidQueryError(f"unknown playlist format {fmt!r}; use one of {', '.join(FORMATS)}")


def file_name(title: str, fmt: Format) -> str:
    """A safe download file name for a playlist title, e.g. `late-night-drive.jspf`."""
    slug = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
    return f"{slug or 'playlist'}.{FORMATS[fmt].extension}"
