"""Artist and album context: each song's vector gets its artist's mean vector appended (no
labels needed). See the package's docstring for how the parts are put together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from musicrec import schema
from musicrec.encoder import EncoderConfig, fit_encoder
from musicrec.errors import InvalidQueryError, LibraryError
from musicrec.features import normalize

# Per-feature multipliers on an artist part made of audio features (`artist_space="features"`);
# how they were found: docs/quality.md.
DEFAULT_ARTIST_SCALE: dict[str, float] = {
    f.name: f.artist_scale for f in schema.FEATURES if f.artist_scale != 1.0}


class ContextConfig(BaseModel):
    """How much the artist's and the album's mean vectors weigh next to the song's own.

    Defaults chosen by `benchmarks/quality.py learn` on one half of the 30k songs' artists and
    checked on the other half (figures in the README and results/quality_learn.json).
    """

    model_config = ConfigDict(extra="forbid")

    # Why each default is what it is, with the measurements: docs/quality.md, "Why the
    # defaults are what they are".
    # What is averaged over an artist's songs: the songs encoded by `musicrec.encoder` (learned
    # from which songs share an artist), or their audio-feature vectors scaled by `artist_scale`.
    artist_space: Literal["learned", "features"] = "learned"
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    artist_weight: float = Field(1.7, ge=0)
    # The album mean did not help (most albums of the 30k set hold one or two songs).
    album_weight: float = Field(0.0, ge=0)
    # Pseudo-songs at the prior added to every artist's / album's mean; none by default: a
    # one-song artist's "mean" is the song itself, which is already the best estimate.
    shrinkage: float = Field(0.0, ge=0)
    prior: Literal["self", "global"] = "self"
    # Songs with several artists: mean over all of them, or the first artist only.
    artists: Literal["mean", "primary"] = "mean"
    artist_scale: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_ARTIST_SCALE))
    # "unit": the artist part is normalised; "mean": it keeps the length of the mean of the
    # artist's unit song vectors, short for an artist whose songs point different ways.
    artist_norm: Literal["unit", "mean"] = "unit"
    # Subtract the catalogue's mean vector before normalising (a standard hubness reduction).
    center: bool = False


@dataclass(frozen=True)
class Groups:
    """Which songs belong to which artists and albums.

    Attributes:
        song_of_pair, artist_of_pair: (p,) int64, one entry per (song, artist) credit; artist
            rows are numbered by first appearance of the artist id, as the library's
            `artists.arrow` numbers them.
        artist_ids: (m,) object array, the artist id of each artist row.
        primary: (n,) int64 artist row of each song's first artist.
        album: (n,) int64 album code, -1 where the album is unknown.
    """

    song_of_pair: np.ndarray
    artist_of_pair: np.ndarray
    artist_ids: np.ndarray
    primary: np.ndarray
    album: np.ndarray

    @property
    def n_songs(self) -> int:
        return len(self.primary)

    @property
    def n_artists(self) -> int:
        return len(self.artist_ids)

    @classmethod
    def from_table(cls, table: pa.Table) -> Groups:
        """Read the groups from a catalogue table (`catalogue.read_catalogue(...).table`)."""
        n = table.num_rows
        artist_ids = table.column("artist_ids").combine_chunks()
        flat = pc.list_flatten(artist_ids).to_numpy(zero_copy_only=False)
        parents = pc.list_parent_indices(artist_ids).to_numpy().astype(np.int64)
        codes, uniques = pd.factorize(flat)
        codes = codes.astype(np.int64)
        primary = np.full(n, -1, dtype=np.int64)
        first = np.searchsorted(parents, np.arange(n))
        has = first < len(parents)
        has[has] = parents[first[has]] == np.arange(n)[has]
        primary[has] = codes[first[has]]
        if (~has).any():  # songs without an artist credit get an artist of their own
            extra = np.arange(int((~has).sum())) + len(uniques)
            primary[~has] = extra
            parents = np.concatenate([parents, np.flatnonzero(~has)])
            codes = np.concatenate([codes, extra])
            uniques = np.concatenate([np.asarray(uniques, dtype=object),
                                      np.array([""] * len(extra), dtype=object)])
        album = np.full(n, -1, dtype=np.int64)
        if "album_id" in table.column_names:
            album_col = table.column("album_id").to_pandas()
            album_codes, _ = pd.factorize(album_col.replace("", None))
            album = album_codes.astype(np.int64)
        return cls(parents, codes, np.asarray(uniques, dtype=object), primary, album)


def group_sum(out: np.ndarray, x: np.ndarray, members: np.ndarray, groups: np.ndarray) -> None:
    """out[g] += x[m] for every membership, via one sparse product (np.add.at is slow)."""
    # float32 products: at 1.2M songs x 16 dims float64 took twice as long, and sums of a few
    # thousand unit vectors lose nothing that matters in float32.
    incidence = sp.csr_matrix((np.ones(len(members), np.float32), (groups, members)),
                              shape=(len(out), len(x)))
    out += incidence @ np.asarray(x, dtype=np.float32)


def _self_shrunk(x: np.ndarray, members: np.ndarray, groups: np.ndarray, n_groups: int,
                 shrinkage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group sums and counts, for "mean over the group plus k copies of the song itself"."""
    sums = np.zeros((n_groups, x.shape[1]), dtype=np.float64)
    group_sum(sums, x, members, groups)
    counts = np.bincount(groups, minlength=n_groups).astype(np.float64)
    return sums, counts, np.float64(shrinkage)


@dataclass(frozen=True)
class Context:
    """The result of `build_context`.

    Attributes:
        vectors: (n, d') float32 unit rows, the song vectors to index.
        artist_vectors: (m, d) float32 unit rows, each artist's mean song vector (rows as in the
            library's artists.arrow), for `related_artists`.
        dims: names of the d' dimensions.
        artist_space: what the artist part averages: "learned" (encoded songs) or "features"
            (a catalogue with too few artists of two songs to learn from falls back to it).
    """

    vectors: np.ndarray
    artist_vectors: np.ndarray
    dims: list[str]
    groups: Groups
    artist_space: Literal["learned", "features"]


def song_context(base: np.ndarray, groups: Groups, config: ContextConfig
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Per-song artist context, album context (None when unused) and artist means.

    Args:
        base: (n, d) unit song vectors from the feature pipeline.

    Returns:
        artist part (n, d), album part (n, d) or None, artist means (m, d) unshrunk.
    """
    base = np.asarray(base, dtype=np.float32)
    n, k = len(base), config.shrinkage
    if config.artists == "primary":
        members, artist_of = np.arange(n), groups.primary
    else:
        members, artist_of = groups.song_of_pair, groups.artist_of_pair
    sums, counts, _ = _self_shrunk(base, members, artist_of, groups.n_artists, k)
    artist_means = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
    global_mean = base.mean(axis=0, dtype=np.float64)

    def per_song(sums_g: np.ndarray, counts_g: np.ndarray, song_members: np.ndarray,
                 song_groups: np.ndarray) -> np.ndarray:
        # Each credit's shrunk mean, then the mean over a song's credits.
        if k == 0:  # the default: plain means, in float32 (half the time at 1.2M songs)
            means = (sums_g / np.maximum(counts_g, 1)[:, None]).astype(np.float32)
            shrunk = means[song_groups]
        else:
            prior = base[song_members].astype(np.float64) if config.prior == "self" \
                else global_mean
            shrunk = (sums_g[song_groups] + k * prior) / (counts_g[song_groups] + k)[:, None]
        if len(song_members) == n and (song_members == np.arange(n)).all():
            return shrunk.astype(np.float32)
        out = np.zeros((n, base.shape[1]), dtype=np.float64)
        group_sum(out, shrunk, np.arange(len(song_members)), song_members)
        # (a song's credits are summed by one sparse product, then divided by their number)
        credits = np.bincount(song_members, minlength=n).astype(np.float64)
        return (out / np.maximum(credits, 1)[:, None]).astype(np.float32)

    artist_part = per_song(sums, counts, members, artist_of)
    album_part = None
    if config.album_weight > 0:
        known = np.flatnonzero(groups.album >= 0)
        n_albums = int(groups.album.max()) + 1 if len(known) else 0
        a_sums, a_counts, _ = _self_shrunk(base, known, groups.album[known], n_albums, k)
        album_part = np.array(base, dtype=np.float32)  # unknown album: the song itself
        if len(known):
            prior = base[known].astype(np.float64) if config.prior == "self" else global_mean
            album_part[known] = ((a_sums[groups.album[known]] + k * prior)
                                 / (a_counts[groups.album[known]] + k)[:, None])
    return artist_part, album_part, artist_means


def build_context(table: pa.Table, base_vectors: np.ndarray,
                  config: ContextConfig | None = None, base_dims: Sequence[str] | None = None,
                  train_rows: np.ndarray | None = None) -> Context:
    """Song vectors with artist (and album) context appended, and the artist mean matrix.

    Args:
        table: the catalogue table the vectors were made from (same rows, same order).
        base_vectors: (n, d) unit vectors, `FeaturePipeline.transform(table)`.
        config: weights of the parts; defaults to `ContextConfig()`.
        base_dims: names of the d base dimensions, for `Context.dims`.
        train_rows: songs the encoder learns from (default all; the benchmark holds out half
            the artists).

    Returns:
        A `Context` whose vectors are (n, d + context dims) float32 unit rows.
    """
    config = config or ContextConfig()
    base = np.asarray(base_vectors, dtype=np.float32)
    if base.ndim != 2 or len(base) != table.num_rows:
        raise LibraryError(f"base vectors have shape {base.shape}, expected ({table.num_rows}, d)")
    groups = Groups.from_table(table)
    names = list(base_dims) if base_dims is not None else [f"f{i}" for i in range(base.shape[1])]
    if len(names) != base.shape[1]:
        raise LibraryError(f"{len(names)} dimension names for {base.shape[1]}-dimensional vectors")
    encoder = None
    if config.artist_space == "learned" and config.artist_weight > 0:
        encoder = fit_encoder(base, groups.primary, config.encoder, train_rows)
    if encoder is not None:
        space = encoder.embed(base)
        space_names = [f"learned_{i}" for i in range(space.shape[1])]
    else:
        space, space_names = base, names
        if config.artist_scale and config.artist_weight > 0:
            if base_dims is None:
                raise LibraryError("artist_scale names features: pass base_dims "
                                   "(FeaturePipeline.dims)")
            feature_of_dim = [d.removesuffix("_sin").removesuffix("_cos") for d in names]
            space = space * np.array([config.artist_scale.get(f, 1.0) for f in feature_of_dim],
                                     dtype=np.float32)
    artist_part, album_part, artist_means = song_context(space, groups, config)
    parts, dims = [base], list(names)
    if config.artist_weight > 0:
        if config.artist_norm == "unit":
            artist_part = normalize(artist_part)
        parts.append(artist_part * config.artist_weight)
        dims += [f"artist_{d}" for d in space_names]
    if album_part is not None:
        parts.append(normalize(album_part) * config.album_weight)
        dims += [f"album_{d}" for d in space_names]
    out = np.hstack(parts)
    if config.center:
        out -= out.mean(axis=0)
    return Context(normalize(out), normalize(artist_means), dims, groups,
                   "learned" if encoder is not None else "features")


def context_vectors(table: pa.Table, base_vectors: np.ndarray,
                    config: ContextConfig | None = None,
                    base_dims: Sequence[str] | None = None) -> np.ndarray:
    """(n, d') float32 unit song vectors with artist/album context: what the index should hold.

    `base_dims` (`FeaturePipeline.dims`) is needed when the config scales artist features.
    """
    return build_context(table, base_vectors, config, base_dims).vectors


def related_artists(artist_vectors: np.ndarray, artist_row: int, k: int = 10,
                    eligible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k artists whose mean song vector is closest (cosine) to `artist_row`'s.

    Args:
        artist_vectors: (m, d) float32 unit rows (`Context.artist_vectors`, saved at build).
        artist_row: the artist's row (as in artists.arrow).
        k: how many.
        eligible: optional (m,) bool, artists that may be returned. One-song artists' "means"
            are single songs and often fill the list (30k set: Daft Punk's five nearest are
            one-song artists), so e.g. `tracks >= 3` from artists.arrow gives steadier lists.

    Returns:
        (rows (k,) int64, cosine similarities (k,) float32), best first, the artist itself
        left out; fewer than k when the catalogue has fewer other artists.
    """
    m = len(artist_vectors)
    if not 0 <= artist_row < m:
        raise InvalidQueryError(f"artist row {artist_row} out of range: library has {m} artists")
    if k < 1:
        raise InvalidQueryError(f"k must be at least 1, got {k}")
    sims = np.asarray(artist_vectors, dtype=np.float32) @ np.asarray(
        artist_vectors[artist_row], dtype=np.float32)
    sims[artist_row] = -np.inf
    if eligible is not None:
        sims[~np.asarray(eligible, dtype=bool)] = -np.inf
    k = min(k, int(np.isfinite(sims).sum()))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.argsort(-sims[top], kind="stable")]
    return top.astype(np.int64), sims[top].astype(np.float32)
