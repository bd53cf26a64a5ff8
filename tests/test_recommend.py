"""The recommender on generated songs whose right answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musicrec.build import build_library
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.library import Library
from musicrec.recommend import Recommendations
from musicrec.request import RecommendRequest
from musicrec.synth import synthesize


@pytest.fixture(scope="module")
def styled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Library, pd.DataFrame]:
    """A library of 4,000 songs with known hidden styles, and a re-release of the first song."""
    frame = synthesize(4000, seed=3).drop_duplicates("id").reset_index(drop=True)
    rerelease = frame.iloc[[0]].copy()
    rerelease["id"] = "RERELEASEOFSONGZERO000"
    rerelease["album"] = "Greatest Hits"
    frame = pd.concat([frame, rerelease], ignore_index=True)
    folder = tmp_path_factory.mktemp("styled")
    frame.drop(columns="style").to_csv(folder / "songs.csv", index=False)
    build_library(folder / "songs.csv", folder / "lib")
    return Library.open(folder / "lib"), frame.set_index("id")


def ask(lib: Library, **params: object) -> Recommendations:
    return lib.recommend(RecommendRequest.parse(**params))


def ids(result) -> list[str]:  # noqa: ANN001 - a Recommendations object
    return [r.track["id"] for r in result.tracks]


def test_neighbours_share_the_seed_style(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    rng = np.random.default_rng(0)
    shares = []
    for seed in rng.choice(frame.index[:-1], 40, replace=False):
        got = ids(ask(lib, seed_tracks=[seed], limit=10))
        shares.append(np.mean(frame.loc[got, "style"].to_numpy() == frame.loc[seed, "style"]))
    assert np.mean(shares) > 0.6


def test_never_the_seed_nor_another_version_of_it(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    seed = frame.index[0]
    got = ids(ask(lib, seed_tracks=[seed], limit=50, max_per_artist=None))
    assert seed not in got
    assert "RERELEASEOFSONGZERO000" not in got


def test_at_most_n_songs_per_artist(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    result = ask(lib, seed_tracks=[frame.index[5]], limit=30, max_per_artist=1)
    firsts = [r.track["artists"][0] for r in result.tracks]
    assert len(firsts) == len(set(firsts)) == 30


@pytest.mark.parametrize("filters", [
    {"min": {"energy": 0.8}, "max": {"tempo": 110}},
    {"min": {"year": 2015}, "explicit": False},
    {"min": {"danceability": 0.9, "valence": 0.9}},  # very selective: few songs qualify
    {"max": {"duration_ms": 150_000}, "min": {"acousticness": 0.5}},
])
def test_hard_filters_always_hold(styled: tuple[Library, pd.DataFrame],
                                  filters: dict[str, object]) -> None:
    lib, frame = styled
    result = ask(lib, seed_tracks=list(frame.index[:5]), limit=20, **filters)
    assert result.tracks, "some songs qualify for every filter set here"
    for r in result.tracks:
        t = r.track
        for name, lo in filters.get("min", {}).items():  # type: ignore[union-attr]
            assert t[name] is not None and t[name] >= lo - 1e-6
        for name, hi in filters.get("max", {}).items():  # type: ignore[union-attr]
            assert t[name] is not None and t[name] <= hi + 1e-6
        if "explicit" in filters:
            assert t["explicit"] is False


def test_selective_filter_returns_every_qualifying_song(
        styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    energy = lib.numeric("energy")
    threshold = float(np.sort(energy)[-6])  # exactly 6 songs (or ties) qualify
    qualifying = int((energy >= threshold).sum())
    result = ask(lib, seed_tracks=[frame.index[100]], limit=20, min={"energy": threshold},
                           max_per_artist=None)
    assert len(result.tracks) == qualifying - int(energy[lib.row_of(frame.index[100])] >= threshold)


def test_targets_pull_results_towards_the_value(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    seed = frame.index[frame["energy"].to_numpy().argmin()]
    plain = ask(lib, seed_tracks=[seed], limit=10)
    pushed = ask(lib, seed_tracks=[seed], limit=10, target={"energy": 0.95})
    mean = lambda res: np.mean([r.track["energy"] for r in res.tracks])  # noqa: E731
    assert mean(pushed) > mean(plain) + 0.1
    assert any("target" in r.explanation for r in pushed.tracks)


def test_every_seed_is_represented(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    quiet = frame.index[frame["energy"].to_numpy().argmin()]
    loud = frame.index[frame["energy"].to_numpy().argmax()]
    result = ask(lib, seed_tracks=[quiet, loud], limit=10)
    assert {r.seed for r in result.tracks} == {quiet, loud}
    energies = sorted(r.track["energy"] for r in result.tracks)
    assert energies[0] < 0.4 < 0.6 < energies[-1], "both ends, not the average"


def test_artist_and_family_seeds(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, _ = styled
    artist_id = lib.table.column("artist_ids")[0].as_py()[0]
    by_artist = ask(lib, seed_artists=[artist_id], limit=5)
    assert len(by_artist.tracks) == 5 and by_artist.seeds[0].type == "ARTIST"
    family = lib.families.families[0]
    by_family = ask(lib, seed_genres=[family.name], limit=10)
    labels = [r.track["family"] for r in by_family.tracks]
    assert labels.count(family.id) >= 5
    within = ask(lib, seed_artists=[artist_id], limit=10, families=[family.id])
    assert all(r.track["family"] == family.id for r in within.tracks)


def test_diversity_spreads_the_list(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled

    def spread(diversity: float) -> float:
        rows = [r.track["row"] for r in ask(lib,
            seed_tracks=[frame.index[7]], limit=10, diversity=diversity).tracks]
        v = np.asarray(lib.vectors[rows])
        return float(1 - (v @ v.T)[np.triu_indices(len(rows), 1)].mean())

    assert spread(0.7) > spread(0.0)


def test_results_carry_scores_and_explanations(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    result = ask(lib, seed_tracks=[frame.index[3]], limit=10)
    scores = [r.score for r in result.tracks]
    assert scores == sorted(scores, reverse=True)
    assert all(-1 <= r.similarity <= 1 for r in result.tracks)
    assert all(r.explanation for r in result.tracks)
    assert any("similar" in r.explanation for r in result.tracks)
    seed = result.seeds[0]
    assert seed.initial_pool_size >= seed.after_filtering_size >= 10


@pytest.mark.parametrize(("params", "message"), [
    ({}, "1 to 5 seeds"),
    ({"seed_tracks": ["a", "b", "c", "d", "e", "f"]}, "1 to 5 seeds"),
    ({"seed_tracks": ["x"], "target": {"loudnes": -5}}, "unknown attribute target_loudnes"),
    ({"seed_tracks": ["x"], "target": {"energy": 1.5}}, "outside 0..1"),
    ({"seed_tracks": ["x"], "min": {"tempo": 150}, "max": {"tempo": 100}}, "above max_tempo"),
    ({"seed_tracks": ["x"], "limit": 0}, "limit"),
    ({"seed_tracks": ["x"], "colour": "red"}, "colour"),
])
def test_bad_requests_name_the_problem(styled: tuple[Library, pd.DataFrame],
                                       params: dict[str, object], message: str) -> None:
    lib, _ = styled
    with pytest.raises(InvalidQueryError, match=message):
        ask(lib, **params)


def test_unknown_seed_is_named(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, _ = styled
    with pytest.raises(NotFoundError, match="'nope'"):
        ask(lib, seed_tracks=["nope"])
    with pytest.raises(NotFoundError, match="'ghost'"):
        ask(lib, seed_artists=["ghost"])


def test_filter_on_a_column_the_catalogue_lacks(tmp_path: Path,
                                                styled: tuple[Library, pd.DataFrame]) -> None:
    _, frame = styled
    small = frame.reset_index().drop(columns=["style", "year", "release_date", "explicit"])
    small.head(300).to_csv(tmp_path / "s.csv", index=False)
    build_library(tmp_path / "s.csv", tmp_path / "lib")
    lib = Library.open(tmp_path / "lib")
    with pytest.raises(InvalidQueryError, match="no 'year' data"):
        ask(lib, seed_tracks=[small["id"][0]], min={"year": 1990})
    assert "year" in lib.info()["missing_optional"]


def test_bounds_equal_to_a_stored_value_keep_that_song(
        styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    energy = float(frame["energy"].iloc[50])  # the decimal as written in the CSV
    same = set(frame.index[(frame["energy"] == energy).to_numpy()]) - {frame.index[0]}
    result = ask(lib, seed_tracks=[frame.index[0]], limit=100, max_per_artist=None,
                           min={"energy": energy}, max={"energy": energy})
    assert same and {r.track["id"] for r in result.tracks} >= same - set(frame.index[:1])


def test_artist_cap_does_not_shorten_the_list(styled: tuple[Library, pd.DataFrame]) -> None:
    lib, frame = styled
    for seed in frame.index[:40]:
        assert len(ask(lib, seed_tracks=[seed], limit=60, max_per_artist=1).tracks) == 60


def test_filter_far_from_the_seed_still_fills_the_list(
        styled: tuple[Library, pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> None:
    lib, frame = styled
    # Large catalogues search filters inside the HNSW graph; on 200k songs that search came
    # back empty for a 205 BPM seed with max_tempo=130 (no qualifying song near the query).
    # Force the graph path here; the index keeps min(k, allowed) by itself.
    monkeypatch.setattr(lib.index, "exact_below", 0)
    seed = frame.index[frame["tempo"].to_numpy().argmax()]
    slow = float(np.percentile(frame["tempo"], 30))
    result = ask(lib, seed_tracks=[seed], limit=10, max={"tempo": slow})
    assert len(result.tracks) == 10
    assert all(r.track["tempo"] <= slow + 1e-3 for r in result.tracks)
