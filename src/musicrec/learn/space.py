"""The playlist space: songs people put in the same playlists get close vectors (implicit
ALS, or PPMI co-occurrence + SVD), and a map from content vectors into it for every other
song."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from musicrec.errors import InvalidQueryError
from musicrec.features import normalize
from musicrec.learn.reading import Playlists


class PlaylistConfig(BaseModel):
    """How songs are placed by the playlists they share, and how much that weighs.

    Defaults chosen on a validation split of the training playlists of the MPD sample (never on
    the held-out playlists; `benchmarks/quality.py learn`).
    """

    model_config = ConfigDict(extra="forbid")

    # Why each default is what it is, with the measurements: docs/quality.md, "Why the
    # defaults are what they are".
    method: Literal["als", "cooc"] = "als"
    # 32 is the choice where memory matters more than a little hit@10 (64 makes 96 float32 per
    # song with the Kaggle schema's 32 content dimensions).
    dims: int = Field(64, ge=2, le=256)
    # Weight of the playlist part next to the (unit) content part in the final vector.
    weight: float = Field(2.0, ge=0)
    use_unknown_tracks: bool = True
    # Seeds in no training playlist query with `cold_query` (content + their artists' playlist
    # vector). Turn it off for playlists that never share songs.
    cold_queries: bool = True
    # Ridge penalty of the content -> playlist-space mapping used for songs in no playlist.
    ridge_alpha: float = Field(1.0, gt=0)
    # Songs in few training playlists get their learned vector blended with the mapped one:
    # learned x count / (count + k) + mapped x k / (count + k); off.
    mapped_prior: float = Field(0.0, ge=0)
    # ALS only.
    regularization: float = Field(0.05, gt=0)
    # ALS confidence scale on the BM25-weighted data (implicit's alpha).
    alpha: float = Field(20.0, gt=0)
    iterations: int = Field(15, ge=1)
    # One more dimension after the playlist part: popularity x log(1 + training playlists
    # holding the song) / log(1 + the most any song is in); 0 adds none. Songs held by many
    # playlists are the likeliest to share one with any seed, and cosine on unit playlist
    # vectors cannot see that. Seed and candidate both carry it, so the boost grows with the
    # seed's own popularity; songs in no playlist carry the mean (`popularity_column`).
    popularity: float = Field(2.0, ge=0)
    seed: int = 0


@dataclass(frozen=True)
class PlaylistSpace:
    """Songs placed by the playlists they share.

    Attributes:
        vectors: (n, dims) float32, unit rows for songs in a training playlist, zero elsewhere.
        counts: (n,) int32 number of training playlists holding each song.
    """

    vectors: np.ndarray
    counts: np.ndarray

    @property
    def seen(self) -> np.ndarray:
        return self.counts > 0


def fit_playlists(playlists: Playlists, config: PlaylistConfig | None = None
                  ) -> PlaylistSpace:
    """Learn playlist-space song vectors from the playlists' co-occurrences.

    "cooc": positive pointwise mutual information of songs sharing a playlist, factorised by a
    truncated SVD (vectors U sqrt(S)); "als": `implicit`'s ALS on BM25-weighted playlist x
    song data.
    """
    config = config or PlaylistConfig()
    x = playlists.matrix.tocsr().astype(np.float32)
    n = x.shape[1]
    counts = np.asarray(x.getnnz(axis=0), dtype=np.int32)
    seen = np.flatnonzero(counts > 0)
    out = np.zeros((n, config.dims), dtype=np.float32)
    if len(seen) <= config.dims:
        raise InvalidQueryError(f"playlists hold {len(seen)} catalogue songs: too few to learn "
                                f"{config.dims} dimensions")
    xs = x[:, seen]
    if playlists.extra is not None and config.use_unknown_tracks:
        xs = sp.hstack([xs, playlists.extra.astype(np.float32)], format="csr")
    learn = _ppmi_svd if config.method == "cooc" else _als
    out[seen] = learn(xs, config)[:len(seen)]
    return PlaylistSpace(normalize(out), counts)


def _ppmi_svd(x: sp.csr_matrix, config: PlaylistConfig) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD

    co = (x.T @ x).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    co = co.tocoo()
    total = co.data.sum()
    marg = np.asarray(co.sum(axis=1)).ravel()
    # Context distribution smoothed with exponent 0.75, as word2vec does: rare songs would
    # otherwise get inflated PMI with everything they met once.
    ctx = marg ** 0.75
    ctx *= total / ctx.sum()
    pmi = np.log(co.data * total / (marg[co.row] * ctx[co.col]))
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (co.row[keep], co.col[keep])), shape=co.shape)
    svd = TruncatedSVD(config.dims, algorithm="randomized", n_iter=7, random_state=config.seed)
    u = svd.fit_transform(ppmi)  # = U S
    return (u / np.sqrt(np.maximum(svd.singular_values_, 1e-12))).astype(np.float32)


def _als(x: sp.csr_matrix, config: PlaylistConfig) -> np.ndarray:
    from implicit.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import bm25_weight
    from threadpoolctl import threadpool_limits

    weighted = bm25_weight(x, K1=100, B=0.8).tocsr().astype(np.float32)
    # implicit warns (and slows down) when OpenBLAS runs its own threads inside ALS.
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=config.dims, regularization=config.regularization, alpha=config.alpha,
            iterations=config.iterations, random_state=config.seed, num_threads=1,
            calculate_training_loss=False)
        model.fit(weighted, show_progress=False)
    return np.asarray(model.item_factors, dtype=np.float32)


@dataclass(frozen=True)
class ColdStartMap:
    """Ridge regression from content vectors to playlist-space vectors, spread like the space.

    Ridge predictions crowd around the mean direction (on the MPD sample: mean cosine 0.62
    between mapped songs against 0.12 between learned ones), so songs in no playlist all look
    alike and a query near the centre, such as the mean of several seeds, finds them first.
    Predictions are therefore centred and rescaled per dimension to the learned vectors'
    spread: validation hit@10 with one seed 0.388 -> 0.406, with five seeds 0.344 -> 0.629
    (learned part alone: 0.406 / 0.672).

    Attributes:
        coef: (d_content, d_playlist) float32.
        intercept, shift, scale: (d_playlist,) float32; vector = ((c coef + intercept) - shift)
            x scale, then normalised.
    """

    coef: np.ndarray
    intercept: np.ndarray
    shift: np.ndarray
    scale: np.ndarray

    def predict(self, content: np.ndarray) -> np.ndarray:
        """(n, d_playlist) float32 unit rows for (n, d_content) content vectors."""
        raw = np.asarray(content, np.float32) @ self.coef + self.intercept
        return normalize((raw - self.shift) * self.scale)


def fit_cold_start(content: np.ndarray, space: PlaylistSpace, alpha: float = 1.0
                   ) -> ColdStartMap:
    """Learn the content -> playlist-space mapping on the songs that have both.

    Args:
        content: (n, d) content vectors of every catalogue song (the spread of the predictions
            is measured over all of them).
        space: from `fit_playlists` on the same catalogue.
        alpha: ridge penalty.
    """
    from sklearn.linear_model import Ridge

    seen = space.seen
    model = Ridge(alpha=alpha).fit(np.asarray(content[seen], np.float64),
                                   np.asarray(space.vectors[seen], np.float64))
    coef, intercept = model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32)
    raw = np.asarray(content, np.float32) @ coef + intercept
    spread = raw.std(axis=0)
    scale = space.vectors[seen].std(axis=0) / np.where(spread > 0, spread, 1.0)
    return ColdStartMap(coef, intercept, raw.mean(axis=0).astype(np.float32),
                        scale.astype(np.float32))


def playlist_part(content: np.ndarray, space: PlaylistSpace, mapping: ColdStartMap,
                  mapped_prior: float = 0.0) -> np.ndarray:
    """(n, d_playlist) unit rows: learned vectors where a song was in a playlist, else mapped."""
    mapped = mapping.predict(content)
    c = space.counts.astype(np.float32)[:, None]
    if mapped_prior > 0:
        blended = (space.vectors * c + mapped * mapped_prior) / (c + mapped_prior)
    else:
        blended = space.vectors
    return normalize(np.where(c > 0, blended, mapped))


def popularity_column(counts: np.ndarray, scale: float) -> np.ndarray:
    """(n, 1) float32: scale x log(1 + count) / log(1 + max count), and for songs in no
    playlist the mean over the songs in one; (n, 0) when scale is 0.

    Songs in no playlist get a typical value, not zero: with zero, a cold seed's query would
    rank popular songs lower (their other parts are shorter after normalising), and cold-seed
    validation hit@10 fell to 0.166 against 0.249 without the column.

    Args:
        counts: (n,) training playlists holding each song (`PlaylistSpace.counts`).
    """
    counts = np.asarray(counts, dtype=np.float32)
    if scale == 0 or not (counts > 0).any():
        return np.zeros((len(counts), 0), np.float32)
    column = scale * np.log1p(counts) / float(np.log1p(counts.max()))
    column[counts == 0] = column[counts > 0].mean()
    return column[:, None].astype(np.float32)


def blend(content: np.ndarray, playlist: np.ndarray, weight: float,
          popularity: np.ndarray | None = None) -> np.ndarray:
    """(n, d_content + d_playlist [+ 1]) float32 unit rows: [content, weight x playlist part,
    popularity column (`popularity_column`, when given)]."""
    parts = [normalize(content), normalize(playlist) * weight]
    if popularity is not None:
        parts.append(np.asarray(popularity, np.float32).reshape(len(content), -1))
    return normalize(np.hstack(parts))


def learned_vectors(content: np.ndarray, playlists: Playlists,
                    config: PlaylistConfig | None = None
                    ) -> tuple[np.ndarray, PlaylistSpace, ColdStartMap]:
    """The final song vectors with playlists: content part and playlist part, blended.

    Args:
        content: (n, d) float32 unit rows from `context_vectors`.
        playlists: from `read_playlists` over the same catalogue.

    Returns:
        (vectors (n, d + dims [+ 1 popularity]) float32 unit rows, the learned space, the
        cold-start map).
    """
    config = config or PlaylistConfig()
    space = fit_playlists(playlists, config)
    mapping = fit_cold_start(content, space, config.ridge_alpha)
    part = playlist_part(content, space, mapping, config.mapped_prior)
    vectors = blend(content, part, config.weight,
                    popularity_column(space.counts, config.popularity))
    return vectors, space, mapping
