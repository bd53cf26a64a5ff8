"""The hub penalty: computed on tiny songs whose hub is known, stored by a build, used to
re-rank, and absent (zero) in libraries built without it."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import ValidationError

from musicrec import hubs
from musicrec.build import BuildConfig, build_library
from musicrec.cli.library import based_on
from musicrec.errors import LibraryError
from musicrec.features import normalize
from musicrec.index import HNSWIndex
from musicrec.library import Library
from musicrec.recommend import Pool, Recommender
from musicrec.request import RecommendRequest


def spokes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Five groups of 4 songs around five directions, and one song (row 20) between them all;
    each group is one artist, the middle song a sixth."""
    axes = np.eye(5)
    songs = [axes[g] + 0.05 * rng.standard_normal(5) for g in range(5) for _ in range(4)]
    vectors = normalize(np.vstack([*songs, np.ones(5)]).astype(np.float32))
    artists = np.r_[np.repeat(np.arange(5), 4), 5]
    return vectors, artists


def test_the_song_between_every_group_is_the_hub(rng: np.random.Generator) -> None:
    vectors, artists = spokes(rng)
    h = hubs.exact_other_artist_similarity(vectors, artists, k=3)
    assert h.dtype == np.float32 and h.shape == (21,)
    assert h[20] == h.max() and h[20] > h[:20].max() + 0.2
    # An ordinary song's nearest songs of other artists: the hub, then other groups' songs.
    sims = vectors[0] @ vectors.T
    others = np.sort(sims[artists != artists[0]])[::-1][:3]
    assert h[0] == pytest.approx(others.mean(), abs=1e-6)


def test_songs_of_the_same_artist_do_not_count(rng: np.random.Generator) -> None:
    """Four near-identical songs of one artist are not hubs because of each other."""
    vectors, artists = spokes(rng)
    by_song = hubs.exact_other_artist_similarity(vectors, np.arange(21), k=3)
    by_artist = hubs.exact_other_artist_similarity(vectors, artists, k=3)
    assert (by_song[:20] > 0.9).all() and (by_artist[:20] < 0.6).all()


def test_graph_links_give_the_exact_answer_when_they_hold_every_song(
        rng: np.random.Generator) -> None:
    vectors, artists = spokes(rng)
    every = np.tile(np.arange(21), (21, 1))
    every[np.arange(21), np.arange(21)] = -1  # no song links to itself
    graph = hubs.graph_neighbour_similarity(vectors, artists, every, k=3)
    assert graph == pytest.approx(hubs.exact_other_artist_similarity(vectors, artists, k=3),
                                  abs=1e-6)


def test_graph_links_are_each_songs_level_0_neighbours(rng: np.random.Generator) -> None:
    vectors = normalize(rng.standard_normal((500, 8)).astype(np.float32))
    index = HNSWIndex.build(vectors, m=8).index
    links = hubs.graph_links(index)
    assert links.shape == (500, 16)
    valid = links >= 0
    assert valid.sum(axis=1).min() >= 1 and links.max() < 500
    assert not (links == np.arange(500)[:, None]).any()


def test_rerank_demotes_a_hub() -> None:
    """The hub is more similar to the seed, but less so than it is to every other song."""
    source = SimpleNamespace(index=None, primary_artist=np.array([0, 1, 2]),
                             version_key=np.arange(3),
                             hub_penalty=np.array([0.0, 0.2, 0.0], dtype=np.float32))
    pool = Pool(np.array([1, 2]), np.array([0.90, 0.85], dtype=np.float32))
    request = RecommendRequest(seed_tracks=["x"], limit=2)
    picks = Recommender(source).rerank([pool], request)  # type: ignore[arg-type]
    assert [p.row for p in picks] == [2, 1]
    assert picks[1].similarity == pytest.approx(0.90) and picks[1].score == pytest.approx(0.70)
    source.hub_penalty = None  # a library built without the correction
    unchanged = Recommender(source).rerank([pool], request)  # type: ignore[arg-type]
    assert [p.row for p in unchanged] == [1, 2]


@pytest.fixture(scope="module")
def hub_library(small_library_path: Path) -> Path:
    return small_library_path  # the correction is on by default


def test_a_default_build_stores_the_penalty(hub_library: Path) -> None:
    lib = Library.open(hub_library)
    entry = lib.manifest.learn.hub_penalty
    assert entry is not None and entry.weight == hubs.DEFAULT_WEIGHT == 0.4 and entry.k == hubs.K
    assert "hubs" in lib.manifest.stage_seconds
    penalty = lib.hub_penalty
    assert penalty is not None and penalty.dtype == np.float32 and penalty.shape == (len(lib),)
    links = hubs.graph_links(lib.index.index)  # type: ignore[attr-defined]
    expected = 0.4 * hubs.graph_neighbour_similarity(lib.vectors, lib.primary_artist, links)
    assert penalty == pytest.approx(expected, abs=1e-6)
    assert "hub correction, weight 0.4" in based_on(lib.manifest.learn)
    seed = lib.table.column("id")[0].as_py()
    result = lib.recommend(RecommendRequest(seed_tracks=[seed], limit=10))
    assert len(result.tracks) == 10
    for rec in result.tracks:
        assert rec.score == pytest.approx(rec.similarity - penalty[rec.track["row"]], abs=2e-4)


def test_a_build_with_weight_0_has_no_penalty(small_csv: Path, tmp_path: Path) -> None:
    build_library(small_csv, tmp_path / "lib", BuildConfig(hub_weight=0))
    lib = Library.open(tmp_path / "lib")
    assert lib.hub_penalty is None
    assert lib.manifest.learn.hub_penalty is None
    assert not (lib.path / "hub_penalty.npy").exists()
    assert "hub" not in based_on(lib.manifest.learn)
    assert "hubs" not in lib.manifest.stage_seconds


def test_a_library_from_before_the_correction_recommends_without_it() -> None:
    lib = Library.open(Path(__file__).parent / "data" / "library_v2")
    assert lib.hub_penalty is None
    seed = lib.table.column("id")[0].as_py()
    result = lib.recommend(RecommendRequest(seed_tracks=[seed], limit=5))
    assert all(r.score == r.similarity for r in result.tracks)


@pytest.mark.parametrize("how", ["delete", "short", "wrong type"])
def test_a_damaged_penalty_is_one_clear_error(hub_library: Path, tmp_path: Path,
                                              how: str) -> None:
    lib_path = tmp_path / "lib"
    shutil.copytree(hub_library, lib_path)
    target = lib_path / "hub_penalty.npy"
    if how == "delete":
        target.unlink()
    elif how == "short":
        np.save(target, np.zeros(10, np.float32))
    else:
        np.save(target, np.zeros((3000, 2), np.float64))
    with pytest.raises(LibraryError, match=r"hub_penalty\.npy.*rebuild"):
        Library.open(lib_path)


def test_the_correction_needs_the_hnsw_graph() -> None:
    with pytest.raises(ValidationError, match="needs --index hnsw"):
        BuildConfig(hub_weight=0.3, index="milvus")
    assert BuildConfig(index="milvus").hub == 0  # off by default there, not refused
    assert BuildConfig().hub == hubs.DEFAULT_WEIGHT and BuildConfig(hub_weight=0).hub == 0
    # with playlists it measured worse (README), so off unless asked for
    assert BuildConfig(playlists=["p.json"]).hub == 0
    assert BuildConfig(playlists=["p.json"], hub_weight=0.2).hub == 0.2


def test_the_cli_builds_with_a_hub_weight_and_info_says_so(small_csv: Path,
                                                           tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from musicrec.cli import app

    runner = CliRunner()
    lib = str(tmp_path / "lib")
    built = runner.invoke(app, ["build", str(small_csv), "--library", lib, "--hub-weight", "0.3"])
    assert built.exit_code == 0, built.output
    assert "time: hubs" in built.stdout
    info = runner.invoke(app, ["info", "--library", lib])
    # the table's value column, its wrapped lines joined
    values = " ".join(line.split("│")[2].strip() for line in info.stdout.splitlines()
                      if line.count("│") == 3)
    assert info.exit_code == 0 and "hub correction, weight 0.3" in values
    refused = runner.invoke(app, ["build", str(small_csv), "--library", lib, "--hub-weight",
                                  "0.3", "--index", "milvus"])
    said = " ".join(refused.output.replace("│", " ").split())  # unwrapped from Rich's box
    assert refused.exit_code != 0 and "needs --index hnsw" in said
