"""Tests for musicrec.synth: schema, formats, ranges, determinism and the planted structure."""

from __future__ import annotations

import ast
import csv
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musicrec import schema
from musicrec.schema import KAGGLE_HEADER
from musicrec.synth import N_STYLES, plan, synthesize, tables, write_catalogue

ROWS = 5000
SEED = 11
KAGGLE_HEADER_LINE = (
    "id,name,album,album_id,artists,artist_ids,track_number,disc_number,explicit,danceability,"
    "energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
    "duration_ms,time_signature,year,release_date"
)
UNIT_FEATURES = schema.names(schema.UNIT)
NUMERIC_FEATURES = [*UNIT_FEATURES, "loudness", "tempo", "duration_ms"]
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
REAL_SONGS = Path(__file__).resolve().parents[2] / "shared/data/spotify_30k_songs/spotify_songs.csv"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthesize(ROWS, seed=SEED)


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "tracks_features.csv"
    write_catalogue(path, ROWS, seed=SEED)
    return path


@pytest.fixture(scope="module")
def csv_records(csv_path: Path) -> list[list[str]]:
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def unique_songs(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without its exact repeats."""
    return frame.drop_duplicates("id")


def test_columns_are_the_kaggle_header() -> None:
    assert ",".join(KAGGLE_HEADER) == KAGGLE_HEADER_LINE


def test_csv_header_and_shape_are_exact(csv_path: Path, csv_records: list[list[str]]) -> None:
    assert csv_path.read_text(encoding="utf-8").split("\n", 1)[0] == KAGGLE_HEADER_LINE
    assert len(csv_records) == ROWS + 1
    assert {len(record) for record in csv_records} == {len(KAGGLE_HEADER)}


@pytest.mark.parametrize("rows", [0, 1, 7, 150, 2345])
def test_synthesize_returns_exactly_the_rows_asked_for(rows: int) -> None:
    result = synthesize(rows, seed=3)
    assert list(result.columns) == [*KAGGLE_HEADER, "style"]
    assert len(result) == rows


def test_same_seed_same_catalogue_other_seed_other_catalogue(frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(synthesize(ROWS, seed=SEED), frame)
    other = synthesize(ROWS, seed=SEED + 1)
    assert not set(other["id"]) & set(frame["id"])
    assert not set(other["name"]).issubset(set(frame["name"]))
    assert not np.allclose(other["energy"], frame["energy"])


def test_written_bytes_are_deterministic(csv_path: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.csv"
    write_catalogue(again, ROWS, seed=SEED)
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        == hashlib.sha256(csv_path.read_bytes()).digest()
    )
    assert not list(tmp_path.glob("*.partial"))


def test_csv_round_trips_through_pandas(csv_path: Path, frame: pd.DataFrame) -> None:
    back = pd.read_csv(csv_path, dtype={"release_date": str})
    assert len(back) == ROWS
    pd.testing.assert_frame_equal(back, frame.drop(columns="style"))


def test_chunked_writing_matches_synthesize(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Small chunks exercise the multi-chunk path that 1.2M-row files take, in milliseconds.
    monkeypatch.setattr(plan, "_CHUNK_ROWS", 500)
    seen: list[int] = []
    path = tmp_path / "chunked.csv"
    write_catalogue(path, 3000, seed=5, progress=seen.append)
    assert len(seen) >= 4
    assert seen == sorted(seen) and seen[-1] == 3000
    back = pd.read_csv(path, dtype={"release_date": str})
    pd.testing.assert_frame_equal(back, synthesize(3000, seed=5).drop(columns="style"))


def test_values_stay_in_documented_ranges(frame: pd.DataFrame) -> None:
    for name in UNIT_FEATURES:
        assert frame[name].between(0, 1).all(), name
    assert frame["loudness"].between(-60, 3).all()
    assert frame["loudness"].between(-20, -3).mean() > 0.8
    assert frame["tempo"].between(0, 250).all()
    assert frame["tempo"].between(60, 200).mean() > 0.95
    assert (frame["duration_ms"] > 0).all()
    assert set(frame["key"]) <= set(range(12))
    assert set(frame["mode"]) == {0, 1}
    assert set(frame["time_signature"]) <= {0, 1, 3, 4, 5}
    assert (frame["time_signature"] == 4).mean() > 0.75
    assert ((frame["year"] == 0) | frame["year"].between(1900, 2020)).all()
    assert (frame["track_number"] >= 1).all() and (frame["disc_number"] >= 1).all()
    assert (frame["disc_number"] == 1).mean() > 0.8
    assert frame["id"].str.fullmatch(SPOTIFY_ID).all()
    assert frame["album_id"].str.fullmatch(SPOTIFY_ID).all()


def test_features_are_skewed_and_correlated_like_real_songs(frame: pd.DataFrame) -> None:
    for name in ("speechiness", "instrumentalness", "liveness"):
        assert frame[name].median() < 0.5 * frame[name].mean() + 0.1, name
    assert (frame["instrumentalness"] == 0).mean() > 0.2
    corr = frame[NUMERIC_FEATURES].corr("spearman")
    assert corr.loc["energy", "loudness"] > 0.5
    assert corr.loc["energy", "acousticness"] < -0.4
    assert corr.loc["danceability", "valence"] > 0.15


def test_list_columns_are_python_literals(frame: pd.DataFrame) -> None:
    artists = frame["artists"].map(ast.literal_eval)
    artist_ids = frame["artist_ids"].map(ast.literal_eval)
    assert all(isinstance(names, list) and 1 <= len(names) <= 3 for names in artists)
    assert (artists.map(len) == artist_ids.map(len)).all()
    assert all(SPOTIFY_ID.match(artist_id) for ids in artist_ids for artist_id in ids)
    assert (artists.map(len) == 1).mean() > 0.7
    assert (artists.map(len) > 1).any()
    # Names with an apostrophe must take Python's double-quoted form.
    apostrophes = [name for names in artists for name in names if "'" in name]
    assert apostrophes
    written = frame["artists"].str.cat(sep="|")
    assert all(f'"{name}"' in written for name in apostrophes)


def test_an_album_has_one_main_artist_date_and_numbered_tracks(frame: pd.DataFrame) -> None:
    songs = unique_songs(frame).assign(
        main_artist=lambda songs: songs["artist_ids"].map(lambda ids: ast.literal_eval(ids)[0])
    )
    per_album = songs.groupby("album_id")
    assert (per_album[["album", "main_artist", "year", "release_date"]].nunique() == 1).all().all()
    for _, disc in songs.groupby(["album_id", "disc_number"]):
        assert sorted(disc["track_number"]) == list(range(1, len(disc) + 1))
    assert per_album.size().median() >= 5
    assert songs.groupby("main_artist")["album_id"].nunique().max() >= 3


def test_explicit_is_written_as_python_booleans(csv_records: list[list[str]]) -> None:
    column = KAGGLE_HEADER.index("explicit")
    values = [record[column] for record in csv_records[1:]]
    assert set(values) == {"True", "False"}
    assert 0.02 < values.count("True") / len(values) < 0.2


def test_release_dates_mix_precisions_and_agree_with_year(frame: pd.DataFrame) -> None:
    dates = frame["release_date"]
    assert dates.str.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?").all()
    assert set(dates.str.len()) == {4, 7, 10}
    assert (dates.str.len() == 10).mean() > 0.8
    assert (dates.str[:4].astype(int) == frame["year"]).all()
    assert (dates[frame["year"] == 0] == "0000").all()
    assert pd.to_datetime(dates[dates.str.len() == 10], format="%Y-%m-%d").notna().all()


def test_unknown_years_exist_in_a_larger_catalogue() -> None:
    years = synthesize(40_000, seed=1)["year"]
    assert 0 < (years == 0).mean() < 0.005


def test_names_need_csv_quoting_sometimes(csv_path: Path, frame: pd.DataFrame) -> None:
    names = pd.concat([frame["name"], frame["album"]])
    assert names.str.contains(",").any()
    assert names.str.contains('"').any()
    assert names.str.contains("'").any()
    text = csv_path.read_text(encoding="utf-8")
    assert '""' in text  # a quote inside a quoted field is doubled


def test_exact_duplicates_repeat_whole_rows(frame: pd.DataFrame) -> None:
    repeats = frame["id"].duplicated().sum()
    assert repeats == round(ROWS * tables._EXACT_DUP_SHARE) > 0
    assert frame.duplicated().sum() == repeats


def test_near_duplicates_are_rereleases_with_close_features(frame: pd.DataFrame) -> None:
    songs = unique_songs(frame)
    pairs = songs.merge(songs, on=["name", "artists"], suffixes=("", "_re"))
    pairs = pairs[(pairs["album_id"] != pairs["album_id_re"]) & (pairs["year"] < pairs["year_re"])]
    originals = pairs[list(UNIT_FEATURES)].to_numpy()
    gaps = np.abs(originals - pairs[[f"{name}_re" for name in UNIT_FEATURES]].to_numpy())
    # Same-named songs of one artist also happen by chance; re-releases are the close ones.
    rereleases = (gaps.max(axis=1) < 0.1) & (pairs["key"] == pairs["key_re"]).to_numpy()
    assert rereleases.sum() >= 0.8 * round(ROWS * tables._NEAR_DUP_SHARE)
    assert (gaps[rereleases] > 0).any()


def test_styles_are_recoverable_from_features(frame: pd.DataFrame) -> None:
    songs = unique_songs(frame)
    songs = songs[songs["year"] > 0]
    columns = [*NUMERIC_FEATURES, "year"]
    x = songs[columns].to_numpy(float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    style = songs["style"].to_numpy()
    assert set(style) <= set(range(N_STYLES))
    assert len(set(style)) >= N_STYLES - 2
    # Fit centroids on half the artists and classify the others, so artist likeness is no help.
    main_artist = songs["artist_ids"].str.slice(2, 24)
    train = (main_artist.rank(method="dense") % 2 == 0).to_numpy()
    present = np.unique(style[train])
    centroids = np.stack([x[train & (style == s)].mean(axis=0) for s in present])
    distances = ((x[~train, None, :] - centroids[None]) ** 2).sum(axis=-1)
    accuracy = (present[distances.argmin(axis=1)] == style[~train]).mean()
    assert accuracy > 0.6  # chance is about 1 / N_STYLES


def test_negative_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rows"):
        synthesize(-1)
    with pytest.raises(ValueError, match="seed"):
        write_catalogue(tmp_path / "never.csv", 10, seed=-2)
    assert not list(tmp_path.iterdir())


@pytest.mark.realdata
def test_distributions_match_the_real_development_set() -> None:
    if not REAL_SONGS.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REAL_SONGS} is missing in CI")
        pytest.skip(f"{REAL_SONGS} is absent (a fresh clone has no ../shared)")
    real = pd.read_csv(REAL_SONGS).drop_duplicates("track_id")
    larger = synthesize(30_000, seed=SEED)
    for name in NUMERIC_FEATURES:
        # Share of songs below the real 5%, 10%, ..., 95% quantiles: a Kolmogorov-style gap,
        # robust to the flat stretches of instrumentalness.
        levels = np.quantile(real[name], np.linspace(0.05, 0.95, 19))
        real_below = (real[name].to_numpy()[:, None] <= levels).mean(axis=0)
        synthetic_below = (larger[name].to_numpy()[:, None] <= levels).mean(axis=0)
        assert np.abs(real_below - synthetic_below).max() < 0.08, name
    real_corr = real[NUMERIC_FEATURES].corr("spearman")
    synthetic_corr = larger[NUMERIC_FEATURES].corr("spearman")
    assert (real_corr - synthetic_corr).abs().max().max() < 0.2
