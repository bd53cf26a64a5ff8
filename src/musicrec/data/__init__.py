"""Data shipped in the package: the demo catalogue (28,352 real songs; licence in ``NOTICE``)."""

from __future__ import annotations

from pathlib import Path

DEMO_SONGS = 28_352


def demo_catalogue() -> Path:
    """The built-in demo catalogue: TidyTuesday's "Spotify Songs" (2020-01-21, MIT licence),
    one row per song with its genre and subgenre labels, as Zstandard-compressed Parquet."""
    return Path(__file__).with_name("demo_songs.parquet")
