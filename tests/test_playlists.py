"""Playlist exports: CSV, Spotify URIs and JSPF, from library records and by hand."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from musicrec.errors import InvalidQueryError
from musicrec.library import Library
from musicrec.playlists import (
    CSV_COLUMNS,
    FORMATS,
    export,
    file_name,
    spotify_uri,
    spotify_url,
    to_csv,
    to_jspf,
    to_uris,
)

SONGS: list[dict[str, Any]] = [
    {"id": "4uLU6hMCjMI75M1A2tKUQC", "name": "Never, \"Gonna\" Give", "artists": ["Rick", "A, B"],
     "album": "Whenever", "year": 1987, "duration_ms": 213_573, "track_number": 1},
    {"id": "7GhIk7Il098yCjg4BQjzvb", "name": "Ünïcode ♫", "artists": ["Solo"],
     "album": None, "year": None, "duration_ms": float("nan"), "track_number": None},
]


def test_links() -> None:
    assert spotify_uri("abc") == "spotify:track:abc"
    assert spotify_url("abc") == "https://open.spotify.com/track/abc"


def test_uris_one_per_line_in_order() -> None:
    assert to_uris(SONGS) == ("spotify:track:4uLU6hMCjMI75M1A2tKUQC\n"
                              "spotify:track:7GhIk7Il098yCjg4BQjzvb\n")
    assert to_uris([]) == ""


def test_csv_round_trips_through_a_csv_reader() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(SONGS))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    first, second = rows
    assert first["position"] == "1" and first["title"] == 'Never, "Gonna" Give'
    assert first["artists"] == "Rick; A, B"  # names may hold commas: joined with "; "
    assert first["year"] == "1987" and first["duration_ms"] == "213573"
    assert first["spotify_uri"] == "spotify:track:4uLU6hMCjMI75M1A2tKUQC"
    assert first["spotify_url"] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    # Unknown values are empty cells, never "None" or "nan".
    assert second["album"] == "" and second["year"] == "" and second["duration_ms"] == ""
    assert second["title"] == "Ünïcode ♫"


def test_jspf_follows_the_spec_and_omits_unknowns() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    doc = to_jspf(SONGS, title="Late night", date=when)
    playlist = doc["playlist"]
    assert playlist["title"] == "Late night" and playlist["creator"] == "musicrec"
    assert playlist["date"] == "2024-05-01T12:00:00+00:00"
    first, second = playlist["track"]
    assert first == {"title": 'Never, "Gonna" Give', "creator": "Rick, A, B",
                     "album": "Whenever", "trackNum": 1, "duration": 213573,
                     "identifier": ["https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"]}
    # JSPF has no nulls: absent values are left out.
    assert second == {"title": "Ünïcode ♫", "creator": "Solo",
                      "identifier": ["https://open.spotify.com/track/7GhIk7Il098yCjg4BQjzvb"]}


def test_export_text_for_every_format() -> None:
    assert set(FORMATS) == {"csv", "uris", "jspf"}
    assert export(SONGS, "uris") == to_uris(SONGS)
    assert export(SONGS, "csv") == to_csv(SONGS)
    parsed = json.loads(export(SONGS, "jspf", title="Mine"))
    assert parsed["playlist"]["title"] == "Mine" and len(parsed["playlist"]["track"]) == 2
    assert "♫" in export(SONGS, "jspf")  # written as UTF-8 text, not \\u escapes


def test_export_rejects_unknown_format_and_incomplete_songs() -> None:
    with pytest.raises(InvalidQueryError, match="unknown playlist format 'm3u'"):
        export(SONGS, "m3u")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="playlist song 2 has no 'id'"):
        to_uris([SONGS[0], {"name": "x", "artists": ["y"]}])
    with pytest.raises(InvalidQueryError, match="has no 'artists'"):
        to_csv([{"id": "a", "name": "x", "artists": []}])


@pytest.mark.parametrize(("title", "fmt", "expected"), [
    ("Late Night Drive!", "jspf", "late-night-drive.jspf"),
    ("  ", "csv", "playlist.csv"),
    ("../../etc/passwd", "uris", "etc-passwd.txt"),
])
def test_file_name_is_safe(title: str, fmt: str, expected: str) -> None:
    assert file_name(title, fmt) == expected  # type: ignore[arg-type]


def test_exports_take_library_records(small_library: Library) -> None:
    tracks = small_library.tracks([5, 1, 9])
    rows = list(csv.DictReader(io.StringIO(to_csv(tracks))))
    assert [r["id"] for r in rows] == [t["id"] for t in tracks]
    assert [int(r["duration_ms"]) for r in rows] == [int(t["duration_ms"]) for t in tracks]
    jspf = to_jspf(tracks)["playlist"]["track"]
    assert [t["title"] for t in jspf] == [t["name"] for t in tracks]
    assert all(isinstance(t["duration"], int) for t in jspf)
