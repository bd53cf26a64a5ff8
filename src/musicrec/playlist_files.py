"""Reading playlist files: CSV, Spotify URIs, M3U, JSPF, XSPF and MPD JSON (the Million
Playlist Dataset's layout) into `ImportedPlaylist` entries, each with a Spotify id where the file
names one and the title and artist otherwise. A file that cannot be read gives one
`InvalidQueryError` that names the format and, where there is one, the line or entry.

`read_playlist` reads one playlist a person gives (size-bounded); `read_mpd` every playlist of an
MPD file. Learning from playlists reads them its own way (`musicrec.learn.reading` says why).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Literal

from musicrec.errors import InvalidQueryError

ImportFormat = Literal["csv", "uris", "jspf", "m3u", "xspf", "mpd"]



# --- reading playlists ------------------------------------------------------------------------

# Most entries read from one file, and most bytes: far above any playlist a person continues
# (500 songs), low enough that a wrong file (a whole catalogue) fails at once.
MAX_ENTRIES = 10_000
MAX_BYTES = 5_000_000
# A Spotify id is 22 base-62 characters; it is found in URIs, web links and bare.
_TRACK_ID = re.compile(r"(?:spotify:track:|open\.spotify\.com/(?:intl-[a-z-]+/)?track/)"
                       r"([0-9A-Za-z]{22})")
_BARE_ID = re.compile(r"[0-9A-Za-z]{22}")
_CSV_ID_COLUMNS = ("id", "track_id", "spotify_id", "spotify_uri", "track_uri", "uri",
                   "spotify_url", "url")
_CSV_TITLE_COLUMNS = ("title", "name", "track_name", "track")
_CSV_ARTIST_COLUMNS = ("artists", "artist", "track_artist", "artist_name", "creator")


@dataclass(frozen=True)
class PlaylistEntry:
    """One song as a playlist file names it: a Spotify id, or a title and artist, or both."""

    id: str | None = None
    title: str | None = None
    artist: str | None = None


@dataclass
class ImportedPlaylist:
    """A playlist read from a file, before it is matched to a library."""

    format: ImportFormat
    entries: list[PlaylistEntry]
    title: str | None = None




def track_id_of(text: str | None) -> str | None:
    """The Spotify track id in a URI, a web link or a bare id; None if there is none."""
    if not text:
        return None
    text = text.strip()
    found = _TRACK_ID.search(text)
    if found:
        return found.group(1)
    return text if _BARE_ID.fullmatch(text) else None


def detect_format(text: str, name: str | None = None) -> ImportFormat:
    """The format of a playlist file, from its extension when it has a known one, else from
    its first characters."""
    if name:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        by_ext: dict[str, ImportFormat] = {"csv": "csv", "m3u": "m3u", "m3u8": "m3u",
                                           "jspf": "jspf", "xspf": "xspf", "txt": "uris"}
        if ext in by_ext:
            return by_ext[ext]
    head = text.lstrip("\ufeff \t\r\n")[:200]
    if head.startswith("<"):
        return "xspf"
    if head.startswith("{"):
        return "mpd" if '"playlists"' in text[:5000] or '"track_uri"' in text[:5000] \
            else "jspf"
    if head.startswith("#"):
        return "m3u"
    first = head.splitlines()[0] if head else ""
    return "uris" if track_id_of(first.split(",")[0]) else "csv"


def read_playlist(data: str | bytes, name: str | None = None,
                  fmt: ImportFormat | None = None) -> ImportedPlaylist:
    """Read a playlist file in any import format.

    Args:
        data: the file's content (bytes are read as UTF-8, with or without a BOM).
        name: the file's name, whose extension picks the format when `fmt` is None.
        fmt: the format; None detects it.

    Raises:
        InvalidQueryError: not text, too large, malformed, an unknown format, or no songs.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise InvalidQueryError(f"playlist file is {len(data):,} bytes; the most is "
                                    f"{MAX_BYTES:,}")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidQueryError(f"playlist file is not UTF-8 text (byte {exc.start} "
                                    "cannot be read)") from None
    if len(data) > MAX_BYTES:
        raise InvalidQueryError(f"playlist text is {len(data):,} characters; the most is "
                                f"{MAX_BYTES:,}")
    data = data.lstrip("\ufeff")
    fmt = fmt or detect_format(data, name)
    readers = {"csv": _read_csv, "uris": _read_uris, "m3u": _read_m3u, "jspf": _read_jspf,
               "xspf": _read_xspf, "mpd": _read_mpd}
    if fmt not in readers:
        raise InvalidQueryError(f"unknown playlist format {fmt!r}; use one of "
                                f"{', '.join(readers)}")
    title, entries = readers[fmt](data)
    if not entries:
        raise InvalidQueryError(f"the {fmt} playlist holds no songs")
    if len(entries) > MAX_ENTRIES:
        raise InvalidQueryError(f"the {fmt} playlist holds {len(entries):,} songs; the most "
                                f"is {MAX_ENTRIES:,}")
    return ImportedPlaylist(fmt, entries, title)


def entry_of(track_id: str | None, title: Any = None, artist: Any = None) -> PlaylistEntry:
    def text(value: Any) -> str | None:
        return " ".join(value.split()) or None if isinstance(value, str) else None
    return PlaylistEntry(track_id_of(track_id) if isinstance(track_id, str) else None,
                         text(title), text(artist))


def _read_uris(text: str) -> tuple[None, list[PlaylistEntry]]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        track_id = track_id_of(line)
        if track_id is None:
            raise InvalidQueryError(f"uris playlist line {number}: {line[:60]!r} is not a "
                                    "Spotify track URI, link or id")
        entries.append(PlaylistEntry(track_id))
    return None, entries


def _read_m3u(text: str) -> tuple[str | None, list[PlaylistEntry]]:
    title, entries, label = None, [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            _, _, label = line.partition(",")
        elif line.startswith("#PLAYLIST:"):
            title = line[len("#PLAYLIST:"):].strip() or None
        elif line and not line.startswith("#"):
            artist, sep, song = (label or "").partition(" - ")
            entries.append(entry_of(line, song if sep else label, artist if sep else None))
            label = None
    return title, entries


def _read_csv(text: str) -> tuple[None, list[PlaylistEntry]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        # "Track Name", "track-name" and "track_name" are one column.
        header = {"_".join(h.lower().replace("-", " ").split()): h
                  for h in reader.fieldnames or [] if h}
        id_col = next((header[c] for c in _CSV_ID_COLUMNS if c in header), None)
        title_col = next((header[c] for c in _CSV_TITLE_COLUMNS if c in header), None)
        artist_col = next((header[c] for c in _CSV_ARTIST_COLUMNS if c in header), None)
        if id_col is None and title_col is None:
            raise InvalidQueryError(
                "csv playlist has no column of Spotify ids (one of "
                f"{', '.join(_CSV_ID_COLUMNS)}) nor of titles (one of "
                f"{', '.join(_CSV_TITLE_COLUMNS)}); its header is "
                f"{', '.join(reader.fieldnames or []) or 'empty'}")
        entries = []
        for row in reader:
            entry = entry_of(row.get(id_col) if id_col else None,
                             row.get(title_col) if title_col else None,
                             row.get(artist_col) if artist_col else None)
            if entry.id or entry.title:
                entries.append(entry)
    except csv.Error as exc:
        raise InvalidQueryError(f"csv playlist cannot be read: {exc}") from None
    return None, entries


def _json(text: str, fmt: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidQueryError(f"{fmt} playlist is not valid JSON: {exc.msg} at line "
                                f"{exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise InvalidQueryError(f"{fmt} playlist is nested too deeply") from None
    except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
        raise InvalidQueryError(f"{fmt} playlist holds a number too long to read") from None


def _first_text(value: Any) -> list[str]:
    """JSPF allows one string or a list of strings for location and identifier."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _read_jspf(text: str) -> tuple[str | None, list[PlaylistEntry]]:
    doc = _json(text, "jspf")
    playlist = doc.get("playlist") if isinstance(doc, dict) else None
    if not isinstance(playlist, dict) or not isinstance(playlist.get("track", []), list):
        raise InvalidQueryError('jspf playlist needs {"playlist": {"track": [...]}}')
    entries = []
    for position, track in enumerate(playlist.get("track", []), 1):
        if not isinstance(track, dict):
            raise InvalidQueryError(f"jspf playlist track {position} is not an object")
        ids = [track_id_of(v) for v in (*_first_text(track.get("identifier")),
                                        *_first_text(track.get("location")))]
        entries.append(entry_of(next((i for i in ids if i), None), track.get("title"),
                                track.get("creator")))
    title = playlist.get("title")
    return title if isinstance(title, str) else None, entries


def _read_xspf(text: str) -> tuple[str | None, list[PlaylistEntry]]:
    # Entity declarations are refused before parsing: expat would expand them, and a few
    # nested ones grow a small file into gigabytes of text.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise InvalidQueryError("xspf playlist declares a DOCTYPE or entities; they are not "
                                "allowed")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InvalidQueryError(f"xspf playlist is not valid XML: {exc}") from None

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    if local(root.tag) != "playlist":
        raise InvalidQueryError(f"xspf playlist's root element is <{local(root.tag)}>, "
                                "expected <playlist>")
    title = next((c.text for c in root if local(c.tag) == "title"), None)
    entries = []
    for node in root.iter():
        if local(node.tag) != "track":
            continue
        fields: dict[str, list[str]] = {}
        for child in node:
            fields.setdefault(local(child.tag), []).append((child.text or "").strip())
        ids = [track_id_of(v) for v in (*fields.get("identifier", []),
                                        *fields.get("location", []))]
        entries.append(entry_of(next((i for i in ids if i), None),
                                (fields.get("title") or [None])[0],
                                (fields.get("creator") or [None])[0]))
    return title, entries


def _mpd_playlist(playlist: Any, where: str) -> ImportedPlaylist:
    if not isinstance(playlist, dict) or not isinstance(playlist.get("tracks"), list):
        raise InvalidQueryError(f"mpd playlist {where} needs a list of \"tracks\"")
    entries = []
    for position, track in enumerate(playlist["tracks"], 1):
        if not isinstance(track, dict) or not isinstance(track.get("track_uri"), str):
            raise InvalidQueryError(f"mpd playlist {where} track {position} has no track_uri")
        entries.append(entry_of(track["track_uri"], track.get("track_name"),
                                track.get("artist_name")))
    name = playlist.get("name")
    return ImportedPlaylist("mpd", entries, name if isinstance(name, str) else None)


def read_mpd(data: str | bytes) -> list[ImportedPlaylist]:
    """Every playlist of a Million Playlist Dataset JSON file (a slice with "playlists", or
    one playlist object); only `track_uri` is required of a track.

    Raises:
        InvalidQueryError: not JSON, or not in the MPD layout.
    """
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    doc = _json(text, "mpd")
    if isinstance(doc, dict) and isinstance(doc.get("playlists"), list):
        return [_mpd_playlist(p, f"{p.get('pid', i) if isinstance(p, dict) else i}")
                for i, p in enumerate(doc["playlists"])]
    return [_mpd_playlist(doc, "0")]


def _read_mpd(text: str) -> tuple[str | None, list[PlaylistEntry]]:
    playlists = read_mpd(text)
    if len(playlists) != 1:
        raise InvalidQueryError(f"the mpd file holds {len(playlists)} playlists; give a file "
                                "with one")
    return playlists[0].title, playlists[0].entries
