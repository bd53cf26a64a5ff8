"""Playlists: export a list of songs and read one back, in five formats.

The exports take song records as `Library.tracks` returns them (dicts with at least `id`,
`name` and `artists`; `album`, `year`, `duration_ms` and `track_number` are used when present),
so the app, the API and the CLI write identical files.

Formats:
    csv   one row per song, with its Spotify URI and web link; opens in any spreadsheet.
    uris  one `spotify:track:<id>` per line; pasted into a Spotify playlist, it adds the songs.
    jspf  JSON XSPF (https://xspf.org/jspf), read by ListenBrainz and other players.
    m3u   extended M3U: `#EXTINF:<seconds>,<artists> - <title>` then the song's Spotify link.
    xspf  XML Shareable Playlist Format (https://xspf.org), with a Spotify link per song.

`musicrec.playlist_files` reads any of these back (and MPD JSON); `resolve` and `load_playlist`
turn what it read into library rows.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from musicrec.errors import InvalidQueryError
from musicrec.playlist_files import (
    ImportedPlaylist,
    ImportFormat,
    PlaylistEntry,
    entry_of,
    read_playlist,
    track_id_of,
)

if TYPE_CHECKING:
    from musicrec.library import Library

Format = Literal["csv", "uris", "jspf", "m3u", "xspf"]

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
    "m3u": ExportFormat("M3U", "m3u", "audio/x-mpegurl"),
    "xspf": ExportFormat("XSPF", "xspf", "application/xspf+xml"),
}
XSPF_NS = "http://xspf.org/ns/0/"


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
    if fmt == "m3u":
        return to_m3u(tracks)
    if fmt == "xspf":
        return to_xspf(tracks, title)
    raise InvalidQueryError(f"unknown playlist format {fmt!r}; use one of {', '.join(FORMATS)}")


def file_name(title: str, fmt: Format) -> str:
    """A safe download file name for a playlist title, e.g. `late-night-drive.jspf`."""
    slug = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
    return f"{slug or 'playlist'}.{FORMATS[fmt].extension}"


def to_m3u(tracks: Iterable[Mapping[str, Any]]) -> str:
    """Extended M3U: `#EXTM3U`, then per song `#EXTINF:<seconds>,<artists> - <title>` and its
    Spotify link (-1 seconds when the length is unknown, as the format says)."""
    lines = ["#EXTM3U"]
    for t in _checked(tracks):
        duration = _optional_int(t.get("duration_ms"))
        seconds = -1 if duration is None else round(duration / 1000)
        # A line break inside a title would end the #EXTINF line early.
        label = " ".join(f"{', '.join(t['artists'])} - {t['name']}".split())
        lines += [f"#EXTINF:{seconds},{label}", spotify_url(t["id"])]
    return "\n".join(lines) + "\n"


def to_xspf(tracks: Iterable[Mapping[str, Any]], title: str = "musicrec playlist",
            creator: str = "musicrec") -> str:
    """The songs as an XSPF document (XML text), with the same fields as `to_jspf`."""
    ET.register_namespace("", XSPF_NS)
    root = ET.Element(f"{{{XSPF_NS}}}playlist", version="1")
    ET.SubElement(root, f"{{{XSPF_NS}}}title").text = title
    ET.SubElement(root, f"{{{XSPF_NS}}}creator").text = creator
    track_list = ET.SubElement(root, f"{{{XSPF_NS}}}trackList")
    for t in _checked(tracks):
        node = ET.SubElement(track_list, f"{{{XSPF_NS}}}track")
        ET.SubElement(node, f"{{{XSPF_NS}}}location").text = spotify_url(t["id"])
        ET.SubElement(node, f"{{{XSPF_NS}}}identifier").text = spotify_uri(t["id"])
        ET.SubElement(node, f"{{{XSPF_NS}}}title").text = t["name"]
        ET.SubElement(node, f"{{{XSPF_NS}}}creator").text = ", ".join(t["artists"])
        if t.get("album"):
            ET.SubElement(node, f"{{{XSPF_NS}}}album").text = t["album"]
        for key, value in (("trackNum", t.get("track_number")),
                           ("duration", t.get("duration_ms"))):
            number = _optional_int(value)
            if number is not None:
                ET.SubElement(node, f"{{{XSPF_NS}}}{key}").text = str(number)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


@dataclass
class ResolvedPlaylist:
    """A playlist matched to a library: rows in playlist order (first of duplicates kept) and
    the entries that are not in it."""

    rows: list[int]
    unknown: list[PlaylistEntry] = field(default_factory=list)
    duplicates: int = 0


def resolve(lib: Library, playlist: ImportedPlaylist) -> ResolvedPlaylist:
    """Match a playlist's entries to library rows: by Spotify id, else by an exact title
    (letter case and spacing aside) among the best search hits for "title artist".

    Repeated songs are kept once, at their first place.
    """
    by_id = lib.rows_of([e.id for e in playlist.entries if e.id])
    found = iter(by_id)
    out = ResolvedPlaylist([])
    seen: set[int] = set()
    for entry in playlist.entries:
        row = next(found) if entry.id else None
        if row is None and entry.title:
            row = _by_title(lib, entry)
        if row is None:
            out.unknown.append(entry)
        elif row in seen:
            out.duplicates += 1
        else:
            seen.add(row)
            out.rows.append(row)
    return out


def load_playlist(lib: Library, *, ids: Iterable[str] | None = None,
                  text: str | bytes | None = None, name: str | None = None,
                  fmt: ImportFormat | None = None) -> ResolvedPlaylist:
    """A playlist given as track ids (or URIs, links) or as a file's text, matched to a library.

    Raises:
        InvalidQueryError: neither or both given, an unreadable file, or no song of the
            playlist in the library.
    """
    if (ids is None) == (text is None):
        raise InvalidQueryError("give the playlist as track ids or as a file, not both")
    if ids is not None:
        entries = [entry_of(i) if track_id_of(i) else PlaylistEntry(i) for i in ids]
        if not entries:
            raise InvalidQueryError("the playlist holds no songs")
        playlist = ImportedPlaylist("uris", entries)
    else:
        assert text is not None
        playlist = read_playlist(text, name, fmt)
    resolved = resolve(lib, playlist)
    if not resolved.rows:
        raise InvalidQueryError(f"none of the playlist's {len(playlist.entries)} songs is in "
                                "this library")
    return resolved


def format_for_name(name: str) -> Format:
    """The export format for a file name, by its extension (`.txt` is Spotify URIs).

    Raises:
        InvalidQueryError: an extension that is no export format's.
    """
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    for fmt, spec in FORMATS.items():
        if ext == spec.extension or (ext == "m3u8" and fmt == "m3u"):
            return fmt
    raise InvalidQueryError(f"cannot tell the playlist format of {name!r}; use a name ending "
                            f"in {', '.join('.' + f.extension for f in FORMATS.values())}")


def _by_title(lib: Library, entry: PlaylistEntry) -> int | None:
    wanted = (entry.title or "").casefold()
    for hit in lib.search(f"{entry.title} {entry.artist or ''}", 5).items:
        if " ".join(hit["name"].split()).casefold() == wanted and (
                not entry.artist or any(a.casefold() in entry.artist.casefold()
                                        for a in hit["artists"])):
            return int(hit["row"])
    return None
