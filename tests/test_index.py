"""One contract for every index backend: round trip, recall against exact search, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec.errors import InvalidQueryError, LibraryError
from musicrec.features import normalize
from musicrec.index import ExactIndex, HNSWIndex, VectorIndex


def clustered(rng: np.random.Generator, n: int = 20_000, d: int = 16) -> np.ndarray:
    centres = rng.normal(size=(40, d))
    x = centres[rng.integers(0, 40, n)] + rng.normal(scale=0.5, size=(n, d))
    x[:5] = x[5]  # exact duplicates on purpose
    x[10] = 0.0  # an all-zero row on purpose
    return normalize(x)


def recall_at(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(ids, truth, strict=True)]))


def make(kind: str, vectors: np.ndarray) -> VectorIndex:
    return HNSWIndex.build(vectors) if kind == "hnsw" else ExactIndex(vectors)


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
class TestIndexContract:
    def test_recall_against_exact(self, kind: str, rng: np.random.Generator) -> None:
        x = clustered(rng)
        queries = x[rng.choice(len(x), 300, replace=False)]
        truth, _ = ExactIndex(x).search(queries, 10)
        ids, sims = make(kind, x).search(queries, 10)
        assert ids.shape == (300, 10) and ids.dtype == np.int64 and sims.dtype == np.float32
        assert recall_at(ids, truth) >= 0.98
        assert np.all(np.diff(sims, axis=1) <= 1e-6), "results are best first"

    def test_save_load_round_trip(self, kind: str, rng: np.random.Generator,
                                  tmp_path: Path) -> None:
        x = clustered(rng, n=3000)
        index = make(kind, x)
        params = index.save(tmp_path)
        loaded = type(index).load(tmp_path, x, params)
        q = x[:20]
        np.testing.assert_array_equal(index.search(q, 10)[0], loaded.search(q, 10)[0])

    def test_mask_is_respected_even_when_very_selective(self, kind: str,
                                                         rng: np.random.Generator) -> None:
        x = clustered(rng, n=5000)
        allowed = np.zeros(len(x), dtype=bool)
        allowed[rng.choice(len(x), 7, replace=False)] = True
        ids, sims = make(kind, x).search(x[:3], 10, allowed=allowed)
        returned = ids[ids >= 0]
        assert allowed[returned].all()
        assert np.isneginf(sims[ids < 0]).all()

    @pytest.mark.parametrize("bad", [np.zeros((2, 15)), np.zeros((2, 2, 16)),
                                     np.full((1, 16), np.nan)])
    def test_bad_queries_are_clear_errors(self, kind: str, bad: np.ndarray,
                                          rng: np.random.Generator) -> None:
        index = make(kind, clustered(rng, n=500))
        with pytest.raises(InvalidQueryError, match="dimensions|NaN"):
            index.search(bad, 5)

    def test_bad_k_and_mask(self, kind: str, rng: np.random.Generator) -> None:
        index = make(kind, clustered(rng, n=500))
        with pytest.raises(InvalidQueryError, match="k must be"):
            index.search(np.ones(16), 0)
        with pytest.raises(InvalidQueryError, match="mask"):
            index.search(np.ones(16), 5, allowed=np.ones(10, dtype=bool))

    def test_one_dimensional_query_is_accepted(self, kind: str, rng: np.random.Generator) -> None:
        x = clustered(rng, n=500)
        ids, _ = make(kind, x).search(x[42], 1)
        assert ids.shape == (1, 1)
        assert np.allclose(x[ids[0, 0]], x[42])


def test_hnsw_load_detects_mismatched_vectors(rng: np.random.Generator, tmp_path: Path) -> None:
    x = clustered(rng, n=1000)
    params = HNSWIndex.build(x).save(tmp_path)
    with pytest.raises(LibraryError, match="index has 1000 x 16 vectors, library has 999"):
        HNSWIndex.load(tmp_path, x[:999], params)


def test_hnsw_returns_k_results_beyond_its_beam_width(rng: np.random.Generator) -> None:
    x = clustered(rng, n=5000)
    ids, _ = HNSWIndex.build(x, ef_search=16).search(x[:2], 500)
    assert (ids >= 0).all() and all(len(set(row)) == 500 for row in ids)
