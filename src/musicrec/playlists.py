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

`read_playlist` reads any of these back (and MPD JSON, the Million Playlist Dataset's layout)
into `ImportedPlaylist`: entries with a Spotify id where the file names one, and the title and
artist otherwise. `resolve` turns entries into library rows. A file that cannot be read gives
one `InvalidQueryError` that names the format and, where there is one, the line or entry.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from musicrec.errors import InvalidQueryError

if TYPE_CHECKING:
    from musicrec.library import Library

Format = Literal["csv", "uris", "jspf", "m3u", "xspf"]
ImportFormat = Literal["csv", "uris", "jspf", "m3u", "xspf", "mpd"]

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


@dataclass
class ResolvedPlaylist:
    """A playlist matched to a library: rows in playlist order (first of duplicates kept) and
    the entries that are not in it."""

    rows: list[int]
    unknown: list[PlaylistEntry] = field(default_factory=list)
    duplicates: int = 0


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


def _entry(track_id: str | None, title: Any = None, artist: Any = None) -> PlaylistEntry:
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
            entries.append(_entry(line, song if sep else label, artist if sep else None))
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
            entry = _entry(row.get(id_col) if id_col else None,
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
        entries.append(_entry(next((i for i in ids if i), None), track.get("title"),
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
        entries.append(_entry(next((i for i in ids if i), None),
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
        entries.append(_entry(track["track_uri"], track.get("track_name"),
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
        entries = [_entry(i) if track_id_of(i) else PlaylistEntry(i) for i in ids]
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
