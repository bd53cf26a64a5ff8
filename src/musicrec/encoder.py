"""A small song encoder learned from the catalogue itself: songs of one artist end up close.

No labels are used. Songs by the same artist tend to share a kind of music, so a model trained
to tell, from audio features alone, which of a batch of songs is by the same artist as a given
song learns which combinations of features go together in real music (the feature space's
straight lines do not: a slow, loud, acoustic song is unusual in a way cosine cannot see).

The model is one hidden layer of ReLU units plus a linear skip, trained with the InfoNCE
(contrastive) loss on pairs of songs by one artist, every other pair of the batch a negative,
with Adam. It is written in NumPy: 2,000 steps of 256 pairs take about 5 s on one core whatever
the catalogue's size, since the steps sample pairs rather than sweep the songs.

`build_context` (in `musicrec.learn`) averages the encoded songs over each artist; that mean is
the artist part of every song vector. Measured on the 30k songs (`benchmarks/quality.py
learn`): genre / subgenre P@10 of held-out artists at most 2 songs per artist 0.546 / 0.297
with the mean of the audio features, 0.584 / 0.327 with the mean of the encoded songs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from musicrec.features import normalize

# Rows embedded at a time: the hidden layer of 1.2M songs at once would take 300 MB.
BLOCK = 65_536


class EncoderConfig(BaseModel):
    """Shape and training of the encoder.

    Compared on seeds of the tuning half of the 30k songs' artists (genre / subgenre P@10, at
    most 2 per artist, artist weight 1.4): 1,000 steps of 512 pairs 0.572 / 0.314 in 10 s,
    2,000 of 256 0.576 / 0.319 in 5 s; other seeds 0.574-0.578; 32 outputs 0.578 / 0.319 and
    128 hidden units 0.578 / 0.317 (within the seeds' spread); temperature 0.05 / 0.2 lower
    (0.566 / 0.569).
    """

    model_config = ConfigDict(extra="forbid")

    dims: int = Field(16, ge=2)
    hidden: int = Field(64, ge=1)
    steps: int = Field(2_000, ge=1)
    batch: int = Field(256, ge=2)
    temperature: float = Field(0.1, gt=0)
    learning_rate: float = Field(3e-3, gt=0)
    seed: int = 0


@dataclass(frozen=True)
class SongEncoder:
    """x -> relu(x W1 + b1) W2 + b2 + x Ws, returned as unit rows."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    ws: np.ndarray

    def embed(self, x: np.ndarray) -> np.ndarray:
        """(n, dims) float32 unit rows for (n, d) song vectors."""
        x = np.asarray(x, dtype=np.float32)
        out = np.empty((len(x), self.w2.shape[1]), dtype=np.float32)
        for start in range(0, len(x), BLOCK):
            out[start:start + BLOCK] = self.forward(x[start:start + BLOCK])[2]
        return normalize(out)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        before = x @ self.w1 + self.b1
        hidden = np.maximum(before, 0)
        return before, hidden, hidden @ self.w2 + self.b2 + x @ self.ws


class _Pairs:
    """Draws pairs of different songs by one artist, artists in proportion to their songs."""

    def __init__(self, artist: np.ndarray, rows: np.ndarray, rng: np.random.Generator):
        order = rows[np.argsort(artist[rows], kind="stable")]
        grouped = artist[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        keep = sizes >= 2
        self.order, self.starts, self.sizes = order, starts[keep], sizes[keep]
        self.cdf = np.cumsum(self.sizes / max(self.sizes.sum(), 1))
        self.rng = rng

    @property
    def artists(self) -> int:
        return len(self.starts)

    def draw(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(anchor rows, positive rows, artist group of each pair)."""
        g = np.minimum(np.searchsorted(self.cdf, self.rng.random(count)), self.artists - 1)
        size = self.sizes[g]
        i = self.rng.integers(0, size)
        j = (i + 1 + self.rng.integers(0, size - 1)) % size
        return self.order[self.starts[g] + i], self.order[self.starts[g] + j], g


def fit_encoder(x: np.ndarray, artist: np.ndarray, config: EncoderConfig | None = None,
                rows: np.ndarray | None = None) -> SongEncoder | None:
    """Train an encoder on pairs of songs by one artist.

    Args:
        x: (n, d) song vectors (the feature pipeline's unit vectors).
        artist: (n,) artist code of each song (`Groups.primary`).
        rows: the songs to train on (default all); the benchmark trains on half the artists.

    Returns:
        The encoder, or None when fewer than two artists have two songs (nothing to learn).
    """
    config = config or EncoderConfig()
    x = np.asarray(x, dtype=np.float32)
    rng = np.random.default_rng(config.seed)
    pairs = _Pairs(np.asarray(artist), np.arange(len(x)) if rows is None else rows, rng)
    if pairs.artists < 2:
        return None
    d, batch = x.shape[1], config.batch
    params = {"w1": rng.normal(0, d ** -0.5, (d, config.hidden)),
              "b1": np.zeros(config.hidden),
              "w2": rng.normal(0, config.hidden ** -0.5, (config.hidden, config.dims)),
              "b2": np.zeros(config.dims),
              "ws": rng.normal(0, d ** -0.5, (d, config.dims))}
    params = {k: v.astype(np.float32) for k, v in params.items()}
    adam = _Adam(params, config.learning_rate)
    for _ in range(config.steps):
        anchor, positive, group = pairs.draw(batch)
        grads = _gradients(SongEncoder(**params), np.vstack([x[anchor], x[positive]]), group,
                           config.temperature)
        adam.step(params, grads)
    return SongEncoder(**params)


def _gradients(model: SongEncoder, x: np.ndarray, group: np.ndarray, temperature: float
               ) -> dict[str, np.ndarray]:
    """Gradients of the symmetric InfoNCE loss for a batch of pairs (x: anchors, positives).

    Logits are cosine similarities of anchors to positives over the temperature; the right
    answer for anchor i is positive i. Other pairs of the same artist are left out as negatives.
    """
    batch = len(group)
    before, hidden, z = model.forward(x)
    norms = np.linalg.norm(z, axis=1, keepdims=True) + 1e-8
    u = z / norms
    anchors, positives = u[:batch], u[batch:]
    logits = anchors @ positives.T / temperature
    same = group[:, None] == group[None, :]
    np.fill_diagonal(same, False)
    logits[same] = -np.inf
    eye = np.eye(batch, dtype=np.float32)
    # d loss / d logits: both directions (anchor -> positives, positive -> anchors), averaged.
    d_logits = (_softmax(logits) - eye + (_softmax(logits.T) - eye).T) / (2 * batch)
    d_u = np.vstack([d_logits @ positives, d_logits.T @ anchors]) / temperature
    d_z = (d_u - u * (u * d_u).sum(axis=1, keepdims=True)) / norms  # through z / |z|
    d_before = (d_z @ model.w2.T) * (before > 0)
    return {"w1": x.T @ d_before, "b1": d_before.sum(axis=0), "w2": hidden.T @ d_z,
            "b2": d_z.sum(axis=0), "ws": x.T @ d_z}


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class _Adam:
    """Adam with the usual defaults (beta 0.9 / 0.999, eps 1e-8)."""

    def __init__(self, params: dict[str, np.ndarray], rate: float):
        self.rate, self.t = rate, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for k, g in grads.items():
            self.m[k] = 0.9 * self.m[k] + 0.1 * g
            self.v[k] = 0.999 * self.v[k] + 0.001 * g * g
            m_hat = self.m[k] / (1 - 0.9 ** self.t)
            v_hat = self.v[k] / (1 - 0.999 ** self.t)
            params[k] -= (self.rate * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
