"""The catalogue's columns: the header names each is known by, which are required, and the
limits every source is read within."""

from __future__ import annotations

from pathlib import Path

from musicrec import schema
from musicrec.errors import CatalogueError

# Canonical column -> accepted header names (compared case-insensitively); the features' own
# come from `musicrec.schema`.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "track_id", "spotify_id"),
    "name": ("name", "track_name", "title", "song_name"),
    "artists": ("artists", "track_artist", "artist_name", "artist", "artist_names"),
    "artist_ids": ("artist_ids", "artist_id"),
    "album": ("album", "track_album_name", "album_name"),
    "album_id": ("album_id", "track_album_id"),
    "release_date": ("release_date", "track_album_release_date", "album_release_date"),
    "genre": ("genre", "playlist_genre", "track_genre"),
    "subgenre": ("subgenre", "playlist_subgenre"),
    **{f.name: (f.name, *f.aliases) for f in schema.FEATURES},
}

AUDIO_FEATURES = schema.names(schema.REQUIRED)
REQUIRED = ("id", "name", "artists", *AUDIO_FEATURES)
# Required columns whose cells may be left empty: estimates that an analysis of one's own audio
# file cannot always make (valence, liveness, ...). An empty cell there is an unknown value,
# reported and counted, and the song is kept; it then weighs nothing in its vector (the
# catalogue mean) and fails every min/max filter on that feature.
MAY_BE_UNKNOWN = schema.names(schema.UNIT)
OPTIONAL_NUMERIC = schema.names(schema.OPTIONAL_NUMBERS)
OPTIONAL_TEXT = ("album", "album_id", "artist_ids", "release_date", "genre", "subgenre")

NOTE_NAMES = {
    "C": 0, "B#": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4, "F": 5,
    "E#": 5, "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10, "BB": 10, "B": 11,
    "CB": 11,
}
MODE_NAMES = {"MAJOR": 1, "MINOR": 0}
BOOL_NAMES = {"TRUE": True, "FALSE": False, "1": True, "0": False, "YES": True, "NO": False}

# Spotify ids are 22 base62 characters; longer ids are damage (a shifted column, a pasted
# lyric), and one would otherwise widen every fixed-width key array built from the ids.
MAX_ID_CHARS = 200
# The longest line of a real 1.2M Kaggle row is well under 2 kB; anything this long is damage,
# and leaving it out of the parse keeps pyarrow's block size (and memory) fixed.
MAX_LINE_BYTES = 100_000
MAX_HEADER_BYTES = 65_536
# An optional column with more unreadable cells than this share gets a warning: it is more
# likely a different format than scattered damage.
WARN_UNREADABLE_SHARE = 0.5


def resolve_columns(found: list[str], path: Path) -> dict[str, int]:
    """Map canonical names to the position of their source column, or fail naming what is
    missing or ambiguous."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(found):
        positions.setdefault(name.strip().lstrip("\ufeff").lower(), []).append(i)
    resolved: dict[str, int] = {}
    for canon, aliases in ALIASES.items():
        for alias in aliases:
            if alias in positions:
                where = positions[alias]
                if len(where) > 1:
                    raise CatalogueError(
                        f"{path.name}: column {found[where[0]]!r} appears {len(where)} times in "
                        f"the header (columns {', '.join(str(w + 1) for w in where)}); "
                        f"rename or remove the extra ones")
                resolved[canon] = where[0]
                break
    missing = [c for c in REQUIRED if c not in resolved]
    if missing:
        shown = ", ".join(n[:40] for n in found[:30]) + (" ..." if len(found) > 30 else "")
        raise CatalogueError(
            f"{path.name}: missing required column(s) {', '.join(missing)}; found: {shown}")
    return resolved
