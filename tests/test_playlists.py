"""Playlist exports: CSV, Spotify URIs and JSPF, from library records and by hand."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from musicrec.errors import InvalidQueryError
from musicrec.library import Library
from musicrec.playlist_files import PlaylistEntry, read_mpd, read_playlist
from musicrec.playlists import (
    CSV_COLUMNS,
    FORMATS,
    export,
    file_name,
    resolve,
    spotify_uri,
    spotify_url,
    to_csv,
    to_jspf,
    to_m3u,
    to_uris,
    to_xspf,
    track_id_of,
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
    assert set(FORMATS) == {"csv", "uris", "jspf", "m3u", "xspf"}
    assert export(SONGS, "uris") == to_uris(SONGS)
    assert export(SONGS, "csv") == to_csv(SONGS)
    parsed = json.loads(export(SONGS, "jspf", title="Mine"))
    assert parsed["playlist"]["title"] == "Mine" and len(parsed["playlist"]["track"]) == 2
    assert "♫" in export(SONGS, "jspf")  # written as UTF-8 text, not \\u escapes


def test_export_rejects_unknown_format_and_incomplete_songs() -> None:
    with pytest.raises(InvalidQueryError, match="unknown playlist format 'wav'"):
        export(SONGS, "wav")  # type: ignore[arg-type]
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


# --- reading playlists back -------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_round_trips(fmt: str) -> None:
    text = export(SONGS, fmt, title="Round trip")  # type: ignore[arg-type]
    back = read_playlist(text, f"list.{FORMATS[fmt].extension}")  # type: ignore[index]
    assert back.format == fmt
    assert [e.id for e in back.entries] == [s["id"] for s in SONGS]
    if fmt != "uris":  # URIs carry ids only
        assert [e.title for e in back.entries] == [s["name"] for s in SONGS]
    if fmt in ("jspf", "xspf"):
        assert back.title == "Round trip"
    # Without a file name the format is recognised from the text.
    assert read_playlist(text).entries == back.entries


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_library_records_round_trip_to_the_same_rows(small_library: Library, fmt: str) -> None:
    rows = [7, 3, 250, 11]
    text = export(small_library.tracks(rows), fmt)  # type: ignore[arg-type]
    resolved = resolve(small_library, read_playlist(text))
    assert resolved.rows == rows and not resolved.unknown


def test_m3u_has_extinf_lines() -> None:
    text = to_m3u(SONGS)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1] == '#EXTINF:214,Rick, A, B - Never, "Gonna" Give'
    assert lines[2] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert lines[3] == "#EXTINF:-1,Solo - Ünïcode ♫"  # unknown length, as M3U says


def test_xspf_is_namespaced_xml() -> None:
    root = ET.fromstring(to_xspf(SONGS, "X"))
    assert root.tag == "{http://xspf.org/ns/0/}playlist" and root.get("version") == "1"
    tracks = root.findall("{http://xspf.org/ns/0/}trackList/{http://xspf.org/ns/0/}track")
    assert len(tracks) == 2
    assert tracks[0].findtext("{http://xspf.org/ns/0/}duration") == "213573"


def test_ids_are_found_in_links_uris_and_bare() -> None:
    tid = "4uLU6hMCjMI75M1A2tKUQC"
    for text in (tid, f"spotify:track:{tid}", f"https://open.spotify.com/track/{tid}?si=x1",
                 f"https://open.spotify.com/intl-de/track/{tid}"):
        assert track_id_of(text) == tid
    assert track_id_of("spotify:album:4uLU6hMCjMI75M1A2tKUQC") is None
    assert track_id_of("hello") is None


def test_mpd_files_and_hand_written_csv() -> None:
    mpd = {"info": {}, "playlists": [
        {"pid": 1, "name": "road", "tracks": [
            {"track_uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC", "artist_name": "Rick",
             "track_name": "Never"}]},
        {"pid": 2, "name": "two", "tracks": []}]}
    both = read_mpd(json.dumps(mpd))
    assert [p.title for p in both] == ["road", "two"]
    assert both[0].entries[0] == PlaylistEntry("4uLU6hMCjMI75M1A2tKUQC", "Never", "Rick")
    one = {"name": "road", "tracks": mpd["playlists"][0]["tracks"]}  # type: ignore[index]
    assert read_playlist(json.dumps(one)).format == "mpd"
    with pytest.raises(InvalidQueryError, match="holds 2 playlists"):
        read_playlist(json.dumps(mpd), "slice.json", "mpd")
    hand = "Track Name,Artist\nNever Gonna,Rick\n"
    assert read_playlist(hand).entries == [PlaylistEntry(None, "Never Gonna", "Rick")]


def test_songs_named_only_by_title_are_found(small_library: Library) -> None:
    song = small_library.tracks([42])[0]
    text = f"title,artist\n{song['name']},{song['artists'][0]}\nNo Such Song Here,Nobody\n"
    resolved = resolve(small_library, read_playlist(text))
    assert resolved.rows[0] == 42 or small_library.tracks(resolved.rows)[0]["name"] == \
        song["name"]
    assert resolved.unknown == [PlaylistEntry(None, "No Such Song Here", "Nobody")]


def test_repeated_and_unknown_songs_are_counted(small_library: Library) -> None:
    ids = [t["id"] for t in small_library.tracks([1, 2])]
    text = "\n".join([ids[0], ids[1], ids[0], "0000000000000000000000"])
    resolved = resolve(small_library, read_playlist(text))
    assert resolved.rows == [1, 2] and resolved.duplicates == 1 and len(resolved.unknown) == 1


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"\xff\xfe\x00bad", None, "not UTF-8"),
    ("", "x.txt", "holds no songs"),
    ("spotify:track:4uLU6hMCjMI75M1A2tKUQC\nnot a uri\n", "x.txt", "line 2"),
    ("{not json", "x.jspf", "not valid JSON"),
    ('{"playlist": {"track": [1]}}', "x.jspf", "track 1 is not an object"),
    ('{"title": "x"}', "x.jspf", "needs"),
    ("<playlist><trackList><track>", "x.xspf", "not valid XML"),
    ('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><playlist/>', "x.xspf",
     "DOCTYPE"),
    ("<html/>", "x.xspf", "root element is <html>"),
    ("a,b\n1,2\n", "x.csv", "no column of Spotify ids"),
    ('{"playlists": [{"tracks": [{"artist_name": "x"}]}]}', None, "has no track_uri"),
    ("x" * 5_000_001, None, "the most is"),
])
def test_bad_files_give_one_clear_error(data: str | bytes, name: str | None,
                                        message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        read_playlist(data, name)
