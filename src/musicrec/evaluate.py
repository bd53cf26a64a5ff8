"""Offline quality of recommendations, measured against labels people gave the songs.

Every method recommends the top k songs for the same single-song seeds, with the seed's own
artists and album left out of the candidates (same-artist matches would inflate every score),
and every list is scored by the same code:

- label precision@k: share of recommended songs sharing a label (genre, subgenre) with the seed.
  A song can carry several labels (the 30k file repeats a track once per playlist), so a hit is
  any overlap between the two label sets. Hit rate: share of seeds with at least one hit.
- co-occurrence: the same two figures with playlists as the labels (a hit when the recommended
  song shares a playlist with the seed).
- catalogue coverage: share of the catalogue found in at least one list.
- hubness: skewness of the k-occurrence distribution (how often each song is recommended, over
  the whole catalogue) and the most-recommended song's count; random lists give the reference.
- intra-list diversity: mean pairwise cosine distance inside a list, in one neutral space for
  every method (the standardised audio features), so no method is judged by its own metric.
- artist diversity: distinct (first) artists per list, over the list's length.

Playlist continuation (`split_playlists`, `hold_out_songs`, `playlist_seeds`,
`evaluate_playlists`): playlists are split by playlist id, vectors are learned from the
training part, and every seed drawn from a held-out playlist is scored by hit@k (at least one
other song of that playlist in its top k), P@k and recall@k, over all seeds and over cold-start
seeds (songs in no training playlist). It needs only vectors and a catalogue table, no library.

Baselines run through the same code in the same run: random songs; cosine on the raw, unscaled
audio features; StandardScaler then cosine; our vectors with exact search; and our recommender
(`Library.recommend`: approximate index plus its diversity rules).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import faiss
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.stats import skew
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.preprocessing import StandardScaler

from musicrec.catalogue import ALIASES, AUDIO_FEATURES
from musicrec.errors import CatalogueError, MusicrecError
from musicrec.features import normalize
from musicrec.hubs import DEFAULT_WEIGHT as DEFAULT_HUB_WEIGHT
from musicrec.hubs import exact_other_artist_similarity
from musicrec.request import RecommendRequest

if TYPE_CHECKING:
    from musicrec.library import Library

DEFAULT_SEEDS = 2000
PLAYLIST_COLUMN = "playlist_id"
# Seeds searched together by exact search (faiss.knn bounds its own memory per block).
_BLOCK_SEEDS = 1024
# Float64 similarity matrices hold at most this many cells at a time (128 MB).
_SIMILARITY_CELLS = 16_000_000

# (seed rows (s,), excluded rows per seed, k) -> recommended rows (s, k), -1 where none.
RecommendFn = Callable[[np.ndarray, list[np.ndarray], int], np.ndarray]


@dataclass(frozen=True)
class Truth:
    """Ground-truth label sets aligned with library rows.

    Attributes:
        name: what the labels are ("genre", "subgenre", "playlist").
        matrix: bool CSR matrix of shape (n_rows, n_labels); row i holds song i's labels.
        labels: the label values, one per matrix column.
    """

    name: str
    matrix: sp.csr_matrix
    labels: list[str]

    def hits(self, seeds: np.ndarray, recs: np.ndarray) -> np.ndarray:
        """(s, k) bool: does recommended song recs[i, j] share a label with seeds[i]?"""
        valid = recs >= 0
        flat_recs = np.where(valid, recs, 0).ravel()
        flat_seeds = np.repeat(seeds, recs.shape[1])
        shared = self.matrix[flat_seeds].multiply(self.matrix[flat_recs]).sum(axis=1)
        return (np.asarray(shared).reshape(recs.shape) > 0) & valid


@dataclass(frozen=True)
class Method:
    """A way to recommend songs, scored like every other."""

    name: str
    description: str
    recommend: RecommendFn


@dataclass
class Evaluation:
    """Metrics of every method on the same seeds."""

    k: int
    seeds: int
    catalogue_rows: int
    rng_seed: int
    methods: dict[str, str]
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "seeds": self.seeds, "catalogue_rows": self.catalogue_rows,
                "rng_seed": self.rng_seed, "exclusions": "seed's artists and album",
                "methods": self.methods, "metrics": self.metrics,
                "metric_descriptions": metric_descriptions(self.k, self.metrics)}


def resolve_column(columns: Sequence[str], wanted: str) -> str:
    """The CSV column for `wanted`: the exact name, else one of the catalogue's aliases for it.

    Raises:
        CatalogueError: no such column; the message lists the columns found.
    """
    lower = {c.lower(): c for c in columns}
    for name in (wanted, *ALIASES.get(wanted.lower(), ())):
        if name.lower() in lower:
            return lower[name.lower()]
    raise CatalogueError(f"labels file has no {wanted!r} column; columns found: "
                       f"{', '.join(columns)}")


def read_truth(lib: Library, path: str | Path, label_columns: Sequence[str] = ("genre",),
               playlist_column: str | None = None) -> list[Truth]:
    """`read_truth_for_ids` for a library's songs (see there); the library only gives its ids."""
    ids = lib.table.column("id").to_numpy(zero_copy_only=False)
    try:
        return read_truth_for_ids(ids, path, label_columns, playlist_column)
    except _NoMatch as exc:
        raise CatalogueError(f"no track id in {path} is in the library at {lib.path}") from exc


class _NoMatch(CatalogueError):
    pass


def read_truth_for_ids(ids: np.ndarray, path: str | Path,
                       label_columns: Sequence[str] = ("genre",),
                       playlist_column: str | None = None) -> list[Truth]:
    """Read label sets for the library's songs from a CSV of (track id, label...) rows.

    Args:
        ids: (n,) track ids of the rows the labels are aligned with.
        path: CSV with a track id column (`id`, `track_id`, ...) and the label columns; a track
            may appear on several rows, each adding its labels.
        label_columns: columns to use as labels, by name or catalogue alias ("genre" finds
            `playlist_genre`).
        playlist_column: column of playlist ids for co-occurrence; None uses `playlist_id`
            when the file has it.

    Raises:
        CatalogueError: the file cannot be read, lacks a column, or no id matches the library.
    """
    path = Path(path)
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"cannot read labels file {path}: {exc}") from exc
    id_col = resolve_column(header, "id")
    wanted = {name: resolve_column(header, name) for name in label_columns}
    if playlist_column is not None:
        wanted["playlist"] = resolve_column(header, playlist_column)
    elif PLAYLIST_COLUMN in header:
        wanted["playlist"] = PLAYLIST_COLUMN
    frame = pd.read_csv(path, usecols=[id_col, *wanted.values()], dtype=str,
                        keep_default_na=False)
    rows = pd.Index(ids).get_indexer(frame[id_col])
    if (rows < 0).all():
        raise _NoMatch(f"no track id in {path} is among the {len(ids):,} given")
    truths = []
    for name, column in wanted.items():
        keep = (rows >= 0) & (frame[column].str.strip() != "").to_numpy()
        codes, labels = pd.factorize(frame[column][keep])
        matrix = sp.csr_matrix((np.ones(len(codes), dtype=bool), (rows[keep], codes)),
                               shape=(len(ids), len(labels)), dtype=bool)
        truths.append(Truth(name, matrix, [str(v) for v in labels]))
    return truths


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
    from musicrec.learn import Groups

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
    base, queries = _with_penalty(base, queries, penalty)
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


def _with_penalty(base: np.ndarray, queries: np.ndarray, penalty: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous float32 songs and queries whose inner product is q.v - penalty(v): v gets
    -penalty(v) appended and q a 1 (unchanged without a penalty)."""
    if penalty is not None:
        base = np.hstack([base, -np.asarray(penalty, np.float32)[:, None]])
        queries = np.hstack([queries, np.ones((len(queries), 1), np.float32)])
    return (np.ascontiguousarray(base, dtype=np.float32),
            np.ascontiguousarray(queries, dtype=np.float32))


def audio_matrix(lib: Library) -> np.ndarray:
    """(n, 12) float64 raw audio features, in the order of `AUDIO_FEATURES`."""
    return np.column_stack([lib.numeric(name) for name in AUDIO_FEATURES])


def standardised_audio(lib: Library) -> np.ndarray:
    """(n, 12) float32 unit vectors of the StandardScaler-scaled audio features."""
    return normalize(StandardScaler().fit_transform(audio_matrix(lib)))


def random_method(n: int, rng_seed: int) -> Method:
    """Random songs, never excluded ones: the floor every method must beat."""

    def recommend(seeds: np.ndarray, excluded: list[np.ndarray], k: int) -> np.ndarray:
        rng = np.random.default_rng(rng_seed)
        out = np.full((len(seeds), k), -1, dtype=np.int64)
        for i, ex in enumerate(excluded):
            draw = rng.choice(n, size=min(n, k + len(ex)), replace=False)
            draw = draw[~np.isin(draw, ex)][:k]
            out[i, :len(draw)] = draw
        return out

    return Method("random", "random songs", recommend)


def vector_method(name: str, description: str, vectors: np.ndarray,
                  penalty: np.ndarray | None = None) -> Method:
    """Exact cosine search over the given unit vectors, with the seed's exclusions."""

    def recommend(seeds: np.ndarray, excluded: list[np.ndarray], k: int) -> np.ndarray:
        return exact_top_k_excluding(vectors, seeds, excluded, k, penalty)

    return Method(name, description, recommend)


def recommender_method(lib: Library, max_per_artist: int | None = None) -> Method:
    """`Library.recommend` as users get it; excluded songs are dropped from a longer list.

    Args:
        max_per_artist: the request's per-artist cap; None keeps the request's default.
    """
    cap = {} if max_per_artist is None else {"max_per_artist": max_per_artist}
    shown = cap.get("max_per_artist", RecommendRequest.model_fields["max_per_artist"].default)

    def recommend(seeds: np.ndarray, excluded: list[np.ndarray], k: int) -> np.ndarray:
        ids = lib.table.column("id").take(seeds).to_pylist()
        out = np.full((len(seeds), k), -1, dtype=np.int64)
        for i, (track_id, ex) in enumerate(zip(ids, excluded, strict=True)):
            # The seed's artists take at most max_per_artist slots each, so k + 30 leaves k
            # after the exclusions for all but seeds on big compilations.
            result = lib.recommend(RecommendRequest(seed_tracks=[track_id],
                                                    limit=min(100, k + 30), **cap))
            rows = np.array([r.track["row"] for r in result.tracks], dtype=np.int64)
            rows = rows[~np.isin(rows, ex)][:k]
            out[i, :len(rows)] = rows
        return out

    return Method("musicrec recommend()",
                  f"Library.recommend: HNSW index, at most {shown} songs per artist, no other "
                  "versions", recommend)


def sklearn_cosine_method(name: str, description: str, features: np.ndarray) -> Method:
    """scikit-learn's `cosine_similarity` of each seed against every song, in float64.

    This is the approach people used before. Float64 matters for raw features: their vectors
    all point almost the same way (duration dominates), so float32 rounding reorders neighbours.
    """
    features = np.asarray(features, dtype=np.float64)
    n = len(features)

    def recommend(seeds: np.ndarray, excluded: list[np.ndarray], k: int) -> np.ndarray:
        out = np.full((len(seeds), k), -1, dtype=np.int64)
        block = max(1, _SIMILARITY_CELLS // max(n, 1))
        k_eff = min(k, n)
        for start in range(0, len(seeds), block):
            sims = cosine_similarity(features[seeds[start:start + block]], features)
            for i, ex in enumerate(excluded[start:start + block]):
                sims[i, ex] = -np.inf
            part = np.argpartition(-sims, k_eff - 1, axis=1)[:, :k_eff]
            part_sims = np.take_along_axis(sims, part, axis=1)
            order = np.argsort(-part_sims, axis=1, kind="stable")
            top = np.take_along_axis(part, order, axis=1)
            top[np.take_along_axis(part_sims, order, axis=1) == -np.inf] = -1
            out[start:start + len(top), :k_eff] = top
        return out

    return Method(name, description, recommend)


def baseline_methods(lib: Library, rng_seed: int = 0, *, recommender: bool = True,
                     hub_correction: float = 0.0) -> list[Method]:
    """Random, raw cosine, StandardScaler + cosine, our vectors (exact), our recommender.

    With `hub_correction` > 0 a further method re-ranks our vectors by similarity minus
    `hub_correction` times each song's mean similarity to its 10 nearest songs.
    """
    methods = [
        random_method(len(lib), rng_seed),
        sklearn_cosine_method("raw cosine", "cosine on the 12 raw, unscaled audio features "
                              "(sklearn, float64)", audio_matrix(lib)),
        vector_method("scaled cosine", "StandardScaler on the 12 audio features, then cosine",
                      standardised_audio(lib)),
        vector_method("musicrec vectors", "the library's vectors, exact cosine search",
                      lib.vectors),
    ]
    if hub_correction > 0:
        hubness = exact_other_artist_similarity(lib.vectors, np.arange(len(lib)))
        methods.append(vector_method(
            "musicrec vectors + hub correction",
            f"the library's vectors, similarity minus {hub_correction:g} x the song's mean "
            "similarity to its 10 nearest songs (CSLS local scaling)",
            lib.vectors, penalty=hub_correction * hubness))
    if recommender:
        methods.append(recommender_method(lib))
    return methods


def sample_seeds(truths: Sequence[Truth], n_rows: int, count: int, rng_seed: int) -> np.ndarray:
    """`count` distinct rows that carry a label in every truth, drawn with a seeded rng."""
    labelled = np.ones(n_rows, dtype=bool)
    for truth in truths:
        labelled &= np.diff(truth.matrix.indptr) > 0
    candidates = np.flatnonzero(labelled)
    if len(candidates) == 0:
        raise MusicrecError("no song in the library has every label; nothing to evaluate")
    rng = np.random.default_rng(rng_seed)
    return np.sort(rng.choice(candidates, size=min(count, len(candidates)), replace=False))


def score_lists(seeds: np.ndarray, recs: np.ndarray, truths: Sequence[Truth],
                space: np.ndarray, artists: np.ndarray) -> dict[str, float]:
    """Every metric of one method's lists.

    Args:
        seeds: (s,) seed rows.
        recs: (s, k) recommended rows, -1 where a list is short (counts as a miss).
        truths: label sets to score precision and hit rate against.
        space: (n, d) unit vectors in which intra-list diversity is measured.
        artists: (n,) an artist code per song, for artist diversity.
    """
    k = recs.shape[1]
    n = len(space)
    valid = recs >= 0
    metrics: dict[str, float] = {}
    for truth in truths:
        hits = truth.hits(seeds, recs)
        metrics[f"{truth.name} P@{k}"] = float(hits.mean())
        metrics[f"{truth.name} hit rate"] = float(hits.any(axis=1).mean())
    occurrences = np.bincount(recs[valid], minlength=n)
    metrics["coverage"] = float((occurrences > 0).mean())
    metrics["hubness (skew)"] = float(skew(occurrences)) if occurrences.any() else 0.0
    metrics["most recommended"] = float(occurrences.max())
    metrics["intra-list diversity"] = intra_list_diversity(recs, space)
    metrics["artist diversity"] = artist_diversity(recs, artists)
    metrics["short lists"] = float((~valid).any(axis=1).mean())
    return metrics


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


def evaluate(lib: Library, truths: Sequence[Truth], k: int = 10, seeds: int = DEFAULT_SEEDS,
             rng_seed: int = 0, methods: Sequence[Method] | None = None) -> Evaluation:
    """Score every method on the same seeds, with the seeds' artists and albums excluded.

    Args:
        lib: an opened library.
        truths: label sets from `read_truth`.
        k: list length.
        seeds: how many seed songs (drawn with `rng_seed` among songs that have labels).
        rng_seed: seed of the draw, for comparable runs.
        methods: defaults to `baseline_methods(lib, rng_seed)`.
    """
    if k < 1:
        raise MusicrecError(f"k must be at least 1, got {k}")
    methods = list(methods) if methods is not None else baseline_methods(lib, rng_seed)
    seed_rows = sample_seeds(truths, len(lib), seeds, rng_seed)
    excluded = exclusions(lib, seed_rows)
    space = standardised_audio(lib)
    artists = np.asarray(lib.primary_artist)
    result = Evaluation(k, len(seed_rows), len(lib), rng_seed,
                        {m.name: m.description for m in methods})
    for method in methods:
        recs = method.recommend(seed_rows, excluded, k)
        result.metrics[method.name] = score_lists(seed_rows, recs, truths, space, artists)
    return result


def metric_descriptions(k: int, metrics: dict[str, dict[str, float]]) -> dict[str, str]:
    """What each metric in `metrics` means, for the JSON report."""
    fixed = {
        "coverage": "share of the catalogue in at least one list",
        "hubness (skew)": "skewness of how often each song is recommended (random = reference)",
        "most recommended": "number of lists holding the most-recommended song",
        "intra-list diversity": "mean pairwise cosine distance in a list (standardised audio)",
        "artist diversity": "distinct artists per list / list length",
        "short lists": "share of lists with fewer than k songs",
    }
    names = next(iter(metrics.values()), {})
    out = {}
    for name in names:
        if name.endswith(f" P@{k}"):
            out[name] = f"share of results sharing a {name.split()[0]} with the seed"
        elif name.endswith(" hit rate"):
            out[name] = f"share of seeds with at least one result sharing a {name.split()[0]}"
        else:
            out[name] = fixed[name]
    return out


# --------------------------------------------------------------------------------------------
# Playlist continuation: learn on some playlists, score on held-out ones
# --------------------------------------------------------------------------------------------


def split_playlists(matrix: sp.csr_matrix, test_share: float, rng_seed: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Playlist rows split at random (seeded) into (train, test); never split inside one."""
    if not 0 < test_share < 1:
        raise MusicrecError(f"test_share must be between 0 and 1, got {test_share}")
    order = np.random.default_rng(rng_seed).permutation(matrix.shape[0])
    n_test = int(round(test_share * len(order)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


@dataclass(frozen=True)
class PlaylistSeeds:
    """Seed songs drawn from held-out playlists.

    Attributes:
        seeds: (s,) seed rows.
        playlist: (s,) row of the held-out playlist each seed was drawn from.
        excluded: per seed, rows no method may recommend.
        cold: (s,) bool, the seed is in no training playlist.
    """

    seeds: np.ndarray
    playlist: np.ndarray
    excluded: list[np.ndarray]
    cold: np.ndarray


def playlist_seeds(test: sp.csr_matrix, train_counts: np.ndarray,
                   exclude: Callable[[np.ndarray], list[np.ndarray]], per_playlist: int = 3,
                   rng_seed: int = 0) -> PlaylistSeeds:
    """Up to `per_playlist` seeds from each held-out playlist, drawn with a seeded rng.

    A song is a seed only if at least one other song of its playlist may be recommended for
    it (not excluded by `exclude`, e.g. not by the seed's artist): otherwise no method could
    score a hit and the seed measures nothing.
    """
    rng = np.random.default_rng(rng_seed)
    test = test.tocsr()
    seeds, playlists = [], []
    for p in range(test.shape[0]):
        songs = test.indices[test.indptr[p]:test.indptr[p + 1]]
        if len(songs) >= 2:
            for s in rng.permutation(songs)[:per_playlist]:
                seeds.append(int(s))
                playlists.append(p)
    seeds_arr, pl_arr = np.array(seeds, np.int64), np.array(playlists, np.int64)
    excluded = exclude(seeds_arr)
    keep = np.array([
        np.setdiff1d(test.indices[test.indptr[p]:test.indptr[p + 1]], ex).size > 0
        for p, ex in zip(pl_arr, excluded, strict=True)], dtype=bool)
    return PlaylistSeeds(seeds_arr[keep], pl_arr[keep],
                         [ex for ex, k in zip(excluded, keep, strict=True) if k],
                         np.asarray(train_counts)[seeds_arr[keep]] == 0)


def score_playlist_lists(ps: PlaylistSeeds, test: sp.csr_matrix, recs: np.ndarray
                         ) -> dict[str, float]:
    """hit@k, P@k, recall@k and coverage of lists against the held-out playlists, two ways.

    Against the seed's own playlist (our protocol): for a seed drawn from held-out playlist P,
    a recommended song is a hit when it is another song of P; hit@k is the share of seeds with
    at least one hit in their top k, P@k the share of the k slots that are hits, recall@k the
    share of P's other songs found.

    Against every held-out co-occurrence (the protocol of the issue's experiment, keys
    "... any-playlist hit@k" and "... any-playlist P@k"): a recommended song is a hit when it
    shares any held-out playlist with the seed, not only the one the seed was drawn from.

    Computed over all seeds and over the cold-start seeds (in no training playlist) alone.
    """
    k = recs.shape[1]
    test = test.tocsr()
    valid = recs >= 0
    flat_recs = np.where(valid, recs, 0).ravel()
    members = np.asarray(test[ps.playlist[:, None].repeat(k, 1).ravel(),
                              flat_recs]).reshape(recs.shape) > 0
    hits = members & valid
    together = (test.T @ test).tocsr()
    anywhere = (np.asarray(together[np.repeat(ps.seeds, k), flat_recs]).reshape(recs.shape)
                > 0) & valid
    sizes = np.diff(test.indptr)[ps.playlist] - 1
    out: dict[str, float] = {}
    for name, mask in (("all", np.ones(len(ps.seeds), bool)), ("cold", ps.cold)):
        if not mask.any():
            continue
        out[f"{name} seeds"] = float(mask.sum())
        out[f"{name} hit@{k}"] = float(hits[mask].any(axis=1).mean())
        out[f"{name} P@{k}"] = float(hits[mask].mean())
        out[f"{name} recall@{k}"] = float((hits[mask].sum(axis=1) / np.maximum(
            sizes[mask], 1)).mean())
        out[f"{name} any-playlist hit@{k}"] = float(anywhere[mask].any(axis=1).mean())
        out[f"{name} any-playlist P@{k}"] = float(anywhere[mask].mean())
    n = test.shape[1]
    out["coverage"] = float((np.bincount(recs[valid], minlength=n) > 0).mean())
    return out


class SearchSpace(NamedTuple):
    """What one playlist method searches: (n, d) unit song vectors (zero rows are never a
    good match); the vectors seeds query with, when not those they are stored with; and a
    per-song penalty subtracted from every similarity (the hub correction)."""

    vectors: np.ndarray
    queries: np.ndarray | None = None
    penalty: np.ndarray | None = None


def evaluate_playlists(methods: dict[str, np.ndarray | SearchSpace], ps: PlaylistSeeds,
                       test: sp.csr_matrix, k: int = 10) -> dict[str, dict[str, float]]:
    """Exact cosine search over each method's vectors, scored by `score_playlist_lists`.

    Args:
        methods: name -> song vectors, or a `SearchSpace`.
        ps: seeds from `playlist_seeds`.
        test: (p, n) the held-out playlists.
    """
    out = {}
    for name, method in methods.items():
        space = _space(method)
        recs = exact_top_k_excluding(space.vectors, ps.seeds, ps.excluded, k,
                                     penalty=space.penalty, queries=space.queries)
        out[name] = score_playlist_lists(ps, test, recs)
    return out


def _space(method: np.ndarray | SearchSpace) -> SearchSpace:
    return method if isinstance(method, SearchSpace) else SearchSpace(method)


def hold_out_songs(train: sp.csr_matrix, songs_in_playlists: np.ndarray, share: float,
                   rng_seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Remove a random share of the playlist songs from every training playlist.

    Those songs are then "cold" (in no training playlist) wherever they occur, so cold-start
    seeds are many and drawn at random, not only the songs that happen to occur in held-out
    playlists alone.

    Args:
        train: (p, n) training playlists.
        songs_in_playlists: rows of the songs that occur in any playlist (train or test).
        share: the share of those songs to hold out.

    Returns:
        (the training matrix without them, their rows).
    """
    rng = np.random.default_rng(rng_seed)
    cold = np.sort(rng.choice(songs_in_playlists, size=int(round(share * len(
        songs_in_playlists))), replace=False))
    keep = np.ones(train.shape[1], dtype=np.float32)
    keep[cold] = 0
    out = (train @ sp.diags(keep)).tocsr()
    out.eliminate_zeros()
    return out, cold


def evaluate_continuation(methods: dict[str, np.ndarray | SearchSpace],
                          test: sp.csr_matrix, n_seeds: int,
                          exclude: Callable[[np.ndarray], list[np.ndarray]], k: int = 10,
                          rng_seed: int = 0) -> dict[str, dict[str, float]]:
    """Playlist continuation from several songs: a supplement to the one-seed figures.

    For each held-out playlist with more than `n_seeds` catalogue songs, `n_seeds` of them
    (seeded draw) are the seeds; the query is the normalised mean of their vectors; the seeds
    and everything `exclude` returns for any of them are never recommended; a hit is one of the
    playlist's other songs. Returns hit@k, P@k and coverage per method.
    """
    rng = np.random.default_rng(rng_seed)
    test = test.tocsr()
    seed_sets, targets = [], []
    for p in range(test.shape[0]):
        songs = test.indices[test.indptr[p]:test.indptr[p + 1]]
        if len(songs) > n_seeds:
            chosen = rng.permutation(songs)[:n_seeds]
            seed_sets.append(chosen)
            targets.append(np.setdiff1d(songs, chosen))
    excluded = [np.unique(np.concatenate(exclude(s))) for s in seed_sets]
    usable = [i for i, (t, ex) in enumerate(zip(targets, excluded, strict=True))
              if np.setdiff1d(t, ex).size > 0]
    out: dict[str, dict[str, float]] = {}
    for name, method in methods.items():
        space = _space(method)
        query_base = np.asarray(space.vectors if space.queries is None else space.queries)
        queries = normalize(np.stack([query_base[seed_sets[i]].mean(axis=0) for i in usable]))
        vectors, queries = _with_penalty(np.asarray(space.vectors), queries, space.penalty)
        wanted = min(len(vectors), k + max(len(excluded[i]) for i in usable))
        _, found = faiss.knn(queries, vectors, wanted, metric=faiss.METRIC_INNER_PRODUCT)
        hits = np.zeros((len(usable), k), dtype=bool)
        recs = np.full((len(usable), k), -1, dtype=np.int64)
        for j, i in enumerate(usable):
            kept = found[j][(found[j] >= 0) & ~np.isin(found[j], excluded[i])][:k]
            recs[j, :len(kept)] = kept
            hits[j, :len(kept)] = np.isin(kept, targets[i])
        valid = recs >= 0
        out[name] = {"playlists": float(len(usable)), f"hit@{k}": float(hits.any(axis=1).mean()),
                     f"P@{k}": float(hits.mean()),
                     "coverage": float((np.bincount(recs[valid], minlength=len(vectors)) > 0)
                                       .mean())}
    return out


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


# The method a default library built with playlists recommends by.
DEFAULT_PLAYLIST_METHOD = "blended + cold-seed queries (default)"

PLAYLIST_RULES = ("strict (seed's artists and album excluded)", "seed only excluded")


def playlist_split(playlists: Any, rng_seed: int = 0, cold_share: float = 0.1,
                   test_share: float = 0.2, validation: bool = False) -> tuple[Any, Any, int]:
    """(training playlists, scored playlists, songs held out) for `playlist_evaluation`.

    Playlists are split by playlist id; a further `cold_share` of the playlist songs is
    removed from every training playlist (cold-start songs). With `validation`, the held-out
    playlists are set aside unseen and the training part is split again the same way (seed
    `rng_seed + 1`): tune there, report on the held-out playlists.

    Args:
        playlists: a `musicrec.learn.Playlists`.
    """
    from musicrec import learn

    train_rows, test_rows = split_playlists(playlists.matrix, test_share, rng_seed)
    train, test = playlists.subset(train_rows), playlists.subset(test_rows)
    if validation:
        playlists, rng_seed = train, rng_seed + 1
        train_rows, test_rows = split_playlists(train.matrix, test_share, rng_seed)
        train, test = playlists.subset(train_rows), playlists.subset(test_rows)
    in_playlists = np.flatnonzero(playlists.matrix.getnnz(axis=0) > 0)
    held_matrix, held_songs = hold_out_songs(train.matrix, in_playlists, cold_share, rng_seed)
    train = learn.Playlists(held_matrix, train.pids, train.entries, train.unknown,
                            train.files, train.extra)
    return train, test, len(held_songs)


def playlist_methods(table: pa.Table, content: np.ndarray, train: Any, config: Any
                     ) -> dict[str, np.ndarray | SearchSpace]:
    """The vectors of each method learned from `train` (a `musicrec.learn.Playlists`) with
    `config` (a `PlaylistConfig`), for `evaluate_playlists`. The default
    (`DEFAULT_PLAYLIST_METHOD`) is what a library built with these playlists recommends by;
    one more adds the hub correction a build without playlists makes (its penalty by exact
    search here), which a build with playlists leaves off (`BuildConfig.hub`)."""
    from musicrec import learn

    space = learn.fit_playlists(train, config)
    mapping = learn.fit_cold_start(content, space, config.ridge_alpha)
    part = learn.playlist_part(content, space, mapping, config.mapped_prior)
    groups = learn.Groups.from_table(table)
    popularity = learn.popularity_column(space.counts, config.popularity)
    blended = learn.blend(content, part, config.weight, popularity)
    plain = learn.blend(content, part, config.weight)
    queries = learn.query_vectors(blended, space, groups, content.shape[1], config.weight)
    hubs = DEFAULT_HUB_WEIGHT * exact_other_artist_similarity(blended, groups.primary)
    return {"content only (artist context)": content,
            "playlists only (learned; zero for songs in no playlist)": space.vectors,
            "blended, cold seeds query as stored": blended,
            "blended, no popularity dimension": SearchSpace(plain, learn.query_vectors(
                plain, space, groups, content.shape[1], config.weight)),
            DEFAULT_PLAYLIST_METHOD: SearchSpace(blended, queries),
            f"blended + cold-seed queries + hub correction {DEFAULT_HUB_WEIGHT:g}": SearchSpace(
                blended, queries, hubs),
            "content + mapped playlist part for every song": learn.blend(
                content, mapping.predict(content), config.weight)}


PLAYLIST_METRICS = {
    "hit@10": "share of seeds with another song of the seed's own held-out playlist in the "
              "top 10",
    "any-playlist hit@10": "share of seeds with a song sharing any held-out playlist with the "
                           "seed in the top 10 (the protocol of the issue's experiment)",
    "P@10": "share of the 10 slots holding another song of the seed's own playlist",
    "any-playlist P@10": "share of the 10 slots holding a song sharing any held-out playlist "
                         "with the seed",
    "recall@10": "share of the seed's own playlist's other songs found",
    "coverage": "share of the catalogue in at least one list",
    "prefix all / cold": "over every seed / over seeds in no training playlist"}


def playlist_evaluation(table: pa.Table, ids: np.ndarray, content: np.ndarray,
                        playlists_path: str | Path, rng_seed: int = 0,
                        cold_share: float = 0.1, test_share: float = 0.2,
                        config: Any = None, validation: bool = False) -> dict[str, Any]:
    """Learn from one part of the playlists and score lists on the other, per method.

    Split as `playlist_split` does. Up to 3 seeds per held-out playlist; hit@10 against the
    seed's own playlist and against any held-out playlist (`score_playlist_lists`), with the
    seed's artists and album excluded and with only the seed excluded. Methods: those of
    `playlist_methods`.

    Args:
        table: the catalogue table; ids: its track ids (n,); content: (n, d) content vectors
            (audio features and artist context), the library's vectors without playlists.
        config: a `PlaylistConfig`; None for the defaults.
        validation: score a validation split of the training playlists instead (for tuning).
    """
    from musicrec import learn

    playlists = learn.read_playlists(playlists_path, ids)
    train, test, held_songs = playlist_split(playlists, rng_seed, cold_share, test_share,
                                             validation)
    config = config or learn.PlaylistConfig()
    methods = playlist_methods(table, content, train, config)
    counts = np.asarray(train.matrix.getnnz(axis=0))
    rules = dict(zip(PLAYLIST_RULES, (lambda s: table_exclusions(table, s),
                                      lambda s: [np.array([x], np.int64) for x in s]),
                     strict=True))
    per_rule = {}
    for rule, exclude in rules.items():
        seeds = playlist_seeds(test.matrix, counts, exclude, 3, rng_seed)
        per_rule[rule] = {"seeds": len(seeds.seeds), "cold seeds": int(seeds.cold.sum()),
                          "methods": evaluate_playlists(methods, seeds, test.matrix),
                          "continuation, 5 seeds (mean query)": evaluate_continuation(
                              methods, test.matrix, 5, exclude, 10, rng_seed)}
    return {"read": playlists.summary(), "split": "validation (part of the training "
            "playlists)" if validation else "held-out playlists", "train_playlists": len(train),
            "test_playlists": len(test), "songs_held_out": held_songs,
            "config": config.model_dump(), "metrics": PLAYLIST_METRICS, "rules": per_rule}
