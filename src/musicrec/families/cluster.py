"""Two-level spherical k-means: sub-families, grouped into broad families.

Songs are clustered into sub-families by spherical k-means (faiss, k-means++ seeding, trained on
a sample), which suits unit vectors compared by cosine and makes a sub-family exactly the songs
nearest its centroid; the sub-families are then grouped into families, so every song has one
family and one sub-family and the two levels nest.

The space clustered is the library's song vector with its audio-feature dimensions turned down
to `AUDIO_WEIGHT` against the artist-context (and playlist) dimensions: songs by one artist tend
to share a genre, and the artist mean is a less noisy reading of it than one song's features.
Chosen on the dev half of the demo songs' artists (`benchmarks/families_quality.py`, weights;
docs/quality.md): NMI with genre at 23 families 0.231 (weight 1, today's vectors as they are),
0.259 (0.5), 0.268 (0.25), 0.270 (0); at 42 sub-families 0.236 / 0.251 / 0.261 / 0.259. 0.25
keeps the songs' own sound in the picture at almost no cost.
Labels are never read here: they are the yardstick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

from musicrec import schema

AUDIO_WEIGHT = 0.25
# k-means trains on a sample of this many songs per cluster (at least _MIN_TRAIN songs): 70k
# songs for the 274 sub-families of 1.2M.
_TRAIN_PER_CLUSTER = 256
_MIN_TRAIN = 50_000
MAX_FAMILIES = 30


def default_family_count(n: int) -> int:
    """How many broad families to make from n songs: about 24 for 30k songs, 30 from 650k on.

    Grows slowly with n, so families stay big enough to have a character, and never exceeds
    n / 50 songs (but is at least 2).
    """
    return max(2, min(round(1.8 * n**0.25), MAX_FAMILIES, n // 50))


def default_subfamily_count(n: int) -> int:
    """How many sub-families in all: about 42 for 28k songs, 270 for 1.2M (0.25 x sqrt(n)).

    Chosen on the dev half of the demo songs (`benchmarks/families_quality.py`, counts):
    0.2 / 0.25 / 0.3 / 0.4 x sqrt(n) gave NMI with genre 0.265 / 0.261 / 0.258 / 0.251, with
    subgenre 0.314 / 0.315 / 0.315 / 0.314, genre purity rising with the count; 0.25 keeps
    almost all of the fewest's NMI and still gives several hundred for 1.2M songs.
    """
    return max(1, round(0.25 * n**0.5))


def space_weights(dims: Sequence[str] | None, d: int) -> np.ndarray:
    """float32 (d,): the multiplier of each vector dimension in the clustered space.

    Dimensions named after an audio feature (the feature pipeline's, e.g. "tempo", "key_sin")
    get `AUDIO_WEIGHT` when the vectors also carry other parts (artist context, playlists);
    vectors of audio features alone, or unnamed ones, are clustered as they are.
    """
    if dims is None or len(dims) != d:
        return np.ones(d, dtype=np.float32)
    audio = np.array([n.removesuffix("_sin").removesuffix("_cos") in schema.BY_NAME
                      for n in dims])
    if audio.all():
        return np.ones(d, dtype=np.float32)
    return np.where(audio, AUDIO_WEIGHT, 1.0).astype(np.float32)


def to_space(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Vectors in the clustered space: weighted, unit length, float32."""
    return unit(np.asarray(vectors, dtype=np.float32) * weights)


@dataclass
class Clusters:
    """Both levels, numbered largest first (sub-families: grouped by family, largest first in
    each).

    Attributes:
        labels: int16 (n,): each song's family.
        sublabels: int16 (n,): each song's sub-family (numbered across all families).
        centroids: float32 (k, d), unit rows, in the clustered space.
        subcentroids: float32 (s, d), unit rows.
        parents: int (s,): each sub-family's family, ascending.
    """

    labels: np.ndarray
    sublabels: np.ndarray
    centroids: np.ndarray
    subcentroids: np.ndarray
    parents: np.ndarray


def cluster_two_levels(x: np.ndarray, k: int, subs: int, seed: int) -> Clusters:
    """Cluster unit rows x into `subs` sub-families, then group those into k families.

    Bottom-up: the sub-families are one spherical k-means of all songs, and the families are
    a k-means of the sub-families' centroids weighted by their sizes. On the dev half of the
    demo songs this beat splitting each of k families in proportion to its size (NMI with
    genre at 42 sub-families 0.261 against 0.249; at 23 families 0.268 against 0.263), and a
    song's family is simply its sub-family's.
    """
    rng = np.random.default_rng(seed)
    subcentroids = _ordered(x, kmeans(x, subs, rng, seed))
    sizes = np.bincount(nearest(x, subcentroids), minlength=len(subcentroids))
    k = min(k, len(subcentroids))
    groups = KMeans(k, n_init=10, random_state=seed).fit(
        subcentroids, sample_weight=sizes).labels_
    # Identical sub-families (songs with identical vectors) can leave a group empty.
    groups = np.unique(groups, return_inverse=True)[1]
    k = int(groups.max()) + 1
    # Families largest first; sub-families grouped by family, largest first in each.
    family_sizes = np.bincount(groups, weights=sizes, minlength=k)
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(-family_sizes, kind="stable")] = np.arange(k)
    order = np.lexsort((-sizes, rank[groups]))
    subcentroids, parents = subcentroids[order], rank[groups][order]
    weighted = subcentroids * sizes[order, None]
    centroids = unit(np.stack([weighted[parents == f].sum(axis=0) for f in range(k)]))
    sublabels = nearest(x, subcentroids)
    return Clusters(parents[sublabels].astype(np.int16), sublabels, centroids, subcentroids,
                    parents)


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    """Spherical k-means centroids, float32 (k, d), trained on a sample of the rows."""
    size = min(len(x), max(_MIN_TRAIN, k * _TRAIN_PER_CLUSTER))
    train = x[np.sort(rng.choice(len(x), size, replace=False))]
    # k-means++ seeding: faiss's random seeding alone can merge two well-separated clusters.
    start, _ = kmeans_plusplus(train, k, random_state=seed)
    model = faiss.Kmeans(x.shape[1], k, niter=25, seed=seed, spherical=True,
                         max_points_per_centroid=_TRAIN_PER_CLUSTER)
    model.train(train, init_centroids=unit(start))
    return unit(model.centroids)


def _ordered(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The centroids that attract songs, largest cluster first; assigning again to these
    keeps the labels exactly what assigning new vectors returns."""
    sizes = np.bincount(nearest(x, centroids), minlength=len(centroids))
    return centroids[np.argsort(-sizes, kind="stable")[:np.count_nonzero(sizes)]]


def unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(norms > 0, norms, 1), dtype=np.float32)


def nearest(x: np.ndarray, centroids: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Index of the most similar centroid per row, int16; in chunks to bound memory."""
    out = np.empty(len(x), dtype=np.int16)
    for start in range(0, len(x), chunk):
        out[start:start + chunk] = np.argmax(x[start:start + chunk] @ centroids.T, axis=1)
    return out


def members(labels: np.ndarray, k: int) -> list[np.ndarray]:
    """Rows of each cluster, ascending."""
    order = np.argsort(labels, kind="stable")
    return np.split(order, np.cumsum(np.bincount(labels, minlength=k))[:-1])
