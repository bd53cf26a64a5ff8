"""The sonic endpoints of a Subsonic server, answered from a library, in Subsonic's JSON or
XML.

- `getSonicSimilarTracks` (OpenSubsonic `sonicSimilarity` extension, version 1): id, count
  (default 10); a top-level `sonicMatch` list of `{"entry": Child, "similarity": 0..1}`, most
  similar first. The songs are the recommender's (one seed song, at most 2 per artist, the
  hub correction on); similarity is their cosine similarity to the seed, clipped to 0..1.
- `findSonicPath`: startSongId, endSongId, count (default 25, at most 100); the journey
  (`musicrec.flows.journey`) from the start song to the end song, both included, as
  `sonicMatch` entries whose similarity is to the song before (the start: 1); shorter in a
  library too small for that many steps (see `path`).
- `getSimilarSongs` / `getSimilarSongs2`: id, count (default 50, at most 100);
  `similarSongs` / `similarSongs2` with a `song` list.

An answer is an envelope (`ok`) with the payload, rendered by `render` as the client asked
(`f=json`, `f=jsonp` or XML, the default). Entries are built from the library's own columns
(`child_of`); the proxy replaces them by the upstream's full `Child` objects when it can.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

import numpy as np
import orjson

from musicrec import __version__
from musicrec.errors import InvalidQueryError
from musicrec.flows import MAX_JOURNEY, JourneyRequest, journey, parse
from musicrec.request import RecommendRequest

if TYPE_CHECKING:
    from musicrec.library import Library

API_VERSION = "1.16.1"
XMLNS = "http://subsonic.org/restapi"
EXTENSION = {"name": "sonicSimilarity", "versions": [1]}
SONIC_METHODS = ("getSonicSimilarTracks", "findSonicPath", "getSimilarSongs",
                 "getSimilarSongs2")
MAX_COUNT = 100
DEFAULTS = {"getSonicSimilarTracks": 10, "findSonicPath": 25, "getSimilarSongs": 50,
            "getSimilarSongs2": 50}
_CALLBACK = re.compile(r"[A-Za-z_$][\w$.]{0,99}")
# Subsonic's error codes.
MISSING_PARAMETER = 10
NOT_FOUND = 70


def envelope(status: str = "ok", **payload: Any) -> dict[str, Any]:
    """A `subsonic-response` of this server (OpenSubsonic's fields included)."""
    return {"status": status, "version": API_VERSION, "type": "musicrec",
            "serverVersion": __version__, "openSubsonic": True, **payload}


def error(code: int, message: str) -> dict[str, Any]:
    return envelope("failed", error={"code": code, "message": message})


def render(body: dict[str, Any], fmt: str | None, callback: str | None = None
           ) -> tuple[bytes, str]:
    """The response's bytes and media type in the format the client asked for."""
    if fmt == "json":
        return orjson.dumps({"subsonic-response": body}), "application/json"
    if fmt == "jsonp":
        data = orjson.dumps({"subsonic-response": body}).decode()
        # Only a plain name: the callback is echoed into script a page will run.
        name = callback if callback and _CALLBACK.fullmatch(callback) else "callback"
        return f"{name}({data});".encode(), "application/javascript"
    root = ElementTree.Element("subsonic-response", xmlns=XMLNS)
    _fill(root, body)
    return (b'<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(root),
            "text/xml; charset=utf-8")


def _fill(element: ElementTree.Element, value: dict[str, Any]) -> None:
    """Subsonic's XML mapping: scalars are attributes, objects child elements, and lists
    repeated child elements (a list of scalars: elements holding the value as text)."""
    for key, item in value.items():
        if isinstance(item, dict):
            _fill(ElementTree.SubElement(element, key), item)
        elif isinstance(item, list):
            for each in item:
                child = ElementTree.SubElement(element, key)
                if isinstance(each, dict):
                    _fill(child, each)
                else:
                    child.text = _text(each)
        elif item is not None:
            element.set(key, _text(item))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def child_of(track: dict[str, Any]) -> dict[str, Any]:
    """A Subsonic `Child` from a library record: what the library knows of the song."""
    artists = track.get("artists") or []
    child = {"id": track["id"], "isDir": False, "title": track.get("name") or "",
             "album": track.get("album") or None,
             "artist": ", ".join(artists) if isinstance(artists, list) else str(artists),
             "year": track.get("year"), "genre": track.get("genre") or None,
             "type": "music", "isVideo": False}
    duration = track.get("duration_ms")
    if duration:
        child["duration"] = int(round(duration / 1000))
    return {k: v for k, v in child.items() if v is not None}


def count_of(method: str, raw: str | None) -> int:
    """The count a request asks for (the method's default when absent or unreadable),
    within 1..MAX_COUNT."""
    try:
        count = int(raw) if raw else DEFAULTS[method]
    except ValueError:
        count = DEFAULTS[method]
    return max(1, min(MAX_COUNT, count))


def similar(lib: Library, song_id: str, count: int) -> list[tuple[dict[str, Any], float]]:
    """The songs most like one song (records and similarity 0..1), most similar first."""
    found = lib.recommend(RecommendRequest(seed_tracks=[song_id], limit=count)).tracks
    ranked = sorted(found, key=lambda r: -r.similarity)
    return [(r.track, _unit(r.similarity)) for r in ranked]


def path(lib: Library, start: str, end: str, count: int) -> list[tuple[dict[str, Any], float]]:
    """The journey from `start` to `end` (both included) of at most `count` songs (3..100),
    each with its similarity to the song before.

    A journey keeps each song between the ends for the one step it is nearest, so in a small
    library (tens of songs) a long one can find a step with no song: then the longest
    shorter journey is answered (count is a maximum), down to the two ends alone.
    """
    rows = [int(r) for r in lib.rows_of([start, end])]  # type: ignore[arg-type]
    if start == end:  # from a song to itself: the song
        return [(lib.tracks(rows[:1])[0], 1.0)]
    for length in range(max(3, min(MAX_JOURNEY, count)), 2, -1):
        try:
            rows = journey(lib, parse(JourneyRequest, **{"from": start, "to": end,
                                                         "length": length}))
            break
        except InvalidQueryError:
            continue
    vectors = np.asarray(lib.vectors[rows], dtype=np.float64)
    steps = [1.0, *(float(a @ b) for a, b in zip(vectors[:-1], vectors[1:], strict=True))]
    return list(zip(lib.tracks(rows), map(_unit, steps), strict=True))


def _unit(similarity: float) -> float:
    return round(min(1.0, max(0.0, float(similarity))), 4)


def sonic_payload(method: str, matches: Sequence[tuple[dict[str, Any], float]],
                  children: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The payload of a sonic method's answer; `children` are the upstream's full `Child`
    objects by id (a song missing there gets the library's own `child_of`)."""
    entries = [children.get(t["id"]) or child_of(t) for t, _ in matches]
    if method in ("getSonicSimilarTracks", "findSonicPath"):
        return {"sonicMatch": [{"entry": e, "similarity": s}
                               for e, (_, s) in zip(entries, matches, strict=True)]}
    key = "similarSongs2" if method == "getSimilarSongs2" else "similarSongs"
    return {key: {"song": entries}}


def empty_payload(method: str) -> dict[str, Any]:
    """A method's answer with no songs."""
    return sonic_payload(method, [], {})
