"""Catalogue records as Spotify Web API objects (plain dicts, serialised with orjson).

Every object validates against Spotify's own OpenAPI description (tested against
`../shared/spotify-openapi/fixed-spotify-open-api.yml`). A catalogue rarely has every field
Spotify's objects require, so one rule fills them:

* a value the catalogue has is used as it is;
* a value that can be derived from the catalogue is derived: an album's `total_tracks` is its
  number of songs in the catalogue, an album's id where the catalogue has none is
  `derived_id("album", ...)` (see `musicrec.albums`), its `popularity` the highest of its songs'
  (and so is an artist's);
* anything else gets a documented neutral value, and the object's `musicrec.unknown` lists the
  field, so a client can tell a stand-in from data: `track_number` and `disc_number` 1,
  `explicit` false, `time_signature` 4 (also when the catalogue's value is outside the spec's 3
  to 7, the value then in `musicrec.time_signature`), an album's `release_date` "0000"
  (precision "year", as Spotify itself answered for undated albums), its name the song's title
  and `album_type` "single" when the song has no album, `label` "" and `popularity` 0 (of a
  track, album or artist), an artist's `followers` `{"href": null, "total": 0}`;
* fields Spotify has since emptied are empty: `available_markets`, `images`, `copyrights`,
  `external_ids` (no catalogue keeps an ISRC) and `genres` of albums; `preview_url` null;
* `analysis_url` is this server's `/v1/audio-analysis/{id}`, which says why it has none.

The `musicrec` member of each object (the stand-ins named, and what a recommendation or an
artist adds) is there only when `Shapes` is made with `extensions=True`: always for the CLI and
the `/v1/musicrec/` endpoints, on request for Spotify's (`musicrec.api.deps.wants_extensions`),
so that a strict Spotify client gets exactly Spotify's objects.

`href`s point at endpoints of this server under its configured public URL (never a request's
`Host` header); `uri`s are `spotify:KIND:ID`; `external_urls.spotify` is given only for ids from
the catalogue, since a derived id names nothing at open.spotify.com. Float features are written
as the float32's shortest decimal (0.692, not 0.6919999718; see `shortest_floats`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import numpy as np
import orjson

from musicrec import schema
from musicrec.albums import Albums
from musicrec.catalogue import derived_id
from musicrec.families import Family
from musicrec.library import Library
from musicrec.recommend import Recommendation, SeedInfo

OPEN_SPOTIFY = "https://open.spotify.com"
# The audio-features object's fractional and whole-number feature fields.
AUDIO_FEATURES = tuple(f.name for f in schema.REQUIRED if not f.whole)
_WHOLE_FEATURES = tuple(f.name for f in schema.REQUIRED if f.whole)
# The catalogue columns a track object is made of (`Shapes.track`).
TRACK_COLUMNS = ("id", "name", "artists", "artist_ids", "album", "album_id", "release_date",
                 "duration_ms", "explicit", "track_number", "disc_number", "popularity")
TIME_SIGNATURES = (3, 7)  # the spec's range
NEUTRAL_TIME_SIGNATURE = 4
UNKNOWN_RELEASE_DATE = "0000"
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, option=_JSON_OPTIONS)


def _path_id(item_id: str) -> str:
    """An id as one URL path segment (catalogue ids may hold any character)."""
    if item_id.isascii() and item_id.isalnum() or _URL_SAFE.fullmatch(item_id):
        return item_id
    return quote(item_id, safe="")


def shortest_floats(values: np.ndarray) -> list[Any]:
    """float32 values as Python floats that print as the float32's shortest decimal (0.692,
    not 0.6919999718666077): each rounded to the fewest decimals (up to 9) that give the same
    float32 back; nested lists for an array of more dimensions. Vectorised: for 100 songs x 9
    features this costs about a third of what orjson takes to write numpy float32 scalars
    (measured 0.5 against 1.1 ms)."""
    exact = np.asarray(values, dtype=np.float32)
    wide = exact.astype(np.float64)
    out = wide.copy()
    todo = np.isfinite(wide)
    for decimals in range(10):
        if not todo.any():
            break
        rounded = np.round(wide, decimals)
        same = todo & (rounded.astype(np.float32) == exact)
        out[same] = rounded[same]
        todo &= ~same
    return out.tolist()


_AUDIO_FEATURE_FIELDS = ("id", "uri", "track_href", "analysis_url", "type", *AUDIO_FEATURES,
                         *_WHOLE_FEATURES, "time_signature")
# An artist's followers, which no catalogue has (one dict shared by every artist: never mutate).
NO_FOLLOWERS = {"href": None, "total": 0}


def _time_signatures(values: np.ndarray) -> tuple[list[int], list[dict[str, Any]]]:
    """Each song's time signature for the spec (3 to 7), and its `musicrec` extension: the
    neutral 4 where the catalogue has none or one outside that range, the extension then
    listing it as unknown and holding the catalogue's value, if any."""
    valid = (values >= TIME_SIGNATURES[0]) & (values <= TIME_SIGNATURES[1])  # NaN: False
    signatures = np.where(valid, values, NEUTRAL_TIME_SIGNATURE).astype(np.int64).tolist()
    extensions = [{"unknown": []} if ok else
                  {"unknown": ["time_signature"], "time_signature": int(value)} if value == value
                  else {"unknown": ["time_signature"]}
                  for ok, value in zip(valid.tolist(), values.tolist(), strict=True)]
    return signatures, extensions


@lru_cache(maxsize=1 << 16)
def _simple_artist(base: str, artist_id: str, name: str) -> dict[str, Any]:
    """A simplified artist object; cached, since an answer names the same artists often and
    the derived-id check hashes the name (never mutate the result)."""
    path_id = _path_id(artist_id)
    derived = derived_id("artist", name) == artist_id
    return {"id": artist_id, "uri": f"spotify:artist:{artist_id}",
            "href": f"{base}v1/artists/{path_id}",
            "external_urls": {} if derived else {"spotify": f"{OPEN_SPOTIFY}/artist/{path_id}"},
            "name": name, "type": "artist"}


def release_date_precision(date: str | None) -> str | None:
    """Spotify's precision of a release date string: "2019" year, "2019-05" month, else day."""
    if not date:
        return None
    return {4: "year", 7: "month"}.get(len(date), "day")


class Shapes:
    """Builds Spotify objects for one library, with hrefs under `base` (ends in "/"); with
    `extensions`, each object has its `musicrec` member (see the module's docstring)."""

    def __init__(self, lib: Library, base: str, extensions: bool = True):
        self.lib = lib
        self.base = base
        self.extensions = extensions
        self.albums = Albums.of(lib)
        self.has_popularity = lib.has_column("popularity")

    def _extended(self, fields: dict[str, Any], unknown: list[str],
                  **extra: Any) -> dict[str, Any]:
        """`fields`, with the `musicrec` member (`unknown` and `extra`) when extensions are on."""
        if self.extensions:
            fields["musicrec"] = {"unknown": unknown, **extra}
        return fields

    def _highest_popularity(self, rows: np.ndarray) -> int | None:
        """The highest known popularity of some songs (an album's, an artist's), or None."""
        if not self.has_popularity:
            return None
        values = self.lib.numeric("popularity")[rows]
        known = values[~np.isnan(values)]
        return int(known.max()) if len(known) else None

    def _links(self, kind: str, item_id: str, external: bool = True) -> dict[str, Any]:
        path_id = _path_id(item_id)
        return {"id": item_id, "uri": f"spotify:{kind}:{item_id}",
                "href": f"{self.base}v1/{kind}s/{path_id}",
                "external_urls": {"spotify": f"{OPEN_SPOTIFY}/{kind}/{path_id}"}
                if external else {}}

    # --- artists ----------------------------------------------------------------------------

    def simple_artist(self, artist_id: str, name: str) -> dict[str, Any]:
        return _simple_artist(self.base, artist_id, name)

    def song_artists(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The simplified artist objects of a song, in credit order."""
        base = self.base
        return [_simple_artist(base, a, n)
                for a, n in zip(record["artist_ids"], record["artists"], strict=True)]

    def artist(self, artist_row: int) -> dict[str, Any]:
        """A full artist object; `genres` are the sound families of its songs, `popularity`
        the highest of theirs."""
        lib = self.lib
        found = lib.artist(artist_row)
        unknown = ["followers"]
        popularity = self._highest_popularity(lib.rows_of_artist(artist_row))
        if popularity is None:
            popularity = 0
            unknown.append("popularity")
        fields = {**self.simple_artist(found["id"], found["name"]), "followers": NO_FOLLOWERS,
                  "genres": lib.artist_families(artist_row), "images": [],
                  "popularity": popularity}
        return self._extended(fields, unknown, tracks=found["tracks"])

    # --- albums -----------------------------------------------------------------------------

    def simple_album(self, record: dict[str, Any], code: int | None = None,
                     artists: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The simplified album of a song (`record`, any song of the album)."""
        return self._extended(*self._album_fields(record, code, artists))

    def _album_fields(self, record: dict[str, Any], code: int | None,
                      artists: list[dict[str, Any]] | None
                      ) -> tuple[dict[str, Any], list[str]]:
        albums = self.albums
        if code is None:
            code = int(albums.code[record["row"]])
        unknown = []
        name = record.get("album")
        album_type = "album"
        if not name or not name.strip():
            name = record["name"]
            unknown.append("name")
            if not albums.named[code]:
                album_type = "single"
        date = record.get("release_date") or None
        if date is None:
            date = UNKNOWN_RELEASE_DATE
            unknown.append("release_date")
        album_id = albums.id(code)
        if artists is None:
            artists = self.song_artists(record)[:1]
        fields = {**self._links("album", album_id, external=bool(record.get("album_id"))),
                  "name": name, "album_type": album_type, "type": "album",
                  "total_tracks": albums.size(code), "available_markets": [],
                  "release_date": date, "release_date_precision": release_date_precision(date),
                  "artists": artists, "images": []}
        return fields, unknown

    def album(self, code: int, tracks_page: dict[str, Any]) -> dict[str, Any]:
        """A full album object; `tracks_page` is the paging object of its first songs."""
        albums = self.albums
        first = self.lib.tracks([int(albums.first[code])])[0]
        fields, unknown = self._album_fields(first, code, None)
        popularity = self._highest_popularity(albums.rows(code))
        if popularity is None:
            popularity = 0
            unknown.append("popularity")
        unknown.append("label")
        fields.update({"tracks": tracks_page, "copyrights": [], "external_ids": {},
                       "genres": [], "label": "", "popularity": popularity})
        return self._extended(fields, unknown)

    # --- tracks -----------------------------------------------------------------------------

    def _track_fields(self, record: dict[str, Any],
                      artists: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
        unknown = []
        track_number = record.get("track_number")
        if track_number is None:
            track_number = 1
            unknown.append("track_number")
        disc_number = record.get("disc_number")
        if disc_number is None:
            disc_number = 1
            unknown.append("disc_number")
        explicit = record.get("explicit")
        if explicit is None:
            explicit = False
            unknown.append("explicit")
        fields = {**self._links("track", record["id"]), "name": record["name"],
                  "type": "track", "is_local": False, "duration_ms": int(record["duration_ms"]),
                  "explicit": explicit, "track_number": track_number, "disc_number": disc_number,
                  "preview_url": None, "artists": artists}
        return fields, unknown

    def track(self, record: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """A full track object from a `Library.tracks` record; `extra` joins `musicrec`."""
        artists = self.song_artists(record)
        fields, unknown = self._track_fields(record, artists)
        fields["album"] = self.simple_album(record, artists=artists[:1])
        popularity = record.get("popularity")
        if popularity is None:
            popularity = 0
            unknown.append("popularity")
        fields["popularity"] = popularity
        fields["external_ids"] = {}
        return self._extended(fields, unknown, **_families(record), **extra)

    def simple_track(self, record: dict[str, Any]) -> dict[str, Any]:
        """A simplified track object (no album, no popularity), as in an album's tracks."""
        return self._extended(*self._track_fields(record, self.song_artists(record)),
                              **_families(record))

    def recommended_track(self, rec: Recommendation) -> dict[str, Any]:
        """A track object plus our `musicrec` fields: score, the seed it came from and why."""
        if not self.extensions:
            return self.track(rec.track)
        return self.track(rec.track, score=rec.score, similarity=rec.similarity, seed=rec.seed,
                          explanation=rec.explanation)

    def audio_features(self, ids: Sequence[str], rows: Sequence[int]) -> list[dict[str, Any]]:
        """Audio features objects of the songs at `rows`, whose ids are `ids` (looked up
        already, so not read again).

        Each field is made for all songs at once, from the cached float32 columns, and each
        object is zipped from them: 100 ids took 1.76 ms through whole records.
        """
        lib, at, base = self.lib, np.asarray(rows, dtype=np.int64), self.base
        # All float features in one pass: shortest_floats costs about the same for 9 columns
        # as for 1.
        floats = shortest_floats(np.vstack([lib.numeric(n)[at] for n in AUDIO_FEATURES]))
        whole = [lib.numeric(n)[at].astype(np.int64).tolist()
                 for n in _WHOLE_FEATURES]
        signatures, extensions = _time_signatures(
            lib.numeric("time_signature")[at] if lib.has_column("time_signature")
            else np.full(len(at), np.nan, dtype=np.float32))
        paths = [_path_id(i) for i in ids]
        columns = [ids, [f"spotify:track:{i}" for i in ids],
                   [f"{base}v1/tracks/{p}" for p in paths],
                   [f"{base}v1/audio-analysis/{p}" for p in paths], ["audio_features"] * len(at),
                   *floats, *whole, signatures]
        fields = _AUDIO_FEATURE_FIELDS
        if self.extensions:
            columns.append(extensions)
            fields = (*fields, "musicrec")
        return [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]

    def seed(self, seed: SeedInfo) -> dict[str, Any]:
        """A recommendation seed. Nothing is relinked here, so the last two sizes agree; a
        genre seed's href is null, as Spotify's documentation says."""
        kind = {"TRACK": "track", "ARTIST": "artist"}.get(seed.type)
        return {"initialPoolSize": seed.initial_pool_size,
                "afterFilteringSize": seed.after_filtering_size,
                "afterRelinkingSize": seed.after_filtering_size, "id": seed.id, "type": seed.type,
                "href": f"{self.base}v1/{kind}s/{_path_id(seed.id)}" if kind else None}

    def family_profile(self, family: Family, neighbours: list[Family],
                       children: list[Family], central: list[dict[str, Any]]) -> dict[str, Any]:
        """A family's or sub-family's profile; `neighbours` and `children` are families,
        `central` `Library.tracks` records of its central songs."""
        return {**family_summary(family), "feature_means": family.feature_means,
                "catalogue_means": family.catalogue_means,
                "neighbours": [_family_ref(f) for f in neighbours],
                "subfamilies": [_family_ref(f) for f in children],
                "central_tracks": [self.track(rec) for rec in central]}


def _families(record: dict[str, Any]) -> dict[str, Any]:
    """A `Library.tracks` record's family and sub-family, as the `musicrec` member shows them."""
    return {"family": {"id": record["family"], "name": record["family_name"]},
            "subfamily": {"id": record["subfamily"], "name": record["subfamily_name"]}}


def family_summary(family: Family) -> dict[str, Any]:
    p10, median, p90 = family.years
    return {"id": family.id, "key": family.key, "parent": family.parent, "name": family.name,
            "size": family.size, "years": {"p10": p10, "median": median, "p90": p90},
            "top_artists": [{"name": name, "tracks": n} for name, n in family.top_artists],
            "words": family.words}


def _family_ref(family: Family) -> dict[str, Any]:
    return {"id": family.id, "key": family.key, "name": family.name}
