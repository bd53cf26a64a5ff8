"""Catalogue records as Spotify Web API objects (plain dicts, ready for JSON).

The shapes are those of `musicrec.api.models`. `base` is the server's own base URL ending in
"/", so the `href` of a track or an artist can be followed on this server; `uri` and
`external_urls` are Spotify's, since catalogue ids are Spotify ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from musicrec.families import Family
from musicrec.recommend import Recommendation, SeedInfo

OPEN_SPOTIFY = "https://open.spotify.com"
AUDIO_FEATURES = ("danceability", "energy", "speechiness", "acousticness", "instrumentalness",
                  "liveness", "valence", "loudness", "tempo")


def _links(kind: str, item_id: str, base: str) -> dict[str, Any]:
    return {"id": item_id, "uri": f"spotify:{kind}:{item_id}",
            "href": f"{base}v1/{kind}s/{item_id}",
            "external_urls": {"spotify": f"{OPEN_SPOTIFY}/{kind}/{item_id}"}}


def release_date_precision(date: str | None) -> str | None:
    """Spotify's precision of a release date string: "2019" year, "2019-05" month, else day."""
    if not date:
        return None
    return {4: "year", 7: "month"}.get(len(date), "day")


def artist_objects(record: dict[str, Any], base: str) -> list[dict[str, Any]]:
    """The simplified artist objects of a song, in credit order."""
    return [{**_links("artist", artist_id, base), "name": name, "type": "artist"}
            for artist_id, name in zip(record["artist_ids"], record["artists"], strict=True)]


def artist_object(artist: dict[str, Any], genres: list[str], base: str) -> dict[str, Any]:
    """A full artist object from `Library.artist`; `genres` are its songs' sound families."""
    return {**_links("artist", artist["id"], base), "name": artist["name"], "type": "artist",
            "genres": genres, "images": [], "musicrec": {"tracks": artist["tracks"]}}


def album_object(record: dict[str, Any], artists: list[dict[str, Any]],
                 base: str) -> dict[str, Any]:
    """The simplified album of a song; fields the catalogue lacks are null."""
    album_id = record.get("album_id") or None
    links = (_links("album", album_id, base) if album_id else
             {"id": None, "uri": None, "href": None, "external_urls": None})
    date = record.get("release_date") or None
    return {**links, "name": record.get("album") or None, "album_type": "album", "type": "album",
            "release_date": date, "release_date_precision": release_date_precision(date),
            "artists": artists, "images": []}


def track_object(record: dict[str, Any], base: str) -> dict[str, Any]:
    """A full track object from a `Library.tracks` record."""
    artists = artist_objects(record, base)
    track = {**_links("track", record["id"], base), "name": record["name"], "type": "track",
             "is_local": False, "duration_ms": int(record["duration_ms"]),
             "explicit": bool(record.get("explicit", False)),
             "track_number": record.get("track_number"), "disc_number": record.get("disc_number"),
             "preview_url": None, "album": album_object(record, artists[:1], base),
             "artists": artists}
    if "popularity" in record:
        track["popularity"] = record["popularity"]
    return track


def recommended_track(rec: Recommendation, base: str) -> dict[str, Any]:
    """A track object plus our `musicrec` field: score, the seed it came from and why."""
    return {**track_object(rec.track, base), "musicrec": {
        "score": rec.score, "similarity": rec.similarity, "seed": rec.seed,
        "explanation": rec.explanation,
        "family": {"id": rec.track["family"], "name": rec.track["family_name"]}}}


def _float32(value: float) -> float:
    # The catalogue stores float32; its shortest decimal form is the number as the source wrote
    # it (0.692, not 0.6919999718666077).
    return float(str(np.float32(value)))


def audio_features_object(record: dict[str, Any], base: str) -> dict[str, Any]:
    """An audio features object from a `Library.tracks` record."""
    track_id = record["id"]
    features = {name: _float32(record[name]) for name in AUDIO_FEATURES}
    return {"id": track_id, "uri": f"spotify:track:{track_id}",
            "track_href": f"{base}v1/tracks/{track_id}",
            "analysis_url": f"{base}v1/audio-analysis/{track_id}", "type": "audio_features",
            **features, "key": int(record["key"]), "mode": int(record["mode"]),
            "duration_ms": int(record["duration_ms"]),
            "time_signature": record.get("time_signature")}


def seed_object(seed: SeedInfo, base: str) -> dict[str, Any]:
    """A recommendation seed object. Nothing is relinked here, so the last two sizes agree."""
    kind = {"TRACK": "track", "ARTIST": "artist"}.get(seed.type)
    return {"initialPoolSize": seed.initial_pool_size,
            "afterFilteringSize": seed.after_filtering_size,
            "afterRelinkingSize": seed.after_filtering_size, "id": seed.id, "type": seed.type,
            "href": f"{base}v1/{kind}s/{seed.id}" if kind else None}


def family_summary(family: Family) -> dict[str, Any]:
    p10, median, p90 = family.years
    return {"id": family.id, "name": family.name, "size": family.size,
            "years": {"p10": p10, "median": median, "p90": p90}}


def family_profile(family: Family, neighbours: list[Family],
                   central: list[dict[str, Any]], base: str) -> dict[str, Any]:
    """A family's profile; `central` are `Library.tracks` records of its central songs."""
    return {**family_summary(family), "feature_means": family.feature_means,
            "catalogue_means": family.catalogue_means,
            "top_artists": [{"name": name, "tracks": n} for name, n in family.top_artists],
            "neighbours": [{"id": f.id, "name": f.name} for f in neighbours],
            "central_tracks": [track_object(rec, base) for rec in central]}
