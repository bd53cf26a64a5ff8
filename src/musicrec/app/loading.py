"""The library the app shows: chosen once per process, opened once, derived data kept.

Everything here is shared by all sessions of the process (`st.cache_resource`), so an
interaction never re-reads a file: the library's arrays are memory-mapped once, and what the
pages derive from them (the map's points, the year range, the suggestions) is computed on
first use and kept with the opened library.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from musicrec import schema
from musicrec.app.state import Seed, decode_sound
from musicrec.config import Settings
from musicrec.errors import MusicrecError
from musicrec.library import Library, LiveLibrary

# Features drawn on the "why this song" chart, and offered as axes of the sound map.
CHART_FEATURES = schema.names(schema.CHARTED)
MAP_AXES = tuple(f.name for f in schema.LISTED if f.axis or f.tick)
SUGGESTIONS = 6


_SESSION_LIBRARY = "library_path"


@dataclass
class _Choice:
    path: Path


@st.cache_resource
def _choice() -> _Choice:
    # One per process: the library every visitor sees unless they chose another.
    return _Choice(Settings().library_path())


def shared_path() -> Path:
    """The folder of the library every visitor sees unless they chose another."""
    return _choice().path


def active_path() -> Path:
    """The folder of the library this visitor sees."""
    return st.session_state.get(_SESSION_LIBRARY) or _choice().path


def switch_library(path: Path, everyone: bool = False) -> None:
    """Show another library from now on: to this visitor, or (an admin's choice, or the first
    library of an app that had none) to every visitor of this process."""
    if everyone:
        _choice().path = path
        st.session_state.pop(_SESSION_LIBRARY, None)
    else:
        st.session_state[_SESSION_LIBRARY] = path


@st.cache_resource(max_entries=4)
def _follow(path: str) -> _Followed:
    return _Followed(LiveLibrary(path))


class _Followed:
    """A library folder and what the pages derived from the library now in it."""

    def __init__(self, live: LiveLibrary):
        self.live = live
        self.loaded: LoadedLibrary | None = None

    def current(self) -> LoadedLibrary:
        lib = self.live.get()
        if self.loaded is None or self.loaded.lib is not lib:
            # A rebuild of the folder: start again from the new library, all of it at once.
            self.loaded = LoadedLibrary(lib)
        return self.loaded


def current() -> LoadedLibrary:
    """The opened library; a rebuild of its folder is picked up at the next rerun.

    Raises:
        LibraryError: there is no library at the active path, or it cannot be read.
    """
    return _follow(str(active_path())).current()


class LoadedLibrary:
    """An opened library plus what the pages derive from it, computed once."""

    def __init__(self, lib: Library):
        self.lib = lib

    @cached_property
    def info(self) -> dict[str, Any]:
        return self.lib.info()

    @cached_property
    def year_range(self) -> tuple[int, int] | None:
        """First and last release year, or None when the library has no years."""
        if not self.lib.has_column("year"):
            return None
        years = self.lib.numeric("year")
        known = years[~np.isnan(years)]
        return (int(known.min()), int(known.max())) if len(known) else None

    @cached_property
    def map_frame(self) -> pd.DataFrame:
        """The songs drawn on the sound map: one row per `families.sample_rows` entry.

        Columns: row, id, title, artist, family, family_name, subfamily (its number across
        all families), subfamily_name, map_x, map_y, and one per feature of `MAP_AXES` that
        the library has.
        """
        families = self.lib.families
        rows = np.asarray(families.sample_rows, dtype=np.int64)
        # Only the sampled rows are read: whole columns would cost 8 bytes a song each.
        table = self.lib.table.select(["id", "name", "artists", *self.axes]).take(rows)
        values = table.to_pydict()
        labels = np.asarray(families.labels[rows], dtype=np.int64)
        sublabels = np.asarray(families.sublabels[rows], dtype=np.int64)
        names = [f.name for f in families.families]
        subnames = [f.name for f in families.subfamilies]
        xy = np.asarray(families.map_xy[rows], dtype=np.float64)
        frame = pd.DataFrame({
            "row": rows, "id": values["id"], "title": values["name"],
            "artist": [", ".join(a) for a in values["artists"]],
            "family": labels, "family_name": [names[i] for i in labels],
            "subfamily": sublabels, "subfamily_name": [subnames[i] for i in sublabels],
            "map_x": xy[:, 0], "map_y": xy[:, 1]})
        for name in self.axes:
            frame[name] = np.asarray(table.column(name).to_pandas(), dtype=np.float64)
        return frame

    @cached_property
    def axes(self) -> tuple[str, ...]:
        """The features of `MAP_AXES` this library has."""
        return tuple(name for name in MAP_AXES if self.lib.has_column(name))

    @cached_property
    def suggestions(self) -> list[dict[str, Any]]:
        """Songs to start from: the most typical song of each of the largest families."""
        families = self.lib.families.families[:SUGGESTIONS]
        return self.lib.tracks([f.central_rows[0] for f in families if f.central_rows])

    def seed_label(self, seed: Seed) -> str | None:
        """"Title — Artist" for a song, the name for an artist, the features of a sound; None
        when the library has no such song or artist (or the sound cannot be read)."""
        if seed.kind == "sound":
            try:
                features = decode_sound(seed.id)
            except MusicrecError:
                return None
            return "Your sound: " + ", ".join(
                f"{name} {value:g}" for name, value in list(features.items())[:3])
        if seed.kind == "track":
            row = self.lib.row_of(seed.id)
            return None if row is None else self.lib.label(row)
        artist_row = self.lib.artist_row_of(seed.id)
        return None if artist_row is None else self.lib.artist_name(artist_row)

    def seed_rows(self, seed: Seed) -> np.ndarray:
        """The rows a seed stands for: one song, every song of an artist, none for a sound."""
        if seed.kind == "sound":
            return np.array([], dtype=np.int64)
        if seed.kind == "track":
            row = self.lib.row_of(seed.id)
            return np.array([] if row is None else [row], dtype=np.int64)
        artist_row = self.lib.artist_row_of(seed.id)
        return (np.array([], dtype=np.int64) if artist_row is None
                else self.lib.rows_of_artist(artist_row))

    def seed_profile(self, seed: Seed) -> dict[str, float]:
        """Mean raw value of each chart feature for a seed (a sound: its own values)."""
        if seed.kind == "sound":
            try:
                return decode_sound(seed.id)
            except MusicrecError:
                return {}
        return self.profile(self.seed_rows(seed))

    def profile(self, rows: np.ndarray) -> dict[str, float]:
        """Mean raw value of each chart feature over some rows."""
        out = {}
        for name in CHART_FEATURES:
            values = self.lib.numeric(name)[rows]
            out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        return out
