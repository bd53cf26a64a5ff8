"""Titled playlists: which training playlists a prompt looks like, and songs that serve them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from musicrec.errors import LibraryError
from musicrec.learn import Playlists
from musicrec.prompts import titles
from musicrec.prompts.titles import TitledPlaylists


def playlists(titles_and_songs: list[tuple[str, list[int]]], n_songs: int = 6) -> Playlists:
    rows = [p for p, (_, songs) in enumerate(titles_and_songs) for _ in songs]
    cols = [s for _, songs in titles_and_songs for s in songs]
    matrix = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)),
                           shape=(len(titles_and_songs), n_songs))
    return Playlists(matrix, np.arange(len(titles_and_songs)).astype(str), len(cols), 0, 1,
                     titles=np.array([t for t, _ in titles_and_songs], dtype=object))


def test_titles_alike_in_spelling_are_alike() -> None:
    titled = TitledPlaylists.learn(playlists([
        ("Chill Vibezzz", [0]), ("chillin", [1]), ("WORKOUT", [2]), ("", [3])]))
    assert titled is not None and len(titled) == 3  # the untitled one is left out
    alike = titled.alike("chill vibes")
    assert alike[0] > alike[1] > 0 and alike[2] == 0
    assert titled.alike("zzqx").sum() == 0
    weights = titled.weights(alike)
    assert weights.sum() == pytest.approx(1.0) and weights[2] > 0  # the prior reaches all
    assert titled.weights(None) == pytest.approx(np.full(3, 1 / 3))


def test_cover_serves_each_kind_of_playlist() -> None:
    """Song 0 is in the three "party rap" playlists, song 1 in two of them, song 2 in the two
    "party country" ones: ranked by weight alone the top two are 0 and 1, which serve no
    country party; one at a time, 0 then 2."""
    titled = TitledPlaylists.learn(playlists([
        ("party", [0, 1]), ("party", [0, 1]), ("party", [0]), ("party", [2]), ("party", [2])]))
    assert titled is not None
    weights = titled.weights(titled.alike("party"))
    rows = np.array([0, 1, 2])
    order, scores = titled.cover(rows, np.zeros(3), weights, weight=1.0, picks=3)
    assert rows[order].tolist() == [0, 2, 1]
    assert scores[0] >= scores[1] >= scores[2]
    # A song's own score still counts: enough of it puts song 1 second.
    order, _ = titled.cover(rows, np.array([0.0, 0.15, 0.0]), weights, weight=1.0, picks=3)
    assert rows[order].tolist()[:2] == [0, 1]
    # The most served songs, as candidates.
    assert set(titled.popular(weights, 2).tolist()) == {0, 1}


def test_saved_and_loaded_alike(tmp_path: Path) -> None:
    titled = TitledPlaylists.learn(playlists([("road trip", [0, 1]), ("sad songs", [2])]))
    assert titled is not None
    entry = titled.save(tmp_path)
    assert entry == {"file": titles.TITLES_FILE, "playlists": 2}
    loaded = TitledPlaylists.load(tmp_path, entry, 6)
    assert loaded.names.tolist() == ["road trip", "sad songs"]
    assert np.allclose(loaded.alike("roadtrip"), titled.alike("roadtrip"))
    assert (loaded.songs != titled.songs).nnz == 0
    with pytest.raises(LibraryError, match="does not match the library"):
        TitledPlaylists.load(tmp_path, entry, 7)
