"""The measures every method's lists are scored by, and the exact search with the seed's
artists and album left out that the baselines share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from musicrec.learn import Groups

if TYPE_CHECKING:
    from musicrec.library import Library

# Seeds searched together by exact search (faiss.knn bounds its own memory per block).
_BLOCK_SEEDS = 1024


# (seed rows (s,), excluded rows per seed, k) -> recommended rows (s, k), -1 where none.
RecommendFn = Callable[[np.ndarray, list[np.ndarray], int], np.ndarray]


def exclusions(lib: Library, seeds: np.ndarray) -> list[np.ndarray]:
    """Rows no method may recommend for each seed: the seed, its artists' songs, its album."""
    records = lib.table.take(seeds).select(["artist_ids"]).to_pylist()
    album_rows = _album_groups(lib)
    out = []
    for seed, rec in zip(seeds, records, strict=True):
        parts = [np.array([seed], dtype=np.int64), album_rows(int(seed))]
        for artist_id in rec["artist_ids"] or []:
            artist_row = lib.artist_row_of(artist_id)
            if artist_row is not None:
                parts.append(lib.rows_of_artist(artist_row).astype(np.int64))
        out.append(np.unique(np.concatenate(parts)))
    return out


def table_exclusions(table: pa.Table, seeds: np.ndarray) -> list[np.ndarray]:
    """`exclusions` computed from a catalogue table, without a built library.

    Same rule: the seed, every song of any of its artists, every song of its album.
    """
    groups = Groups.from_table(table)
    by_artist = sp.csr_matrix((np.ones(len(groups.song_of_pair), bool),
                               (groups.artist_of_pair, groups.song_of_pair)),
                              shape=(groups.n_artists, groups.n_songs))
    song_artists = by_artist.T.tocsr()
    album = groups.album
    album_order = np.argsort(album, kind="stable")
    sorted_album = album[album_order]
    out = []
    for seed in np.asarray(seeds, dtype=np.int64):
        artists = song_artists.indices[song_artists.indptr[seed]:song_artists.indptr[seed + 1]]
        parts = [np.array([seed], np.int64), by_artist[artists].indices.astype(np.int64)]
        if album[seed] >= 0:
            lo, hi = np.searchsorted(sorted_album, [album[seed], album[seed] + 1])
            parts.append(album_order[lo:hi].astype(np.int64))
        out.append(np.unique(np.concatenate(parts)))
    return out


def _album_groups(lib: Library) -> Callable[[int], np.ndarray]:
    """row -> rows on the same album (empty when the album is unknown)."""
    if not lib.has_column("album_id"):
        return lambda row: np.empty(0, np.int64)
    codes = np.asarray(pc.dictionary_encode(lib.table.column("album_id")).combine_chunks()
                       .indices.to_numpy(zero_copy_only=False), dtype=np.float64)
    codes = np.nan_to_num(codes, nan=-1).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]

    def rows(row: int) -> np.ndarray:
        if codes[row] < 0:
            return np.empty(0, np.int64)
        lo, hi = np.searchsorted(sorted_codes, [codes[row], codes[row] + 1])
        return order[lo:hi].astype(np.int64)

    return rows


def exact_top_k_excluding(vectors: np.ndarray, seeds: np.ndarray, excluded: list[np.ndarray],
                          k: int, penalty: np.ndarray | None = None,
                          queries: np.ndarray | None = None) -> np.ndarray:
    """Exact top k by inner product for each seed, never returning its excluded rows.

    Args:
        vectors: (n, d) unit vectors (cosine = inner product).
        seeds: (s,) rows used as queries.
        excluded: per seed, rows that may not be returned.
        k: list length.
        penalty: optional (n,) amount subtracted from every song's similarity (a per-song
            re-ranking such as hub reduction).
        queries: optional (n, d) vectors to query with instead of `vectors` (row = seed).

    Returns:
        (s, k) int64 rows, best first, -1 where fewer than k songs are allowed.
    """
    base = np.asarray(vectors, dtype=np.float32)
    queries = np.asarray(queries if queries is not None else base, dtype=np.float32)[seeds]
    base, queries = with_penalty(base, queries, penalty)
    n = len(base)
    out = np.full((len(seeds), k), -1, dtype=np.int64)
    sizes = np.array([len(ex) for ex in excluded], dtype=np.int64)
    # Seeds with similar numbers of exclusions share a block, which asks for k + that many.
    by_size = np.argsort(sizes, kind="stable")
    for start in range(0, len(seeds), _BLOCK_SEEDS):
        block = by_size[start:start + _BLOCK_SEEDS]
        wanted = int(min(n, k + sizes[block].max()))
        _, ids = faiss.knn(queries[block], base, wanted, metric=faiss.METRIC_INNER_PRODUCT)
        for i, row_ids in zip(block, ids, strict=True):
            kept = row_ids[(row_ids >= 0) & ~np.isin(row_ids, excluded[i])][:k]
            out[i, :len(kept)] = kept
    return out


def with_penalty(base: np.ndarray, queries: np.ndarray, penalty: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous float32 songs and queries whose inner product is q.v - penalty(v): v gets
    -penalty(v) appended and q a 1 (unchanged without a penalty)."""
    if penalty is not None:
        base = np.hstack([base, -np.asarray(penalty, np.float32)[:, None]])
        queries = np.hstack([queries, np.ones((len(queries), 1), np.float32)])
    return (np.ascontiguousarray(base, dtype=np.float32),
            np.ascontiguousarray(queries, dtype=np.float32))


def intra_list_diversity(recs: np.ndarray, space: np.ndarray) -> float:
    """Mean pairwise cosine distance between the songs of a list, averaged over lists.

    Args:
        recs: (s, k) rows, -1 for none (ignored).
        space: (n, d) unit vectors.
    """
    values = []
    for row in recs:
        v = np.asarray(space[row[row >= 0]], dtype=np.float64)
        m = len(v)
        if m < 2:
            continue
        gram = v @ v.T
        values.append(1.0 - (gram.sum() - np.trace(gram)) / (m * (m - 1)))
    return float(np.mean(values)) if values else 0.0


def artist_diversity(recs: np.ndarray, artists: np.ndarray) -> float:
    """Distinct artists in a list over its length, averaged over non-empty lists."""
    values = [len(np.unique(artists[row[row >= 0]])) / (row >= 0).sum()
              for row in recs if (row >= 0).any()]
    return float(np.mean(values)) if values else 0.0


def cap_per_artist(recs: np.ndarray, artists: np.ndarray, k: int, cap: int = 2) -> np.ndarray:
    """Keep at most `cap` songs per artist in each list, best first, cut to k.

    Emulates the recommender's diversity rule on exact-search lists: pass lists longer than
    k (e.g. 6k) so that k remain. recs: (s, m) rows, -1 for none; artists: (n,) artist codes.
    """
    out = np.full((len(recs), k), -1, dtype=np.int64)
    for i, row in enumerate(recs):
        row = row[row >= 0]
        a = artists[row]
        # Rank of each song among earlier songs of the same artist in the list.
        order = np.argsort(a, kind="stable")
        sorted_a = a[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_a)) + 1]
        rank_sorted = np.arange(len(a)) - np.repeat(starts, np.diff(np.r_[starts, len(a)]))
        rank = np.empty(len(a), dtype=np.int64)
        rank[order] = rank_sorted
        kept = row[rank < cap][:k]
        out[i, :len(kept)] = kept
    return out
