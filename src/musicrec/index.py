"""Nearest-neighbour search over unit vectors: one interface, an exact and an HNSW backend.

Similarity is the inner product of unit vectors (cosine). Both backends accept an optional
boolean mask of allowed rows, so hard filters are applied inside the search, not after it.

The contract every backend keeps by itself, and the shared contract test checks: a search
returns `min(k, allowed)` results per query, nearest first, where `allowed` is the number of
rows the mask lets through (all rows without a mask); only the tail beyond that is padding.

Why faiss's HNSW: on 1.2M x 16 clustered vectors with 2 cores we measured (faiss 1.15,
hnswlib 0.8) a build of 35 s for faiss (M=16, efConstruction=40) against 96 s for hnswlib
(M=16, efConstruction=100), at about the same recall and query time. Faiss also filters inside
the graph search (IDSelectorBitmap), which the other libraries do only with a Python callback
per candidate.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, cached_property
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np
from threadpoolctl import ThreadpoolController

from musicrec.errors import InvalidQueryError, LibraryError
from musicrec.filters import Where

# Masks allowing at most this many rows are scanned exactly; see HNSWIndex. A recommendation
# with 5 seeds over 1.2M songs x 32 dimensions (p50, 2 busy cores): 12k allowed songs, 6.5 ms
# scanned against 28 ms through the graph; 120k allowed, 19 ms scanned against 9.8 ms through
# the graph (recall@10 0.988 of the exact answer). The costs cross near 40k.
EXACT_BELOW = 40_000
# A filtered graph search that comes back short is tried again with beams this many times k
# wide, before the allowed songs are scanned exactly. A query far from every song (a seed moved
# inside filters, 1.2M songs, k 48) needed a beam of 3,000: 7 ms, where the scan of 816k
# allowed songs took 60 ms.
RETRY_EF_FACTORS = (16, 64)
# Filters letting through more than EXACT_BELOW songs but at most this share of them are
# searched in the partition (see Partition) when the library has one, not in the graph.
# Recommendations with 5 seeds and filters, 1.2M songs, p50 / p99 ms through the graph against
# the partition (benchmarks/partition_bands.py): 10% of the songs passing 22.8 / 73 against
# 11.8 / 16; 30%, 26.2 / 90 against 8.7 / 14; 50%, 9.4 / 93 against 9.2 / 13; 70%, 9.0 / 26
# against 8.9 / 13; 90%, 7.2 / 17 against 8.7 / 14 (recall@10 0.967-1.0 either way).
PARTITION_UP_TO = 0.6


def check_queries(queries: np.ndarray, dims: int) -> np.ndarray:
    """Validate queries once, at the boundary: float32, C-order, shape (q, dims), finite."""
    q = np.asarray(queries, dtype=np.float32)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != dims:
        raise InvalidQueryError(
            f"library has {dims} dimensions, query has shape {tuple(np.shape(queries))}")
    if not np.isfinite(q).all():
        raise InvalidQueryError("query vector contains NaN or infinite values")
    return np.ascontiguousarray(q)


def check_mask(allowed: np.ndarray | None, n: int) -> np.ndarray | None:
    if allowed is None:
        return None
    mask = np.asarray(allowed)
    if mask.dtype != np.bool_ or mask.shape != (n,):
        raise InvalidQueryError(f"allowed mask must be bool of shape ({n},), got "
                                f"{mask.dtype} {mask.shape}")
    return mask


class VectorIndex(ABC):
    """Top-k search by cosine similarity over a fixed matrix of unit vectors."""

    kind: ClassVar[str]

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar rows for each query.

        Args:
            queries: float array of shape (q, dims) or (dims,).
            k: how many neighbours, >= 1.
            allowed: optional bool array of shape (n,): only these rows may be returned.
            where: the same filter as `allowed`, as column bounds (`musicrec.filters`), for a
                backend that holds the columns and filters by itself; the others ignore it.

        Returns:
            (ids, sims): int64 and float32 arrays of shape (q, k), best first. Each query has
            exactly min(k, allowed rows) results; the tail beyond them is padded with id -1 and
            similarity -inf.
        """
        if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
            raise InvalidQueryError(f"k must be a positive integer, got {k!r}")
        q = check_queries(queries, self.dims)
        mask = check_mask(allowed, len(self))
        if where is not None and mask is None:
            raise InvalidQueryError("`where` describes an allowed mask: pass the mask too")
        return self._search(q, int(k), mask, where)

    @abstractmethod
    def _search(self, q: np.ndarray, k: int, mask: np.ndarray | None,
                where: Where | None) -> tuple[np.ndarray, np.ndarray]: ...

    def _fill_short(self, q: np.ndarray, k: int, mask: np.ndarray | None, n_allowed: int,
                    ids: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Answer exactly every query an approximate search left short of min(k, allowed)."""
        short = _short(ids, min(k, n_allowed))
        if len(short):
            rows = None if mask is None else np.flatnonzero(mask)
            ids[short], sims[short] = exact_top_k(self.vectors, q[short], k, rows)
        return ids, sims

    @abstractmethod
    def save(self, folder: Path) -> dict[str, Any]:
        """Write the index's files into folder; return its parameters for the manifest."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, vectors: np.ndarray, params: dict[str, Any]) -> VectorIndex:
        """Open an index saved by `save` over the same vectors."""


def _pad(ids: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    missing = k - ids.shape[1]
    if missing <= 0:
        return ids, sims
    q = ids.shape[0]
    return (np.hstack([ids, np.full((q, missing), -1, np.int64)]),
            np.hstack([sims, np.full((q, missing), -np.inf, np.float32)]))


def exact_top_k(vectors: np.ndarray, q: np.ndarray, k: int,
                rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top k of q (shape (q, d)) over vectors, or over the given row subset.

    Private to the backends: everything else searches through a `VectorIndex`.
    """
    # A subset of over a quarter of the rows is scanned whole and its similarities picked out:
    # copying 600k of 1.2M vectors first took 4 times as long as reading them all in place.
    whole = rows is None or 4 * len(rows) > len(vectors)
    with _blas().limit(limits=1, user_api="blas"):
        # One query's scan is too small to share: on 2 busy cores, (5 x 16) @ (16 x 20k)
        # took 16 ms with OpenBLAS's 2 threads and 0.4 ms with one.
        sims = q @ (vectors if whole else vectors[rows]).T
    if whole and rows is not None:
        sims = sims[:, rows]
    k_eff = min(k, sims.shape[1])
    if k_eff == 0:
        return _pad(np.empty((len(q), 0), np.int64), np.empty((len(q), 0), np.float32), k)
    part = np.argpartition(-sims, k_eff - 1, axis=1)[:, :k_eff]
    part_sims = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-part_sims, axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    ids = top if rows is None else rows[top]
    return _pad(ids.astype(np.int64), np.take_along_axis(part_sims, order, axis=1), k)


class ExactIndex(VectorIndex):
    """Brute force: the reference every approximate backend is measured against."""

    kind = "exact"

    def _search(self, q, k, mask, where):
        rows = None if mask is None else np.flatnonzero(mask)
        return exact_top_k(self.vectors, q, k, rows)

    def save(self, folder: Path) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def load(cls, folder: Path, vectors: np.ndarray, params: dict[str, Any]) -> ExactIndex:
        return cls(vectors)


class HNSWIndex(VectorIndex):
    """Faiss HNSW graph over the vectors (inner product on unit vectors = cosine).

    Filtered searches pick their method by how many rows the mask allows: up to
    `exact_below` rows are scanned exactly (gathering a few thousand vectors beats walking a
    graph in which almost every node is filtered out); up to PARTITION_UP_TO of the rows the
    partition is scanned under the mask, when the library has one (`Partition`); above that
    the graph is searched with the mask inside it. Any query that still comes back short of
    min(k, allowed) results (no allowed row near the query, e.g. a 205 BPM seed with
    max_tempo 130) is answered exactly.
    """

    kind = "hnsw"
    FILE = "index.faiss"

    def __init__(self, vectors: np.ndarray, index: faiss.IndexHNSWFlat, ef_search: int,
                 exact_below: int = EXACT_BELOW, partition: Partition | None = None):
        super().__init__(vectors)
        self.index = index
        self.ef_search = ef_search
        self.exact_below = exact_below
        self.partition = partition
        index.hnsw.efSearch = ef_search
        self._unfiltered: dict[int, faiss.SearchParametersHNSW] = {}

    @classmethod
    def build(cls, vectors: np.ndarray, m: int = 16, ef_construction: int = 40,
              ef_search: int = 64) -> HNSWIndex:
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(vectors, index, ef_search)

    def _search(self, q, k, mask, where):
        bitmap = None if mask is None else Bitmap(mask)
        n_allowed = len(self) if bitmap is None else bitmap.count
        if mask is not None and n_allowed <= max(k, self.exact_below):
            return exact_top_k(self.vectors, q, k, np.flatnonzero(mask))
        if bitmap is not None and self.partition is not None \
                and n_allowed <= PARTITION_UP_TO * len(self):
            ids, sims = self.partition.search(q, k, bitmap)
            return self._fill_short(q, k, mask, n_allowed, ids, sims)
        ids, sims = self._graph_search(q, k, bitmap)
        for factor in RETRY_EF_FACTORS:
            short = _short(ids, min(k, n_allowed))
            if not len(short):
                break
            ids[short], sims[short] = self._graph_search(q[short], k, bitmap, factor * k)
        return self._fill_short(q, k, mask, n_allowed, ids, sims)

    def _graph_search(self, q: np.ndarray, k: int, bitmap: Bitmap | None,
                      ef: int = 0) -> tuple[np.ndarray, np.ndarray]:
        # The search beam must be at least k wide, or faiss returns fewer than k results.
        beam = max(self.ef_search, k, ef)
        if bitmap is None:  # the parameters of an unfiltered search are made once per beam
            params = self._unfiltered.get(beam) or self._unfiltered.setdefault(
                beam, faiss.SearchParametersHNSW(efSearch=beam))
        else:
            params = faiss.SearchParametersHNSW(efSearch=beam, sel=bitmap.selector())
        with _one_thread():
            sims, ids = self.index.search(q, k, params=params)
        return ids, _clean(sims, ids)

    def save(self, folder: Path) -> dict[str, Any]:
        faiss.write_index(self.index, str(folder / self.FILE))
        params = {"kind": self.kind, "m": int(self.index.hnsw.nb_neighbors(1)),
                  "ef_construction": int(self.index.hnsw.efConstruction),
                  "ef_search": self.ef_search}
        if self.partition is not None:
            params["partition"] = self.partition.save(folder)
        return params

    @classmethod
    def load(cls, folder: Path, vectors: np.ndarray, params: dict[str, Any]) -> HNSWIndex:
        index = _load_faiss(folder / cls.FILE, vectors, faiss.IndexHNSWFlat, "an HNSW index")
        partition = Partition.load(folder, vectors) if "partition" in params else None
        return cls(vectors, index, int(params["ef_search"]), partition=partition)


class Partition:
    """An inverted-file partition of the songs, for filtered searches in the middle range.

    A filtered graph search walks the graph as an unfiltered one does and keeps the allowed
    songs it meets. When a filter lets a few percent of the songs through, many walks meet
    too few of them: 1.2M songs, 5 seeds moved inside a filter 10% of the songs pass, 79 of
    300 searches came back short at efSearch 192. Their wider retries and the exact scan of
    120k allowed rows (which reads most of the vectors) made the graph's answer take 23 ms
    for 5 seeds. The partition groups the songs by their nearest of about sqrt(n) centroids
    (faiss IndexIVFFlat: 1,024 lists at 1.2M songs, built in 4-5 s, a 164 MB file mapped like
    the graph's); a query scans the lists nearest to it, only their allowed songs, as many
    lists as hold about PROBE_ALLOWED allowed songs on average (at least MIN_PROBES). With
    5,000, recall@10 of the recommendations against exact filtered search was 0.985-1.0 at
    5-20% passing; with 3,000, 0.975-0.997 and 1-3 ms faster. A query still short is scanned
    again over 4 times as many lists.
    """

    FILE = "partition.faiss"
    MAX_LISTS = 1024
    TRAIN_PER_LIST = 40  # songs sampled per list to place the centroids (faiss asks >= 39)
    PROBE_ALLOWED = 5000
    MIN_PROBES = 16

    def __init__(self, index: faiss.IndexIVFFlat):
        self.index = index
        self.lists = int(index.nlist)

    @staticmethod
    def useful(n: int) -> bool:
        """Whether any filter would be searched in a partition of n songs: only filters
        allowing more than EXACT_BELOW songs and at most PARTITION_UP_TO of them are (a
        library of more than about 67k songs)."""
        return PARTITION_UP_TO * n > EXACT_BELOW

    @classmethod
    def build(cls, vectors: np.ndarray, seed: int = 0) -> Partition:
        n, d = vectors.shape
        lists = int(min(cls.MAX_LISTS, max(1, round(np.sqrt(n)))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, lists, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(seed).choice(n, min(n, cls.TRAIN_PER_LIST * lists),
                                                    replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    def probes(self, n_allowed: int) -> int:
        """Lists to scan for a filter allowing n_allowed songs."""
        per_list = max(n_allowed, 1) / self.lists
        return int(min(self.lists, max(self.MIN_PROBES, np.ceil(self.PROBE_ALLOWED / per_list))))

    def search(self, q: np.ndarray, k: int, allowed: Bitmap) -> tuple[np.ndarray, np.ndarray]:
        """(ids, sims) of the k nearest allowed rows found in the nearest lists, padded with
        -1 and -inf where fewer were found."""
        selector = allowed.selector()
        probes = self.probes(allowed.count)
        ids, sims = self._scan(q, k, selector, probes)
        short = _short(ids, min(k, allowed.count))
        if len(short) and probes < self.lists:
            ids[short], sims[short] = self._scan(q[short], k, selector,
                                                 min(self.lists, 4 * probes))
        return ids, sims

    def _scan(self, q: np.ndarray, k: int, selector: Any,
              probes: int) -> tuple[np.ndarray, np.ndarray]:
        params = faiss.SearchParametersIVF(nprobe=probes, sel=selector)
        with _one_thread():
            sims, ids = self.index.search(q, k, params=params)
        return ids, _clean(sims, ids)

    def save(self, folder: Path) -> dict[str, Any]:
        faiss.write_index(self.index, str(folder / self.FILE))
        return {"lists": self.lists}

    @classmethod
    def load(cls, folder: Path, vectors: np.ndarray) -> Partition:
        return cls(_load_faiss(folder / cls.FILE, vectors, faiss.IndexIVFFlat,
                               "an inverted-file partition"))


class Bitmap:
    """A mask, how many rows it allows, and the bitmap faiss filters with: packed at most once
    per search, since its retries (wider beams, more lists) filter by the same bits (1.2M
    songs: 0.12-0.26 ms a packing), and never for a mask scanned exactly."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask
        self.count = int(np.count_nonzero(mask))

    @cached_property
    def bits(self) -> np.ndarray:
        return np.packbits(self.mask, bitorder="little")

    def selector(self) -> Any:
        """A faiss selector over the bits (which this object keeps alive while it is used)."""
        return faiss.IDSelectorBitmap(len(self.bits), faiss.swig_ptr(self.bits))


def _load_faiss(path: Path, vectors: np.ndarray, kind: type, what: str) -> Any:
    """A faiss index file over the library's vectors, checked: LibraryError naming the file
    when it is missing, damaged, of another kind or of other vectors."""
    if not path.is_file():
        raise LibraryError(f"index file missing: {path}; rebuild the library")
    try:
        index = _read_index(path)
    except RuntimeError as exc:
        raise LibraryError(f"{path} is damaged ({str(exc).splitlines()[0][:120]}); "
                           "rebuild the library") from exc
    if index.ntotal != len(vectors) or index.d != vectors.shape[1]:
        raise LibraryError(f"{path} has {index.ntotal} x {index.d} vectors, the library "
                           f"has {len(vectors)} x {vectors.shape[1]}; rebuild the library")
    if not isinstance(index, kind):
        raise LibraryError(f"{path} is not {what}; rebuild the library")
    return index


# faiss (1.15 here) can map an index file into memory and point its arrays into the mapping
# (IO_FLAG_MMAP_IFC) instead of reading it onto the heap; for an HNSWFlat index that is the
# graph and the stored vectors, everything but a few small arrays. At 1.2M songs x 32
# dimensions (a 326 MB file): opening 0.41 -> 0.06 s, 330 -> 32 MB of anonymous memory, the
# same search time (a single query, k 48: p50 0.19 ms read, 0.17 ms mapped). Mapped pages are
# the page cache's: shared by every process that opens the library, forked or not (a server's
# workers reopening a rebuilt library no longer each read a private copy), and counted only
# once read. A faiss without the flag reads the file as before.
MMAP_FLAGS: int = getattr(faiss, "IO_FLAG_MMAP_IFC", 0)


def _read_index(path: Path) -> Any:
    """A faiss index file, mapped where faiss can (see MMAP_FLAGS), else read onto the heap.

    Raises:
        RuntimeError: faiss cannot read the file either way.
    """
    if MMAP_FLAGS:
        try:
            return faiss.read_index(str(path), MMAP_FLAGS)
        except RuntimeError:
            pass  # e.g. a platform where faiss cannot map files; damage raises again below
    return faiss.read_index(str(path))


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Search on the calling thread only.

    Faiss spreads a batch of queries over OpenMP threads. For the few queries of one request
    that costs more than it gives, and with a filter it collapses: 5 filtered queries over 200k
    songs took 28 ms with 2 threads and 0.76 ms with one (p50, 2 busy cores). Servers get
    their parallelism from concurrent requests instead. The setting is per thread in OpenMP,
    so it is restored for whatever else this thread runs (e.g. an index build).
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _short(ids: np.ndarray, wanted: int) -> np.ndarray:
    """The queries with fewer than `wanted` results (results come first, padding after)."""
    return np.flatnonzero(ids[:, wanted - 1] < 0) if wanted > 0 else np.empty(0, np.int64)


def _clean(sims: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """-inf as the similarity of padding (faiss leaves a large negative number)."""
    return np.where(ids >= 0, sims, np.float32(-np.inf)) if ids[:, -1].min() < 0 else sims


BACKENDS: dict[str, type[VectorIndex]] = {"exact": ExactIndex, "hnsw": HNSWIndex}
# Backends that need an optional extra, by module: imported only when a manifest names them,
# so that opening an HNSW library never imports pymilvus.
OPTIONAL_BACKENDS: dict[str, str] = {"milvus": "musicrec.index_milvus:MilvusIndex"}


def backend(kind: str) -> type[VectorIndex] | None:
    """The index class for a manifest's `kind`, importing an optional backend's module."""
    if kind not in BACKENDS and kind in OPTIONAL_BACKENDS:
        module, name = OPTIONAL_BACKENDS[kind].split(":")
        BACKENDS[kind] = getattr(importlib.import_module(module), name)
    return BACKENDS.get(kind)


def load_index(folder: Path, vectors: np.ndarray, params: dict[str, Any]) -> VectorIndex:
    """Open the index a manifest describes; its `kind` picks the backend class.

    Raises:
        LibraryError: an unknown kind, or the backend's files are missing or damaged.
    """
    kind = params.get("kind")
    cls = backend(str(kind))
    if cls is None:
        raise LibraryError(f"the manifest names index kind {kind!r}; this musicrec knows "
                           f"{', '.join({**BACKENDS, **OPTIONAL_BACKENDS})}; rebuild the library")
    return cls.load(folder, vectors, params)
