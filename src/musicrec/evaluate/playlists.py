"""Playlist continuation: learn on some playlists, score every seed of the held-out ones
(hit@k, P@k, recall@k; cold-start seeds apart)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import faiss
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from musicrec import learn
from musicrec.errors import MusicrecError
from musicrec.evaluate.metrics import exact_top_k_excluding, table_exclusions, with_penalty
from musicrec.features import normalize
from musicrec.hubs import DEFAULT_WEIGHT as DEFAULT_HUB_WEIGHT
from musicrec.hubs import exact_other_artist_similarity

if TYPE_CHECKING:
    pass


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
        vectors, queries = with_penalty(np.asarray(space.vectors), queries, space.penalty)
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


# The method a default library built with playlists recommends by.
DEFAULT_PLAYLIST_METHOD = "blended + cold-seed queries (default)"

PLAYLIST_RULES = ("strict (seed's artists and album excluded)", "seed only excluded")


def playlist_split(playlists: learn.Playlists, rng_seed: int = 0, cold_share: float = 0.1,
                   test_share: float = 0.2, validation: bool = False
                   ) -> tuple[learn.Playlists, learn.Playlists, int]:
    """(training playlists, scored playlists, songs held out) for `playlist_evaluation`.

    Playlists are split by playlist id; a further `cold_share` of the playlist songs is
    removed from every training playlist (cold-start songs). With `validation`, the held-out
    playlists are set aside unseen and the training part is split again the same way (seed
    `rng_seed + 1`): tune there, report on the held-out playlists.
    """
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


def playlist_methods(table: pa.Table, content: np.ndarray, train: learn.Playlists,
                     config: learn.PlaylistConfig) -> dict[str, np.ndarray | SearchSpace]:
    """The vectors of each method learned from `train` with `config`, for
    `evaluate_playlists`. The default
    (`DEFAULT_PLAYLIST_METHOD`) is what a library built with these playlists recommends by;
    one more adds the hub correction a build without playlists makes (its penalty by exact
    search here), which a build with playlists leaves off (`BuildConfig.hub`)."""
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
                        config: learn.PlaylistConfig | None = None,
                        validation: bool = False) -> dict[str, Any]:
    """Learn from one part of the playlists and score lists on the other, per method.

    Split as `playlist_split` does. Up to 3 seeds per held-out playlist; hit@10 against the
    seed's own playlist and against any held-out playlist (`score_playlist_lists`), with the
    seed's artists and album excluded and with only the seed excluded. Methods: those of
    `playlist_methods`.

    Args:
        table: the catalogue table; ids: its track ids (n,); content: (n, d) content vectors
            (audio features and artist context), the library's vectors without playlists.
        config: None for the defaults.
        validation: score a validation split of the training playlists instead (for tuning).
    """
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
