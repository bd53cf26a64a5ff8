"""What is learned from the catalogue's structure and from playlists.

Two signals are added to the audio-feature vectors of `features.FeaturePipeline`:

- **Artist context** (no labels needed): each song's vector gets its artist's mean vector
  appended (album mean and shrinkage of small artists are options; measured, neither helped).
  Songs by the same artist tend to share a genre, so the mean over the artist's songs is a less
  noisy estimate of "what kind of music this is" than one song's features.
- **Playlists**, when given: songs people put in the same playlists get close vectors in a small
  learned space (implicit ALS, or PPMI co-occurrence + SVD). Most songs of a large catalogue
  appear in no playlist, so a mapping learned from the content vector to that space (ridge
  regression on the songs that have both) gives every song a playlist-space vector.

The song vector the index sees is the concatenation of the weighted parts, L2-normalised, so the
index and the recommender need no change. Hooks for the build:

- no playlists: `build_context(table, pipeline.transform(table), ContextConfig(),
  pipeline.dims)` -> `Context.vectors` to index (n, 2 x the pipeline's dims: 32 for the
  Kaggle 1.2M schema, 28 for the 30k file) and `Context.artist_vectors` for
  `related_artists`; then
  `save_learned(folder, context, config, n_content=vectors.shape[1])`.
- with playlists: `read_playlists(paths, track_ids)`, then `learned_vectors(context.vectors,
  playlists, PlaylistConfig())` -> (vectors to index, space, map); `save_learned(folder,
  context, config, n_content, playlists, space, map, playlist_config)`.
- at query time, a seed in no training playlist (`playlist_counts[row] == 0`) queries with
  `cold_query(stored_vector, n_content, artist_playlist[artist rows of the seed], weight)`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from musicrec import schema
from musicrec.encoder import EncoderConfig, fit_encoder
from musicrec.errors import CatalogueError, InvalidQueryError, LibraryError
from musicrec.features import normalize

# --------------------------------------------------------------------------------------------
# Artist and album context
# --------------------------------------------------------------------------------------------


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

    # What is averaged over an artist's songs: the songs encoded by `musicrec.encoder` (learned
    # from which songs share an artist), or their audio-feature vectors scaled by
    # `artist_scale`. Held-out genre / subgenre P@10, at most 2 songs per artist: 0.584 / 0.327
    # learned against 0.546 / 0.297 features.
    artist_space: Literal["learned", "features"] = "learned"
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    # Learned space, artist weight 1.0 / 1.4 / 1.7 / 2.0: tuning-half genre P@10 (at most 2
    # per artist) 0.571 / 0.576 / 0.579 / 0.578. Features space (weight 1.4 there), weight
    # 1.0 / 1.4 / 2.0: 0.545 / 0.551 / 0.551 without a cap, coverage 0.696 / 0.684 / 0.670.
    artist_weight: float = Field(1.7, ge=0)
    # The album mean did not help: album weight 0.5 / 1.0 with artist 1.4 gave genre P@10
    # 0.548 / 0.545 against 0.551 without (most albums of the 30k set hold one or two songs).
    album_weight: float = Field(0.0, ge=0)
    # Pseudo-songs at the prior added to every artist's / album's mean. Measured at artist
    # weight 1: k = 0 / 0.5 / 1 / 2 / 4 with prior "self" gave genre P@10 0.545 / 0.543 /
    # 0.543 / 0.539 / 0.532, with prior "global" 0.544-0.543 at every k: a one-song artist's
    # "mean" is the song itself, which is already the best estimate, so no shrinkage by default.
    shrinkage: float = Field(0.0, ge=0)
    prior: Literal["self", "global"] = "self"
    # Songs with several artists: mean over all of them, or the first artist only (the 30k set
    # credits one artist per song, so both measure the same there).
    artists: Literal["mean", "primary"] = "mean"
    artist_scale: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_ARTIST_SCALE))
    # "unit": the artist part is normalised; "mean": it keeps the length of the mean of the
    # artist's unit song vectors, short for an artist whose songs point different ways.
    artist_norm: Literal["unit", "mean"] = "unit"
    # Subtract the catalogue's mean vector before normalising (a standard hubness reduction):
    # no measurable change (genre P@10 and coverage within 0.001), since features are centred.
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


def _group_sum(out: np.ndarray, x: np.ndarray, members: np.ndarray, groups: np.ndarray) -> None:
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
    _group_sum(sums, x, members, groups)
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
        _group_sum(out, shrunk, np.arange(len(song_members)), song_members)
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


# --------------------------------------------------------------------------------------------
# Playlists: reading
# --------------------------------------------------------------------------------------------

PLAYLIST_ID_COLUMNS = ("pid", "playlist_id", "playlist")
TRACK_COLUMNS = ("track_uri", "track_id", "id", "uri", "spotify_id")
_URI_PREFIX = "spotify:track:"


@dataclass(frozen=True)
class Playlists:
    """Playlists over a catalogue's songs.

    Attributes:
        matrix: (p, n) CSR float32 incidence: 1 where playlist i holds catalogue song j.
        pids: (p,) playlist ids as strings, one per matrix row.
        entries: playlist entries read (known and unknown tracks).
        unknown: entries whose track is not in the catalogue (counted, not an error).
        files: files read.
        extra: (p, u) CSR incidence of the u distinct tracks outside the catalogue. They are
            never recommended, but learning with them places the catalogue's songs better
            (see `PlaylistConfig.use_unknown_tracks`).
    """

    matrix: sp.csr_matrix
    pids: np.ndarray
    entries: int
    unknown: int
    files: int
    extra: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def subset(self, rows: np.ndarray) -> Playlists:
        """The playlists at `rows` (same songs, same counts of entries read)."""
        return Playlists(self.matrix[rows], self.pids[rows], self.entries, self.unknown,
                         self.files, None if self.extra is None else self.extra[rows])

    def summary(self) -> dict[str, int]:
        return {"files": self.files, "playlists": len(self), "entries": self.entries,
                "unknown_tracks": self.unknown,
                "songs_in_playlists": int((self.matrix.getnnz(axis=0) > 0).sum())}


def _track_id(value: str) -> str:
    value = value.strip()
    return value[len(_URI_PREFIX):] if value.startswith(_URI_PREFIX) else value


def _pairs_from_mpd(path: Path, data: object) -> Iterable[tuple[str, str]]:
    if not isinstance(data, dict) or not isinstance(data.get("playlists"), list):
        raise CatalogueError(f"{path}: not an MPD slice (expected a JSON object with a "
                           "'playlists' list)")
    for i, playlist in enumerate(data["playlists"]):
        if not isinstance(playlist, dict) or "pid" not in playlist or not isinstance(
                playlist.get("tracks"), list):
            raise CatalogueError(f"{path}: playlist {i} has no 'pid' or no 'tracks' list")
        pid = str(playlist["pid"])
        for track in playlist["tracks"]:
            uri = track.get("track_uri") if isinstance(track, dict) else None
            if not isinstance(uri, str):
                raise CatalogueError(f"{path}: playlist {pid} has a track without 'track_uri'")
            yield pid, _track_id(uri)


def _read_json(path: Path) -> list[tuple[str, str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"cannot read playlists from {path}: {exc}") from exc
    return list(_pairs_from_mpd(path, data))


def _pick(columns: Sequence[str], wanted: Sequence[str], path: Path, what: str) -> str:
    lower = {c.lower().strip(): c for c in columns}
    for name in wanted:
        if name in lower:
            return lower[name]
    raise CatalogueError(f"{path}: no {what} column (one of {', '.join(wanted)}); columns found: "
                       f"{', '.join(columns)}")


def _read_csv(path: Path) -> list[tuple[str, str]]:
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read playlists from {path}: {exc}") from exc
    pid_col = _pick(header, PLAYLIST_ID_COLUMNS, path, "playlist id")
    track_col = _pick(header, TRACK_COLUMNS, path, "track id or URI")
    try:
        frame = pd.read_csv(path, usecols=[pid_col, track_col], dtype=str,
                            keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read playlists from {path}: {exc}") from exc
    tracks = frame[track_col].str.strip().str.removeprefix(_URI_PREFIX)
    keep = (frame[pid_col].str.strip() != "") & (tracks != "")
    return list(zip(frame[pid_col][keep].str.strip(), tracks[keep], strict=True))


def _playlist_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(
            (".json", ".json.gz", ".csv", ".csv.gz")))
        if not files:
            raise CatalogueError(f"{path}: no .json, .json.gz, .csv or .csv.gz playlist files")
        return files
    if not path.is_file():
        raise CatalogueError(f"no such playlist file or folder: {path}")
    return [path]


def read_playlists(paths: str | Path | Sequence[str | Path], track_ids: np.ndarray
                   ) -> Playlists:
    """Read playlists from MPD slice JSON (.json, .json.gz), CSV (.csv, .csv.gz) or folders.

    A CSV needs a playlist id column (`pid`, `playlist_id`) and a track column (`track_uri`,
    `track_id`, `id`), holding bare ids or `spotify:track:` URIs. Tracks not in the catalogue
    are counted in `Playlists.unknown`, never an error; a track repeated in a playlist counts
    once.

    Args:
        paths: files or folders (a folder is read recursively).
        track_ids: (n,) the catalogue's track ids, in row order.

    Raises:
        CatalogueError: a file is missing, unreadable, or not in one of these layouts.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files = [f for p in paths for f in _playlist_files(Path(p))]
    pairs: list[tuple[str, str]] = []
    for f in files:
        pairs += _read_json(f) if f.name.endswith((".json", ".json.gz")) else _read_csv(f)
    pids = np.array([p for p, _ in pairs], dtype=object)
    tracks = np.array([t for _, t in pairs], dtype=object)
    rows = pd.Index(np.asarray(track_ids, dtype=object)).get_indexer(tracks) if pairs else \
        np.empty(0, np.int64)
    known = rows >= 0
    # Playlists with no catalogue song teach nothing about the catalogue: left out.
    codes, uniques = pd.factorize(pids[known]) if known.any() else (np.empty(0, np.int64), [])
    matrix = _incidence(codes, rows[known], (len(uniques), len(track_ids)))
    unknown_rows = pd.Index(uniques).get_indexer(pids[~known])
    in_kept = unknown_rows >= 0
    extra_codes, extra_ids = pd.factorize(tracks[~known][in_kept])
    extra = _incidence(unknown_rows[in_kept], extra_codes, (len(uniques), len(extra_ids)))
    return Playlists(matrix, np.asarray(uniques, dtype=str), len(pairs), int((~known).sum()),
                     len(files), extra)


def _incidence(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A 0/1 float32 CSR matrix; repeated (row, col) pairs count once."""
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape,
                      dtype=np.float32)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


# --------------------------------------------------------------------------------------------
# Playlists: learning a song space, and mapping content into it
# --------------------------------------------------------------------------------------------


class PlaylistConfig(BaseModel):
    """How songs are placed by the playlists they share, and how much that weighs.

    Defaults chosen on a validation split of the training playlists of the MPD sample (never on
    the held-out playlists; `benchmarks/quality.py learn`).
    """

    model_config = ConfigDict(extra="forbid")

    # Measured on a validation split of the MPD sample's training playlists, 10% of playlist
    # songs held out, seed's artist and album excluded, hit@10 of the playlist part alone
    # (32 / 64 dims): with the unknown tracks 0.396 / 0.406, without 0.363 / 0.342.
    # Blended (content + weight x playlist part), ALS against PPMI + SVD: weight 0.5 / 1 / 2
    # gave hit@10 0.157 / 0.315 / 0.388 (ALS) and 0.167 / 0.288 / 0.312 (PPMI). Content alone
    # scores 0.055 there: the playlist part must dominate for songs the playlists know.
    method: Literal["als", "cooc"] = "als"
    # With alpha 20 and cold-seed queries: 16 / 32 / 64 dims gave validation hit@10 0.417 /
    # 0.441 / 0.463. The final vectors are content (32 dims for the Kaggle schema) + this, so
    # 64 makes 96 float32 per song (461 MB at 1.2M songs, against 154 MB without playlists);
    # 32 is the choice where memory matters more than 0.02 hit@10.
    dims: int = Field(64, ge=2, le=256)
    # Weight of the playlist part next to the (unit) content part in the final vector.
    weight: float = Field(2.0, ge=0)
    use_unknown_tracks: bool = True
    # Seeds in no training playlist query with `cold_query` (content + their artists' playlist
    # vector). Held-out MPD playlists, strict exclusions: cold hit@10 0.000 -> 0.244 (content
    # alone 0.072), all seeds 0.433 -> 0.468. Where each song sits in one playlist (the 30k
    # file's own playlist_id column) held-out playlists hold only cold songs and it costs
    # 0.460 -> 0.188: turn it off for playlists that never share songs.
    cold_queries: bool = True
    # Ridge penalty of the content -> playlist-space mapping used for songs in no playlist.
    # Ridge alpha 0.1 / 1 / 10 / 100 gave the same validation figures (within 0.002); a
    # content-space kNN average of playlist vectors (k = 5 / 20 / 50) instead of the ridge
    # mapping cost 0.13-0.18 hit@10, and as the cold query's fallback for seeds whose artists
    # are in no playlist it cost 0.01-0.03 cold hit@10 (`benchmarks/quality.py learn-tune`).
    ridge_alpha: float = Field(1.0, gt=0)
    # Songs in few training playlists get their learned vector blended with the mapped one:
    # learned x count / (count + k) + mapped x k / (count + k). k = 0 / 1 / 3 / 10: hit@10
    # 0.388 / 0.355 / 0.329 / 0.270, cold-start seeds 0.006 / 0.006 / 0.006 / 0.018: off.
    mapped_prior: float = Field(0.0, ge=0)
    # ALS only.
    regularization: float = Field(0.05, gt=0)
    # ALS confidence scale on the BM25-weighted data (implicit's alpha). Validation hit@10
    # (strict, with cold-seed queries) for 0.2 / 1 / 5 / 20 / 50 / 100: 0.406 / 0.435 / 0.451 /
    # 0.463 / 0.465 / 0.453; 20 sits on the plateau with a little more coverage than 50.
    # Regularization 0.01 / 0.05 / 0.5 at alpha 1: 0.438 / 0.435 / 0.423; 30 iterations or
    # 96 dims: within 0.005 of the defaults.
    # Rechecked with the popularity dimension below (validation, strict, own playlist): 5 / 50
    # alpha, 0.5 / 5 regularization, 30 iterations, 128 dims, TF-IDF or no weighting instead of
    # BM25 (K1 100, B 0.8; K1 1.2 or 10, B 0.3 also tried) all measured at or below the defaults.
    alpha: float = Field(20.0, gt=0)
    iterations: int = Field(15, ge=1)
    # One more dimension after the playlist part: popularity x log(1 + training playlists
    # holding the song) / log(1 + the most any song is in); 0 adds none. Songs held by many
    # playlists are the likeliest to share one with any seed, and cosine on unit playlist
    # vectors cannot see that. Seed and candidate both carry it, so the boost grows with the
    # seed's own popularity; songs in no playlist carry the mean (`popularity_column`).
    # Validation hit@10 (seed's artists and album excluded, own playlist / any held-out
    # playlist, cold seeds' own):
    # 0 -> 0.444 / 0.808 / 0.249, 1 -> 0.461 / 0.827 / 0.276, 2 -> 0.475 / 0.840 / 0.304,
    # 3 -> 0.480 / 0.843 / 0.298; coverage 0.105 / 0.094 / 0.080 / 0.077. A fixed boost
    # (similarity + b x the column, seed-independent) measured 0.484-0.515 at b 0.1-0.4, but
    # needs a query that differs from the stored vector for every seed.
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


# --------------------------------------------------------------------------------------------
# Saving what was learned, and explaining it
# --------------------------------------------------------------------------------------------

LEARN_FORMAT = 1
LEARN_MANIFEST = "learn.json"
ARTIST_VECTORS = "artist_vectors.npy"
COLD_START_MAP = "playlist_map.npz"
ARTIST_PLAYLIST_VECTORS = "artist_playlist_vectors.npy"
PLAYLIST_COUNTS = "playlist_counts.npy"


@dataclass(frozen=True)
class Learned:
    """What `load_learned` returns.

    Attributes:
        entry: the manifest entry (`learn.json`).
        artist_vectors: (m, d_content_base) float32 unit rows, memory-mapped.
        mapping: the cold-start map, or None without playlists.
        artist_playlist: (m, d_playlist) float32, memory-mapped, or None.
        playlist_counts: (n,) int32 training playlists per song, memory-mapped, or None.
    """

    entry: dict[str, object]
    artist_vectors: np.ndarray
    mapping: ColdStartMap | None = None
    artist_playlist: np.ndarray | None = None
    playlist_counts: np.ndarray | None = None


def save_learned(folder: str | Path, context: Context, context_config: ContextConfig,
                 n_content: int, playlists: Playlists | None = None,
                 space: PlaylistSpace | None = None, mapping: ColdStartMap | None = None,
                 playlist_config: PlaylistConfig | None = None) -> dict[str, object]:
    """Write the learned artefacts into a library folder; returns the manifest entry.

    Files: `artist_vectors.npy` (m, d) float32 (rows as artists.arrow); with playlists also
    `playlist_map.npz` (the cold-start map), `artist_playlist_vectors.npy` (m, d_playlist)
    float32 and `playlist_counts.npy` (n,) int32 (for `cold_query`); `learn.json` holds the
    entry.

    Args:
        n_content: number of leading vector dimensions that are the content part (the rest,
            if any, is the playlist part).
    """
    folder = Path(folder)
    np.save(folder / ARTIST_VECTORS, np.ascontiguousarray(context.artist_vectors, np.float32))
    entry: dict[str, object] = {
        "format": LEARN_FORMAT, "context": context_config.model_dump(),
        "artist_space": context.artist_space,
        "content_dims": n_content, "dims": context.dims, "artist_vectors": ARTIST_VECTORS,
        "artists": int(len(context.artist_vectors)), "playlists": None}
    if (playlists is not None and space is not None and mapping is not None
            and playlist_config is not None):
        np.savez(folder / COLD_START_MAP, coef=mapping.coef, intercept=mapping.intercept,
                 shift=mapping.shift, scale=mapping.scale)
        groups_pl = artist_playlist_vectors(context.groups, space)
        np.save(folder / ARTIST_PLAYLIST_VECTORS, groups_pl)
        np.save(folder / PLAYLIST_COUNTS, space.counts.astype(np.int32))
        entry["playlists"] = {"config": playlist_config.model_dump(),
                              "read": playlists.summary(), "dims": int(space.vectors.shape[1]),
                              "map": COLD_START_MAP, "artist_playlist": ARTIST_PLAYLIST_VECTORS,
                              "counts": PLAYLIST_COUNTS}
    (folder / LEARN_MANIFEST).write_text(json.dumps(entry, indent=2))
    return entry


def load_learned(folder: str | Path) -> Learned:
    """The learned artefacts of a library folder, arrays memory-mapped.

    Raises:
        LibraryError: missing, damaged or from another format version.
    """
    folder = Path(folder)
    try:
        entry = json.loads((folder / LEARN_MANIFEST).read_text())
        if entry.get("format") != LEARN_FORMAT:
            raise LibraryError(f"{folder / LEARN_MANIFEST} has format {entry.get('format')}, "
                               f"this version reads {LEARN_FORMAT}: rebuild the library")
        learned = Learned(entry, np.load(folder / ARTIST_VECTORS, mmap_mode="r"))
        if entry.get("playlists"):
            with np.load(folder / COLD_START_MAP) as data:
                mapping = ColdStartMap(data["coef"], data["intercept"], data["shift"],
                                       data["scale"])
            learned = Learned(entry, learned.artist_vectors, mapping,
                              np.load(folder / ARTIST_PLAYLIST_VECTORS, mmap_mode="r"),
                              np.load(folder / PLAYLIST_COUNTS, mmap_mode="r"))
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise LibraryError(f"learned artefacts ({LEARN_MANIFEST}, {ARTIST_VECTORS}) in {folder} "
                           f"are missing or damaged ({str(exc).splitlines()[0][:120]}); "
                           "rebuild the library") from exc
    for name, array in (("artist vectors", learned.artist_vectors),
                        ("artist playlist vectors", learned.artist_playlist)):
        if array is not None and (array.ndim != 2 or array.dtype != np.float32):
            raise LibraryError(f"{folder}: {name} should be a 2-D float32 matrix, got "
                               f"{array.dtype} {array.shape}; rebuild the library")
    return learned


def artist_playlist_vectors(groups: Groups, space: PlaylistSpace) -> np.ndarray:
    """(m, d_playlist) float32: each artist's mean learned playlist vector, unit rows.

    The mean runs over the artist's songs that are in training playlists; artists with none
    get a zero row. People put an artist's songs in the same playlists, so for a song in no
    playlist this says more than its audio does (see `query_vectors`).
    """
    warm = space.seen[groups.song_of_pair]
    sums = np.zeros((groups.n_artists, space.vectors.shape[1]), dtype=np.float64)
    _group_sum(sums, space.vectors, groups.song_of_pair[warm], groups.artist_of_pair[warm])
    return normalize(sums.astype(np.float32))


def cold_query(vector: np.ndarray, n_content: int, artist_rows: np.ndarray,
               weight: float) -> np.ndarray:
    """The query for a seed song in no training playlist (float32 unit (d,)).

    Its stored vector's playlist part is the ridge mapping from its audio, which finds songs
    like it but not the songs people play with it; the query replaces that part with the mean
    playlist vector of its artists (`artist_playlist_vectors` rows of the song's artists), or
    leaves it out when none of them is in a playlist. A popularity dimension after the
    playlist part keeps its stored value (`popularity_column`).

    Args:
        vector: (d,) the seed's stored vector (`learned_vectors`).
        n_content: leading dimensions that are the content part.
        artist_rows: (a, d_playlist) the seed's artists' rows of the artist playlist matrix.
        weight: `PlaylistConfig.weight`.
    """
    vector = np.asarray(vector, np.float32)
    scale = max(float(np.linalg.norm(vector[:n_content])), 1e-12)
    end = n_content + np.shape(artist_rows)[-1]
    part = np.asarray(artist_rows, np.float32).reshape(-1, end - n_content).sum(axis=0)
    norm = float(np.linalg.norm(part))
    part = part / norm * weight if norm > 0 else np.zeros_like(part)
    return normalize(np.concatenate([vector[:n_content] / scale, part,
                                     vector[end:] / scale])[None, :])[0]


def query_vectors(vectors: np.ndarray, space: PlaylistSpace, groups: Groups, n_content: int,
                  weight: float) -> np.ndarray:
    """`cold_query` for every song in no training playlist; other songs query as stored.

    Validation on the MPD sample (10% of playlist songs held out, seed's artist and album
    excluded): cold seeds querying as stored found hit@10 0.006, with their content part alone
    0.053 (= content-only vectors), with content + their artists' playlist vector 0.229; all
    seeds 0.406 -> 0.435; continuation from 5 seeds 0.629 -> 0.653. Storing the artists'
    playlist vector for cold songs instead (not only querying with it) cost the warm seeds
    0.406 -> 0.271: songs no playlist holds then crowd the lists.

    Returns:
        (n, d) float32 unit rows (for evaluation; the recommender calls `cold_query` per seed).
    """
    out = np.array(vectors, dtype=np.float32)
    artist_pl = artist_playlist_vectors(groups, space)
    cold = ~space.seen
    end = n_content + artist_pl.shape[1]
    sums = np.zeros((len(out), artist_pl.shape[1]), dtype=np.float64)
    _group_sum(sums, artist_pl[groups.artist_of_pair], np.arange(len(groups.song_of_pair)),
               groups.song_of_pair)
    part = normalize(sums.astype(np.float32)) * weight
    scale = np.maximum(np.linalg.norm(out[:, :n_content], axis=1, keepdims=True), 1e-12)
    out[cold] = normalize(np.hstack([out[cold, :n_content] / scale[cold], part[cold],
                                     out[cold, end:] / scale[cold]]))
    return out


def similarity_parts(a: np.ndarray, b: np.ndarray, n_content: int) -> tuple[float, float]:
    """How much of the cosine between two final song vectors comes from each part.

    Returns (content part, playlist part); they sum to the cosine. The explanation says
    "people put these together" when the playlist part carries most of it and both songs were
    in training playlists, "similar sound" otherwise.
    """
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return float(a[:n_content] @ b[:n_content]), float(a[n_content:] @ b[n_content:])
