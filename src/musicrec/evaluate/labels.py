"""Label metrics: recommendations scored against labels people gave the songs (genre,
subgenre, playlist id), with the baselines run through the same code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import skew
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.preprocessing import StandardScaler

from musicrec.catalogue import ALIASES, AUDIO_FEATURES
from musicrec.errors import CatalogueError, MusicrecError
from musicrec.evaluate.metrics import (
    RecommendFn,
    artist_diversity,
    exact_top_k_excluding,
    exclusions,
    intra_list_diversity,
)
from musicrec.features import normalize
from musicrec.hubs import exact_other_artist_similarity
from musicrec.request import RecommendRequest

if TYPE_CHECKING:
    from musicrec.library import Library

DEFAULT_SEEDS = 2000
PLAYLIST_COLUMN = "playlist_id"
# Float64 similarity matrices hold at most this many cells at a time (128 MB).
_SIMILARITY_CELLS = 16_000_000


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
