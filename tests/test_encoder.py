"""encoder.py: the contrastive song encoder (gradients, learning, fallbacks)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from musicrec import learn
from musicrec.encoder import EncoderConfig, SongEncoder, _gradients, fit_encoder
from musicrec.features import normalize


def loss(model: SongEncoder, x: np.ndarray, group: np.ndarray, temperature: float) -> float:
    """The symmetric InfoNCE loss `_gradients` differentiates, written out directly."""
    batch = len(group)
    u = model.forward(x)[2].astype(np.float64)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    logits = u[:batch] @ u[batch:].T / temperature
    same = group[:, None] == group[None, :]
    np.fill_diagonal(same, False)
    logits[same] = -np.inf

    def cross_entropy(m: np.ndarray) -> float:
        top = m.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(m - top).sum(axis=1)) + top[:, 0]
        return float((log_z - np.diag(m)).mean())

    return (cross_entropy(logits) + cross_entropy(logits.T)) / 2


def test_gradients_match_finite_differences(rng: np.random.Generator) -> None:
    d, hidden, dims = 5, 7, 3
    params = {"w1": rng.normal(size=(d, hidden)), "b1": rng.normal(size=hidden) * 0.1,
              "w2": rng.normal(size=(hidden, dims)), "b2": rng.normal(size=dims) * 0.1,
              "ws": rng.normal(size=(d, dims))}
    model = SongEncoder(**params)
    x = rng.normal(size=(12, d))
    group = np.array([0, 1, 2, 0, 3, 4])  # pairs 0 and 3 share an artist: not negatives
    grads = _gradients(model, x, group, 0.5)
    for name, value in params.items():
        flat = value.reshape(-1)
        for i in rng.choice(len(flat), min(4, len(flat)), replace=False):
            old = flat[i]
            flat[i] = old + 1e-6
            up = loss(model, x, group, 0.5)
            flat[i] = old - 1e-6
            down = loss(model, x, group, 0.5)
            flat[i] = old
            assert grads[name].reshape(-1)[i] == pytest.approx((up - down) / 2e-6, rel=1e-4,
                                                               abs=1e-7), name


def artists_in_a_curved_space(rng: np.random.Generator, n_artists: int, per_artist: int
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Each artist's songs along a bent curve in two dimensions, plus four dimensions of noise
    that say nothing about the artist (and, unit-normalised, dominate the cosine)."""
    artist = np.repeat(np.arange(n_artists), per_artist)
    centre = rng.uniform(-1, 1, size=(n_artists, 2))
    t = rng.normal(size=len(artist)) * 0.2
    x = np.column_stack([centre[artist, 0] + t, centre[artist, 1] + t * t,
                         rng.normal(size=(len(artist), 4))])
    return normalize(x.astype(np.float32)), artist


def same_artist_share(v: np.ndarray, artist: np.ndarray, rows: np.ndarray) -> float:
    sims = v[rows] @ v[rows].T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :5]
    return float((artist[rows][top] == artist[rows][:, None]).mean())


def test_encoder_brings_unseen_artists_songs_together(rng: np.random.Generator) -> None:
    x, artist = artists_in_a_curved_space(rng, 60, 8)
    train = np.flatnonzero(artist < 30)
    held_out = np.flatnonzero(artist >= 30)
    encoder = fit_encoder(x, artist, EncoderConfig(steps=400, batch=32), rows=train)
    assert encoder is not None
    z = encoder.embed(x)
    assert z.shape == (len(x), 16) and z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1, rtol=1e-5)
    assert same_artist_share(z, artist, held_out) > same_artist_share(x, artist, held_out) + 0.1


def test_same_seed_same_encoder_and_nothing_to_learn(rng: np.random.Generator) -> None:
    x, artist = artists_in_a_curved_space(rng, 4, 3)
    config = EncoderConfig(steps=20, batch=4)
    a, b = fit_encoder(x, artist, config), fit_encoder(x, artist, config)
    assert a is not None and b is not None
    np.testing.assert_array_equal(a.embed(x), b.embed(x))
    one_song_each = np.arange(len(x))
    assert fit_encoder(x, one_song_each, config) is None
    assert fit_encoder(x, artist, config, rows=np.array([0, 1, 3])) is None  # one artist of 2


def test_context_falls_back_to_features_when_nothing_can_be_learned(
        rng: np.random.Generator) -> None:
    x = normalize(rng.normal(size=(6, 4)).astype(np.float32))
    table = pa.table({"id": [f"t{i}" for i in range(6)],
                      "artist_ids": [[f"a{i}"] for i in range(6)]})
    ctx = learn.build_context(table, x, learn.ContextConfig(artist_scale={}))
    assert ctx.artist_space == "features" and ctx.vectors.shape == (6, 8)
    learned = learn.build_context(
        table.set_column(1, "artist_ids", pa.array([["a"], ["a"], ["b"], ["b"], ["c"], ["c"]])),
        x, learn.ContextConfig(encoder=EncoderConfig(steps=5, batch=4)))
    assert learned.artist_space == "learned" and learned.vectors.shape == (6, 4 + 16)
    assert learned.dims[4:6] == ["artist_learned_0", "artist_learned_1"]
    # songs of one artist share their artist part exactly
    np.testing.assert_allclose(learned.vectors[0, 4:] / np.linalg.norm(learned.vectors[0, 4:]),
                               learned.vectors[1, 4:] / np.linalg.norm(learned.vectors[1, 4:]),
                               rtol=1e-5)
