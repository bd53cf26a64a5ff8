"""A library whose index is a Milvus collection: built from the CLI, opened and recommended
from like any other, on Milvus Lite in the library or on a server by URI with a token file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musicrec.build import BuildConfig, build_library, rebuild_families
from musicrec.cli import app
from musicrec.errors import LibraryError
from musicrec.filters import FAMILY, Where
from musicrec.index import ExactIndex
from musicrec.library import Library
from musicrec.request import RecommendRequest
from test_index import MILVUS, clustered, recall_at

pytestmark = MILVUS


@pytest.fixture(scope="module")
def milvus_library(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3,000-song library with its index in Milvus Lite, built by the CLI."""
    dest = tmp_path_factory.mktemp("milvus") / "lib"
    result = CliRunner().invoke(app, ["build", str(small_csv), "--library", str(dest),
                                      "--index", "milvus"])
    assert result.exit_code == 0, result.stdout + result.stderr
    return dest


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Milvus endpoint on a loopback port (Milvus Lite's gRPC server), as a remote one."""
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(str(tmp_path_factory.mktemp("server") / "m.db"))
    yield f"http://127.0.0.1:{port}"
    server.stop(grace=0)
    db.close()


@pytest.fixture(scope="module")
def hnsw_library(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The same songs with an HNSW index and, like a Milvus build, no hub correction (it reads
    the HNSW graph)."""
    dest = tmp_path_factory.mktemp("hnsw") / "lib"
    build_library(small_csv, dest, BuildConfig(hub_weight=0))
    return Library.open(dest)


def test_a_milvus_library_opens_and_recommends_like_an_hnsw_one(
        milvus_library: Path, hnsw_library: Library) -> None:
    from musicrec.index_milvus import LITE_DIR, MilvusIndex

    lib = Library.open(milvus_library)
    assert lib.hub_penalty is None
    assert isinstance(lib.index, MilvusIndex) and lib.manifest.index["kind"] == "milvus"
    assert (milvus_library / LITE_DIR).is_dir() and not (milvus_library / "index.faiss").exists()
    seed = lib.tracks([42])[0]["id"]
    request = RecommendRequest(seed_tracks=[seed], limit=10, max={"tempo": 120.0})
    got = lib.recommend(request)
    expected = hnsw_library.recommend(request)
    assert [t.track["id"] for t in got.tracks] == [t.track["id"] for t in expected.tracks]
    assert all(t.track["tempo"] <= 120.0 for t in got.tracks)
    queries = np.asarray(lib.vectors[:50])
    np.testing.assert_array_equal(lib.index.search(queries, 10)[0],
                                  ExactIndex(lib.vectors).search(queries, 10)[0])


def test_a_server_collection_is_named_by_uri_and_the_token_stays_in_its_file(
        small_csv: Path, tmp_path: Path, milvus_server: str) -> None:
    token = tmp_path / "token"
    token.write_text("root:s3cret-token\n")
    config = BuildConfig(index="milvus", milvus_uri=milvus_server,
                         milvus_token_file=str(token))
    build_library(small_csv, tmp_path / "lib", config)
    manifest = (tmp_path / "lib" / "manifest.json").read_text()
    assert "s3cret" not in manifest
    lib = Library.open(tmp_path / "lib")
    params = lib.manifest.index
    assert params["uri"] == milvus_server and params["token_file"] == str(token.resolve())
    assert params["collection"].startswith("musicrec_") and params["rows"] == len(lib)
    ids, _ = lib.index.search(np.asarray(lib.vectors[:5]), 3)
    assert (ids[:, 0] == np.arange(5)).all() or np.allclose(  # a duplicate may come first
        np.asarray(lib.vectors)[ids[:, 0]], np.asarray(lib.vectors[:5]), atol=1e-6)
    # A rebuild makes a new collection: servers reading the old one are not disturbed.
    build_library(small_csv, tmp_path / "lib2", config)
    assert Library.open(tmp_path / "lib2").manifest.index["collection"] != params["collection"]


def test_damage_is_a_one_line_library_error(milvus_library: Path, tmp_path: Path,
                                            milvus_server: str) -> None:
    from musicrec.index_milvus import MilvusIndex

    lib = Library.open(milvus_library)
    params = lib.manifest.index
    with pytest.raises(LibraryError, match="Milvus Lite data missing"):
        MilvusIndex.load(tmp_path, lib.vectors, params)
    x = clustered(np.random.default_rng(1), n=300)
    built = MilvusIndex.build(x, uri=milvus_server, collection="three_hundred")
    saved = built.save(tmp_path)
    with pytest.raises(LibraryError, match="has 300 vectors, the library has 299"):
        MilvusIndex.load(tmp_path, x[:299], saved)
    with pytest.raises(LibraryError, match="has no collection nope"):
        MilvusIndex.load(tmp_path, x, {**saved, "collection": "nope"})
    with pytest.raises(LibraryError, match="cannot read the Milvus token file"):
        MilvusIndex.load(tmp_path, x, {**saved, "token_file": str(tmp_path / "absent")})
    with pytest.raises(LibraryError, match="incomplete"):
        MilvusIndex.load(tmp_path, x, {"kind": "milvus"})


def test_milvus_options_need_index_milvus(small_csv: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", str(small_csv), "--library", str(tmp_path / "l"),
                                      "--milvus-uri", "http://localhost:19530"])
    assert result.exit_code == 2 and "need --index milvus" in result.output


def test_opening_an_hnsw_library_does_not_import_pymilvus(small_library_path: Path) -> None:
    code = ("import sys; from musicrec.library import Library; import musicrec.build; "
            f"Library.open({str(small_library_path)!r}); "
            "assert 'pymilvus' not in sys.modules, 'pymilvus imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


class Songs:
    """2,000 songs with filterable columns: unknown values, values exactly on the bounds."""

    def __init__(self, rng: np.random.Generator) -> None:
        n = 2000
        self.vectors = clustered(rng, n=n)
        unknown = rng.random(n) < 0.1
        self.columns = {
            "tempo": np.where(unknown, np.nan, rng.uniform(60, 200, n)).astype(np.float32),
            "energy": rng.choice(np.array([0.2, 0.5, 0.8, 0.81, np.nan], np.float32), n),
            "year": np.where(rng.random(n) < 0.2, np.nan,
                             rng.integers(1960, 2024, n)).astype(np.float32),
            "explicit": rng.choice(np.array([0, 1, np.nan], np.float32), n),
        }
        self.family_labels = rng.integers(0, 8, n).astype(np.int16)

    def __len__(self) -> int:
        return len(self.vectors)

    def numeric(self, name: str) -> np.ndarray:
        return self.columns[name]


def matching(index, expression: str) -> list[int]:
    """Every row whose scalar fields match the expression (a query, not a search)."""
    index.client.load_collection(index.collection)
    found = index.client.query(index.collection, filter=expression, output_fields=["row"],
                               limit=len(index))
    return sorted(r["row"] for r in found)


FILTER_SWEEP = [
    {"min": {"tempo": 100}},
    {"max": {"tempo": 130}},
    {"min": {"tempo": 100, "year": 1990}, "max": {"tempo": 130}},
    {"max": {"energy": 0.8}},
    {"min": {"energy": 0.8}, "max": {"energy": 0.8}},
    {"explicit": False},
    {"explicit": True, "families": [3, 5]},
    {"families": [0, 1, 2, 4, 6, 7]},
    {"min": {"year": 2000}, "max": {"energy": 0.5}, "explicit": False, "families": [1]},
    {"max": {"tempo": 10}},  # nobody passes
]


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Songs, object]:
    """The songs, and a Milvus Lite index holding their columns as scalar fields that always
    searches in the engine."""
    from musicrec.index_milvus import MilvusIndex

    songs = Songs(np.random.default_rng(11))
    index = MilvusIndex.build(songs.vectors, folder=tmp_path_factory.mktemp("filtered"),
                              scalars={**songs.columns, FAMILY: songs.family_labels})
    index.exact_below = 0
    return songs, index


def test_the_expression_selects_exactly_the_songs_of_the_mask(filtered) -> None:
    """Asked for every match (a query, not a search), Milvus returns the mask's songs exactly,
    NaN (null) values, float32 bounds, explicit and families included."""
    songs, index = filtered
    for filters in FILTER_SWEEP:
        where = Where.of(RecommendRequest(seed_tracks=["x"], **filters))
        assert matching(index, where.expression()) == np.flatnonzero(where.mask(songs)).tolist(), \
            filters


def test_filtered_search_in_the_engine_gives_min_k_allowed_nearest_first(
        filtered, monkeypatch: pytest.MonkeyPatch) -> None:
    songs, index = filtered
    sent = []
    engine = type(index)._engine_search
    monkeypatch.setattr(index, "_engine_search", lambda q, k, expression, ef: (
        sent.append(expression) or engine(index, q, k, expression, ef)))
    queries = songs.vectors[::250]
    k, by_engine = 20, 0
    for filters in FILTER_SWEEP:
        where = Where.of(RecommendRequest(seed_tracks=["x"], **filters))
        allowed = where.mask(songs)
        ids, _ = index.search(queries, k, allowed=allowed, where=where)
        truth, _ = ExactIndex(songs.vectors).search(queries, k, allowed=allowed)
        expected = min(k, int(allowed.sum()))
        by_engine += int(allowed.sum()) > k  # fewer are scanned exactly
        assert ((ids >= 0).sum(axis=1) == expected).all() and allowed[ids[ids >= 0]].all()
        assert not expected or recall_at(ids, truth) >= 0.95, filters
    assert len(sent) == by_engine >= 7 and "" not in sent
    # Without a `where` the fields can answer, a mask is scanned in process, exactly.
    allowed = songs.columns["tempo"] > 150
    for where in (None, Where(bounds=(("popularity", 50.0, np.inf),))):
        ids, _ = index.search(queries, k, allowed=allowed, where=where)
        np.testing.assert_array_equal(
            ids, ExactIndex(songs.vectors).search(queries, k, allowed=allowed)[0])
    assert len(sent) == by_engine


@pytest.mark.parametrize("filters", [
    {"min": {"tempo": 100.0, "year": 1990}, "max": {"tempo": 130.0}},
    {"min": {"energy": 0.5}},
    {"explicit": False, "families": [0, 1]},
])
def test_a_milvus_library_filters_in_the_engine_like_an_hnsw_library(
        milvus_library: Path, hnsw_library: Library, filters: dict[str, object]) -> None:
    lib = Library.open(milvus_library)
    lib.index.exact_below = 0  # 3,000 songs: the engine, not an exact scan
    assert {"tempo", "year", "energy", "explicit", FAMILY} <= set(lib.index.scalars)
    # Seeds from the families asked for: for a seed far from them (best similarity 0.15),
    # Milvus Lite's filtered graph search misses songs that faiss and an exact scan find.
    seeds = np.flatnonzero(np.isin(lib.families.labels, filters.get(
        "families", range(len(lib.families.families)))))
    for row in seeds[[42, -42]].tolist():
        request = RecommendRequest(seed_tracks=[lib.tracks([row])[0]["id"]], limit=10,
                                   **filters)
        got = [t.track for t in lib.recommend(request).tracks]
        expected = [t.track for t in hnsw_library.recommend(request).tracks]
        assert [t["id"] for t in got] == [t["id"] for t in expected] and len(got) == 10
    lib.index.close()


def test_rebuilt_families_are_written_to_the_collection(milvus_library: Path,
                                                        tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "lib"
    shutil.copytree(milvus_library.resolve(), copy)
    rebuild_families(copy, 3)
    lib = Library.open(copy)
    expected = np.flatnonzero(lib.families.labels == 2).tolist()
    assert expected and matching(lib.index, f"{FAMILY} == 2") == expected
    lib.index.close()
