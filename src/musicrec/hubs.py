"""Hub penalty: how close each song sits to the songs of other artists.

Some songs are near many others (hubs) and turn up in many lists, while others are in none.
With the artist context a song's nearest songs are mostly its own artist's, so a song's
"hubness" is measured against the songs of other artists: h = its mean cosine similarity to
its K nearest songs whose first artist is another. The recommender re-ranks its candidates by
similarity minus weight x h (`musicrec.recommend.Recommender.hub_penalty`), so a song that is
close to everything needs to be closer to the seed than a song that is close to few.

Exact k-nearest search of every song is quadratic (1.2M songs: 1.4e12 products), so a
library build reads the neighbours from the HNSW graph it has just built
(`graph_neighbour_similarity`): each song's level-0 links, the up to 2M songs faiss keeps as
its neighbours, are the candidates. At 1.2M songs the build's "hubs" stage takes 2.6 s
(`benchmarks/run.py`; 7.5-8.6 s when NumPy gathered the linked vectors, `benchmarks/hub_cost.py`),
where a graph search of every song (beam 16) took 4.6 s per 100,000 songs.
`exact_other_artist_similarity` is the reference.

A build uses weight `DEFAULT_WEIGHT` unless told otherwise (`BuildConfig.hub_weight`): with
the artist context, songs of one artist sit together and the songs' coverage fell below
audio-only vectors'; the correction brings it back above them, for a little genre and
subgenre precision (figures in the README, `benchmarks/quality.py hub-tune` and `learn`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from musicrec.artefacts import FILES

# Neighbours of other artists a song's hubness is the mean similarity to.
K = 10
# The default weight: the smallest that brings song coverage clearly back above audio-only
# vectors' for little precision (docs/quality.md, "Why the defaults are what they are").
DEFAULT_WEIGHT = 0.4
# Songs per block of the exact computation (faiss.knn bounds its own memory per block).
_BLOCK = 2048
# Songs per block of the graph computation: 32 links x (8-byte row + 4-byte product) a song.
_GRAPH_BLOCK = 16_384


def _mean_of_first_others(sims: np.ndarray, ids: np.ndarray, artists: np.ndarray,
                          own: np.ndarray, k: int) -> np.ndarray:
    """(b,) mean of the k largest similarities per row among neighbours of another artist.

    sims, ids: (b, m) similarities and rows of each song's candidate neighbours (-1: none);
    own: (b,) each song's artist. Rows with fewer than k such neighbours average those they
    have; rows with none are NaN.
    """
    other = (ids >= 0) & (artists[np.maximum(ids, 0)] != own[:, None])
    sims = np.where(other, sims, -np.inf)
    if sims.shape[1] > k:
        sims = -np.partition(-sims, k - 1, axis=1)[:, :k]
    found = np.isfinite(sims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(found, sims, 0).sum(axis=1) / found.sum(axis=1)).astype(np.float32)


def _fill_unknown(h: np.ndarray, artists: np.ndarray) -> np.ndarray:
    """Songs with no neighbour of another artist (NaN) take their artist's mean over its
    other songs, else the mean of every song. Left at 0 they would be promoted past every
    other song: 0.4% of the 30k songs had none among their graph links."""
    unknown = np.isnan(h)
    if not unknown.any():
        return h
    known = ~unknown
    if not known.any():
        return np.zeros_like(h)
    _, codes = np.unique(artists, return_inverse=True)
    sums = np.bincount(codes[known], h[known], minlength=codes.max() + 1)
    counts = np.bincount(codes[known], minlength=codes.max() + 1)
    by_artist = np.where(counts > 0, sums / np.maximum(counts, 1), h[known].mean())
    return np.where(unknown, by_artist[codes], h).astype(np.float32)


def exact_other_artist_similarity(vectors: np.ndarray, artists: np.ndarray,
                                  k: int = K) -> np.ndarray:
    """float32 (n,): each song's mean cosine similarity to its k nearest songs by other
    artists, by exact search (quadratic: for evaluation and small catalogues).

    Args:
        vectors: (n, d) unit vectors.
        artists: (n,) int artist code of each song (its first artist); `np.arange(n)` makes
            every other song count (plain k-nearest mean similarity, CSLS's local scale).
    """
    base = np.ascontiguousarray(vectors, dtype=np.float32)
    artists = np.asarray(artists)
    n = len(base)
    out = np.zeros(n, dtype=np.float32)
    if n == 0:
        return out
    # A song's k nearest of other artists are among its k + (its artist's songs) nearest;
    # songs of artists of similar sizes share a block, which asks for that many.
    _, codes = np.unique(artists, return_inverse=True)
    sizes = np.bincount(codes)[codes]
    by_size = np.argsort(sizes, kind="stable")
    for start in range(0, n, _BLOCK):
        block = by_size[start:start + _BLOCK]
        depth = int(min(n, k + sizes[block].max()))
        sims, ids = faiss.knn(base[block], base, depth, metric=faiss.METRIC_INNER_PRODUCT)
        out[block] = _mean_of_first_others(sims, ids, artists, artists[block], k)
    return _fill_unknown(out, artists)


def graph_links(index: faiss.IndexHNSWFlat) -> np.ndarray:
    """int32 (n, 2M): each node's level-0 neighbours in a faiss HNSW graph, -1 padded.

    Read in place from faiss's own arrays, a block of nodes at a time: copying the neighbour
    table and indexing it all at once peaked at 630 MB at 1.2M songs, against 154 MB for the
    answer alone.
    """
    hnsw = index.hnsw
    width = hnsw.nb_neighbors(0)
    n = index.ntotal
    offsets = faiss.rev_swig_ptr(hnsw.offsets.data(), n + 1)
    neighbours = faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size())
    out = np.empty((n, width), dtype=np.int32)
    slots = np.arange(width, dtype=np.int64)
    for start in range(0, n, _GRAPH_BLOCK):
        stop = min(n, start + _GRAPH_BLOCK)
        # Level 0 comes first in each node's slots (faiss's cum_nb_neighbors(0) is 0).
        first = offsets[start:stop].astype(np.int64)
        out[start:stop] = neighbours[first[:, None] + slots]
    return out


def graph_neighbour_similarity(vectors: np.ndarray, artists: np.ndarray,
                               links: np.ndarray, k: int = K) -> np.ndarray:
    """float32 (n,): `exact_other_artist_similarity` approximated over each song's graph
    links (`graph_links`): the mean similarity to its k most similar linked songs of other
    artists (fewer when it has fewer such links; with none, `_fill_unknown`).

    Args:
        vectors: (n, d) unit vectors.
        artists: (n,) int artist code of each song.
        links: (n, m) int rows of each song's neighbours, -1 where none.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    artists = np.asarray(artists)
    n, width = links.shape
    out = np.empty(n, dtype=np.float32)
    # Faiss computes each song's products with its linked songs in place, where NumPy first
    # gathered the linked vectors (1.2M songs: 2-3x the time; `benchmarks/hub_cost.py`).
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    for start in range(0, n, _GRAPH_BLOCK):
        stop = min(n, start + _GRAPH_BLOCK)
        ids = links[start:stop]
        targets = np.maximum(ids, 0).astype(np.int64)  # -1 (no link) is masked out below
        sims = np.empty(ids.shape, dtype=np.float32)
        flat.compute_distance_subset(stop - start, faiss.swig_ptr(vectors[start:stop]), width,
                                     faiss.swig_ptr(sims), faiss.swig_ptr(targets))
        out[start:stop] = _mean_of_first_others(sims, ids, artists, artists[start:stop], k)
    return _fill_unknown(out, artists)


def save_hub_penalty(folder: Path, vectors: np.ndarray, artists: np.ndarray,
                     links: np.ndarray, weight: float) -> dict[str, Any]:
    """Write `hub_penalty.npy`, float32 (n,): weight x `graph_neighbour_similarity`, the
    similarity the recommender subtracts from each song; returns its manifest entry."""
    penalty = weight * graph_neighbour_similarity(vectors, artists, links)
    np.save(folder / FILES["hub_penalty"], penalty.astype(np.float32))
    return {"file": FILES["hub_penalty"], "weight": weight, "k": K,
            "neighbours": "the song's links in the HNSW graph, songs of other artists only"}
