"""The sound map: a 2-D position for every song.

A PCA projection fitted on a sample of songs (`layout="pca"`, the default), or a
neighbour-preserving layout (`layout="tsne"`): t-SNE (openTSNE, FFT gradients) fitted on up to
5,000 songs, every other song placed at the similarity-weighted mean of its 5 nearest fitted
songs. On the real 30k songs, silhouette of the family labels in 2-D is 0.124 for t-SNE against
0.019 for PCA (full 16-d vectors: 0.146), and trustworthiness at 10 neighbours 0.984 against
0.880 (3,000 songs scored; `benchmarks/flows_quality.py --part map`). Fitting on 10k or 20k songs
kept the families apart no better (0.109, 0.111) and took 2x and 3x as long. t-SNE is not yet
the default: on the shared machine (load average 7 to 14 on 2 cores) the 30k map took 92 s, the
whole map of 1.2M synthetic songs 196 s, and placing 200k songs 13 s with 2 faiss threads but
6 s with one; even at a quarter of that on an idle machine it would not fit the 90 s build
beside the 35-60 s it already takes. Fewer fitted songs and a cheaper placement come first.
UMAP (umap-learn) was slower still there: its first run compiles with numba (47 s to import,
163 s for 20k songs on one thread).
"""

from __future__ import annotations

import faiss
import numpy as np
from sklearn.decomposition import PCA

from musicrec.errors import MusicrecError

MAP_TSNE = "tsne-openTSNE-5k-landmarks"
MAP_PCA = "pca"
_MAP_FIT_ROWS = 50_000
# The t-SNE map: songs fitted, fewest songs for it, neighbours placing every other song, and
# how sharply the nearest of them wins (cosine units).
_TSNE_ROWS = 5_000
_TSNE_MIN = 500
_PLACE_NEIGHBOURS = 5
_PLACE_SHARPNESS = 0.02


def song_map(x: np.ndarray, rng: np.random.Generator, seed: int = 0,
             layout: str = "pca") -> tuple[np.ndarray, str]:
    """2-D map coordinates, float32 (n, 2), and the layout's name: PCA, or t-SNE on a sample
    with the other songs placed by their nearest sampled songs (PCA under 500 songs)."""
    if layout != "tsne" or len(x) < _TSNE_MIN:
        fit_rows = np.sort(rng.choice(len(x), min(len(x), _MAP_FIT_ROWS), replace=False))
        pca = PCA(n_components=2, svd_solver="covariance_eigh").fit(x[fit_rows])
        return pca.transform(x).astype(np.float32), MAP_PCA
    fit_rows = np.sort(rng.choice(len(x), min(len(x), _TSNE_ROWS), replace=False))
    return place_by_neighbours(x, x[fit_rows], tsne_layout(x[fit_rows], seed)), MAP_TSNE


def tsne_layout(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE coordinates float32 (m, 2) of m unit vectors: PCA start, perplexity 30, 250
    early-exaggeration steps then 250 plain ones (openTSNE's FFT gradients, 2 threads)."""
    try:
        from openTSNE import TSNEEmbedding, affinity, initialization
    except ImportError as exc:
        raise MusicrecError("the t-SNE map needs openTSNE: pip install 'openTSNE>=1.0.4'") \
            from exc
    aff = affinity.PerplexityBasedNN(x, perplexity=min(30.0, (len(x) - 1) / 3), n_jobs=2,
                                     random_state=seed, method="annoy")
    emb = TSNEEmbedding(initialization.pca(x, random_state=seed), aff, n_jobs=2,
                        random_state=seed)
    emb = emb.optimize(n_iter=250, exaggeration=12).optimize(n_iter=250)
    return np.asarray(emb, dtype=np.float32)


def place_by_neighbours(x: np.ndarray, fitted: np.ndarray, xy: np.ndarray,
                        chunk: int = 65_536) -> np.ndarray:
    """Positions float32 (n, 2) for every row of x: the mean position of its nearest fitted
    vectors, weighted by exp(similarity / 0.02) relative to the nearest, so a song sits by its
    closest fitted song unless several are about as close."""
    index = faiss.IndexFlatIP(fitted.shape[1])
    index.add(np.ascontiguousarray(fitted, dtype=np.float32))
    k = min(_PLACE_NEIGHBOURS, len(fitted))
    out = np.empty((len(x), 2), dtype=np.float32)
    for start in range(0, len(x), chunk):
        sims, ids = index.search(np.ascontiguousarray(x[start:start + chunk],
                                                      dtype=np.float32), k)
        weights = np.exp((sims - sims[:, :1]) / _PLACE_SHARPNESS)
        out[start:start + chunk] = (xy[ids] * weights[..., None]).sum(axis=1) / \
            weights.sum(axis=1, keepdims=True)
    return out
