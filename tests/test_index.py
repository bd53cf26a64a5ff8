"""One contract for every index backend: round trip, recall against exact search, bad input."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import faiss
import numpy as np
import pytest

from musicrec.errors import InvalidQueryError, LibraryError
from musicrec.features import normalize
from musicrec.filters import Where
from musicrec.index import PARTITION_UP_TO, Bitmap, ExactIndex, HNSWIndex, Partition, VectorIndex


def clustered(rng: np.random.Generator, n: int = 20_000, d: int = 16) -> np.ndarray:
    centres = rng.normal(size=(40, d))
    x = centres[rng.integers(0, 40, n)] + rng.normal(scale=0.5, size=(n, d))
    x[:5] = x[5]  # exact duplicates on purpose
    x[10] = 0.0  # an all-zero row on purpose
    return normalize(x)


def recall_at(ids: np.ndarray, truth: np.ndarray) -> float:
    """Share of the true neighbours found, padding (-1) left out."""
    return float(np.mean([len(set(a[a >= 0]) & set(b[b >= 0])) / max(1, (b >= 0).sum())
                          for a, b in zip(ids, truth, strict=True)]))


def ranks(n: int) -> np.ndarray:
    """float32 (n,): a fixed random order of the rows, a column to filter on: `rank < m`
    allows m rows spread over the whole set."""
    return np.random.default_rng(3).permutation(n).astype(np.float32)


def make(kind: str, vectors: np.ndarray, folder: Path | None = None) -> VectorIndex:
    """A backend; "hnsw" and "milvus" never scan a mask exactly, so the filtered search of the
    graph or the engine is tested ("+scan" keeps the default switch to an exact scan for
    small masks); "hnsw+partition" searches masks allowing up to PARTITION_UP_TO of the rows
    in its partition. Milvus runs as Milvus Lite in `folder` (a temporary folder if None),
    with the `ranks` as a scalar field `rank` to filter on."""
    if kind == "exact":
        return ExactIndex(vectors)
    if kind.startswith("milvus"):
        from musicrec.index_milvus import MilvusIndex

        index: VectorIndex = MilvusIndex.build(vectors, scalars={"rank": ranks(len(vectors))},
                                               folder=folder)
    else:
        index = HNSWIndex.build(vectors)
    if kind == "hnsw+partition":
        index.partition = Partition.build(vectors)
    if kind in ("hnsw", "milvus", "hnsw+partition"):
        index.exact_below = 0
    return index


def needs_extra(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip without the optional package, saying so, except in CI, where it must be there."""
    missing = importlib.util.find_spec(module) is None and os.environ.get("CI") != "true"
    return pytest.mark.skipif(missing, reason=f"{module} is not installed (pip install "
                              f"'musicrec[{extra}]'); CI installs it and runs these tests")


MILVUS = needs_extra("milvus_lite", "milvus")


@pytest.fixture(scope="module")
def built() -> dict[str, VectorIndex]:
    """Indexes over one 20,000-song set, built once per backend for the whole module."""
    return {}


@pytest.mark.parametrize("kind", ["exact", "hnsw", "hnsw+scan", "hnsw+partition",
                                  pytest.param("milvus", marks=MILVUS),
                                  pytest.param("milvus+scan", marks=MILVUS)])
class TestIndexContract:
    def test_recall_against_exact(self, kind: str, rng: np.random.Generator,
                                  tmp_path: Path) -> None:
        x = clustered(rng)
        queries = x[rng.choice(len(x), 300, replace=False)]
        truth, _ = ExactIndex(x).search(queries, 10)
        ids, sims = make(kind, x, tmp_path).search(queries, 10)
        assert ids.shape == (300, 10) and ids.dtype == np.int64 and sims.dtype == np.float32
        assert recall_at(ids, truth) >= 0.98
        assert np.all(np.diff(sims, axis=1) <= 1e-6), "results are best first"

    def test_save_load_round_trip(self, kind: str, rng: np.random.Generator,
                                  tmp_path: Path) -> None:
        x = clustered(rng, n=3000)
        index = make(kind, x, tmp_path / "built")
        params = index.save(tmp_path)
        loaded = type(index).load(tmp_path, x, params)
        q = x[:20]
        np.testing.assert_array_equal(index.search(q, 10)[0], loaded.search(q, 10)[0])

    @pytest.mark.parametrize("n_allowed", [1, 7, 49, 50, 1500, 6000, 18_000, 20_000])
    def test_filtered_search_returns_min_k_allowed_nearest_first(
            self, kind: str, n_allowed: int, rng: np.random.Generator,
            built: dict[str, VectorIndex], tmp_path: Path) -> None:
        if kind not in built:
            built[kind] = make(kind, clustered(np.random.default_rng(5)), tmp_path)
        index = built[kind]
        x = index.vectors
        # The mask and the same filter as column bounds: backends that filter by column
        # values (Milvus) use the bounds, the others the mask.
        allowed = ranks(len(x)) < n_allowed
        where = Where(bounds=(("rank", -np.inf, float(n_allowed - 1)),))
        queries = x[rng.choice(len(x), 40, replace=False)]
        k = 50
        ids, sims = index.search(queries, k, allowed=allowed, where=where)
        assert ids.shape == (40, k)
        expected = min(k, n_allowed)
        for row_ids, row_sims in zip(ids, sims, strict=True):
            found = row_ids[row_ids >= 0]
            assert len(found) == expected, "exactly min(k, allowed) results"
            assert (row_ids[:expected] >= 0).all() and (row_ids[expected:] == -1).all()
            assert len(set(found.tolist())) == expected and allowed[found].all()
            assert np.isneginf(row_sims[expected:]).all()
            assert np.all(np.diff(row_sims[:expected]) <= 1e-6), "nearest first"
        truth, _ = ExactIndex(x).search(queries, k, allowed=allowed)
        assert recall_at(ids, truth) >= 0.95

    @pytest.mark.parametrize("bad", [np.zeros((2, 15)), np.zeros((2, 2, 16)),
                                     np.full((1, 16), np.nan)])
    def test_bad_queries_are_clear_errors(self, kind: str, bad: np.ndarray,
                                          rng: np.random.Generator, tmp_path: Path) -> None:
        index = make(kind, clustered(rng, n=500), tmp_path)
        with pytest.raises(InvalidQueryError, match="dimensions|NaN"):
            index.search(bad, 5)

    def test_bad_k_and_mask(self, kind: str, rng: np.random.Generator, tmp_path: Path) -> None:
        index = make(kind, clustered(rng, n=500), tmp_path)
        with pytest.raises(InvalidQueryError, match="k must be"):
            index.search(np.ones(16), 0)
        with pytest.raises(InvalidQueryError, match="mask"):
            index.search(np.ones(16), 5, allowed=np.ones(10, dtype=bool))
        with pytest.raises(InvalidQueryError, match="pass the mask too"):
            index.search(np.ones(16), 5, where=Where(families=(1,)))

    def test_one_dimensional_query_is_accepted(self, kind: str, rng: np.random.Generator,
                                               tmp_path: Path) -> None:
        x = clustered(rng, n=500)
        ids, _ = make(kind, x, tmp_path).search(x[42], 1)
        assert ids.shape == (1, 1)
        assert np.allclose(x[ids[0, 0]], x[42])


def test_hnsw_load_detects_mismatched_vectors(rng: np.random.Generator, tmp_path: Path) -> None:
    x = clustered(rng, n=1000)
    params = HNSWIndex.build(x).save(tmp_path)
    with pytest.raises(LibraryError, match="has 1000 x 16 vectors, the library has 999"):
        HNSWIndex.load(tmp_path, x[:999], params)


def test_hnsw_returns_k_results_beyond_its_beam_width(rng: np.random.Generator) -> None:
    x = clustered(rng, n=5000)
    ids, _ = HNSWIndex.build(x, ef_search=16).search(x[:2], 500)
    assert (ids >= 0).all() and all(len(set(row)) == 500 for row in ids)


class _StalledGraph:
    """A faiss index whose searches find nothing, as a filtered graph search can."""

    def __init__(self, index: faiss.Index):
        self.hnsw = index.hnsw

    def search(self, q: np.ndarray, k: int, params: object = None) -> tuple[np.ndarray, ...]:
        return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)


def test_hnsw_answers_exactly_when_the_graph_search_comes_back_short(
        rng: np.random.Generator) -> None:
    x = clustered(rng, n=3000)
    index = HNSWIndex.build(x)
    index.index = _StalledGraph(index.index)
    index.exact_below = 0
    allowed = x[:, 0] < np.quantile(x[:, 0], 0.3)
    for mask in (None, allowed):
        ids, _ = index.search(x[:4], 10, allowed=mask)
        truth, _ = ExactIndex(x).search(x[:4], 10, allowed=mask)
        np.testing.assert_array_equal(ids, truth)


def test_partition_scans_more_lists_when_a_query_comes_back_short(
        rng: np.random.Generator) -> None:
    x = clustered(rng, n=6000)
    partition = Partition.build(x)
    assert partition.lists == round(np.sqrt(6000))
    allowed = ranks(len(x)) < 300
    assert partition.probes(300) == partition.lists  # 4 allowed songs a list: every list
    partition.PROBE_ALLOWED = 1  # the fewest lists: 16 of 77 hold about 62 allowed songs
    assert partition.probes(300) == Partition.MIN_PROBES
    ids, _ = partition.search(x[20:23], 100, Bitmap(allowed))
    # Short after 16 lists, each query is scanned again over 64: 100 songs, all allowed.
    assert (ids >= 0).all() and allowed[ids].all()
    truth, _ = ExactIndex(x).search(x[20:23], 100, allowed=allowed)
    assert recall_at(ids, truth) >= 0.7


def test_hnsw_searches_middle_range_filters_in_its_partition(rng: np.random.Generator) -> None:
    x = clustered(rng, n=6000)
    index = HNSWIndex.build(x)
    index.partition = Partition.build(x)
    index.exact_below = 0
    scanned = []
    search = index.partition.search
    index.partition.search = lambda *a: scanned.append(a[2].count) or search(*a)  # type: ignore
    order = ranks(len(x))
    for share in (0.1, PARTITION_UP_TO, 0.9):
        index.search(x[:2], 10, allowed=order < share * len(x))
    index.search(x[:2], 10)
    assert scanned == [600, 3600]  # the masks up to PARTITION_UP_TO of the songs, no others


def test_partition_is_built_only_where_a_filter_would_use_it() -> None:
    from musicrec.index import EXACT_BELOW

    assert not Partition.useful(int(EXACT_BELOW / PARTITION_UP_TO))
    assert Partition.useful(int(EXACT_BELOW / PARTITION_UP_TO) + 10)
