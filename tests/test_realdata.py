"""The real 30k-songs file builds and gives sensible recommendations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musicrec.build import build_library
from musicrec.library import Library
from musicrec.request import RecommendRequest

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_library(real_30k: Path, tmp_path_factory: pytest.TempPathFactory) -> Library:
    path = tmp_path_factory.mktemp("real") / "lib"
    report = build_library(real_30k, path)
    assert report.rows_read == 32_833
    # 5 rows have no title or artist (written "NA"); 4 distinct ids among them.
    assert report.rejected == {"name: empty": 5}
    assert report.rows_kept == 28_356 - 4
    assert report.rows_read == report.rows_kept + report.duplicates + 5
    return Library.open(path)


def test_recommendations_share_genres_with_the_seed(real_library: Library,
                                                    real_30k: Path) -> None:
    raw = pd.read_csv(real_30k, usecols=["track_id", "playlist_genre"])
    genres = raw.groupby("track_id")["playlist_genre"].apply(set)
    rng = np.random.default_rng(1)
    ids = real_library.table.column("id").to_pylist()
    hits = []
    for row in rng.choice(len(ids), 150, replace=False):
        result = real_library.recommend(RecommendRequest.parse(seed_tracks=[ids[row]], limit=10))
        hits += [bool(genres[r.track["id"]] & genres[ids[row]]) for r in result.tracks]
    # Random tracks share a genre 19% of the time; scaled cosine about 42%.
    assert np.mean(hits) > 0.38


def test_labels_are_kept_and_usable_as_genre_seeds(real_library: Library) -> None:
    assert real_library.has_column("genre") and real_library.has_column("popularity")
    result = real_library.recommend(RecommendRequest.parse(seed_genres=["rock"], limit=10))
    assert len(result.tracks) == 10
    assert real_library.search("bohemian rapsody queen", 3).items[0]["artists"] == ["Queen"]
