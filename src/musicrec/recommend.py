"""The recommender: seeds + targets + filters + diversity -> ranked songs with explanations.

It runs in stages, each a method with explicit inputs and outputs, testable on its own:

    resolve_seeds(request)              -> [Seed]          what each seed stands for
    queries(seeds, request)             -> (s, d) float32  one query vector per seed
    filter_mask(request)                -> (n,) bool       the hard filters, or None
    candidates(queries, k, mask, seeds, where) -> [Pool]   each seed's nearest allowed songs
    rerank(pools, request)              -> [Pick]          targets, interleave, diversity
    explain(picks, seeds, target)       -> [str]           why each song is there

Each seed is searched on its own and the results are interleaved, so with a jazz ballad and a
metal song as seeds the list holds songs like each, rather than songs like their average
(which sound like neither). Targets move the query towards the wanted values and re-rank the
candidates by how far they are from them. Hard filters (min/max) move a seed that breaks them
just inside them, and go into the index search as a mask and as the column bounds it was made
from (`musicrec.filters.Where`, for an index that filters by itself); the index returns as many
songs as asked whenever that many pass.

The recommender reads the library only through `SongSource`, so it can be tested over a few
arrays, and the library module depends on it, never the other way round.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np

from musicrec import schema
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.features import FeaturePipeline, normalize
from musicrec.filters import Where
from musicrec.index import VectorIndex
from musicrec.request import RecommendRequest

# Most candidates looked at per seed; past this the list is as good as it gets.
MAX_POOL = 2000
# Fewest: the per-artist cap and the versions rule can use up a short pool, which is then
# searched again 4x deeper. One seed, 10 songs, 1.2M synthetic songs: 20% of pools of 40 ran
# out, 8% of 60, 3% of 100; 60 measured fastest over all (the graph's beam is 192 wide).
MIN_POOL = 60
# Re-ranking: similarity lost per standard deviation away from a target value.
TARGET_PENALTY = 0.15
# Seeds standing for many songs (an artist, a genre) are profiled on at most this many.
PROFILE_SAMPLE = 2000
# Filter masks kept for reuse: a client with fixed knobs sends the same filters every time,
# and a mask over 1.2M songs costs about 1 ms to compute.
MASK_CACHE = 16
# Explanations: a feature is "similar" within CLOSE standard deviations of the seed (or target),
# and named as a difference from FAR on.
CLOSE, FAR = 0.35, 0.75
# Explanation keys (`_Reasons`): an unused place; and how many wordings of close features are
# kept per set of explained features (orderings of many targets could otherwise pile up).
NONE = 255
MAX_REASONS = 50_000
# Subtracted from a targeted feature's closeness so that targets sort before the rest.
TARGETS_FIRST = 1e6

# How a difference in each feature reads in an explanation: (higher, lower, noun).
WORDS: dict[str, tuple[str, str, str]] = {
    f.name: f.words for f in schema.EXPLAINED}  # type: ignore[misc]


class SongSource(Protocol):
    """What the recommender reads of a library; `musicrec.library.Library` provides it.

    Arrays have one entry per song (n songs, d dimensions).
    """

    vectors: np.ndarray  # float32 (n, d), unit rows
    index: VectorIndex  # over `vectors`
    pipeline: FeaturePipeline  # how raw features became the vectors
    # float32 (n,): each song's hub penalty in similarity units (`musicrec.hubs`), or None
    # for a library built without one.
    hub_penalty: np.ndarray | None

    @property
    def primary_artist(self) -> np.ndarray: ...  # int32 (n,): artist row of the first artist

    @property
    def version_key(self) -> np.ndarray: ...  # int64 (n,): equal for versions of one song

    @property
    def family_labels(self) -> np.ndarray: ...  # int16 (n,): sound family of each song

    def __len__(self) -> int: ...

    def has_column(self, name: str) -> bool: ...

    def numeric(self, name: str) -> np.ndarray: ...  # float32 (n,), NaN where unknown

    def seed_vector(self, row: int) -> np.ndarray: ...  # float32 (d,): one song as a query

    # bool (m,): which songs each query (m, d) reaches through songs people put together
    def put_together(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray: ...

    def rows_of(self, track_ids: list[str]) -> list[int | None]: ...

    def artist_row_of(self, artist_id: str) -> int | None: ...

    def rows_of_artist(self, artist_row: int) -> np.ndarray: ...

    def artist_name(self, artist_row: int) -> str: ...

    def labels(self, rows: list[int]) -> list[str]: ...  # "Title — Artist" per song

    def genre_seed(self, genre: str) -> tuple[np.ndarray, str]: ...  # rows, display name

    def tracks(self, rows: np.ndarray | list[int],
               columns: Sequence[str] | None = None) -> list[dict[str, Any]]: ...


@dataclass
class SeedInfo:
    """One seed as Spotify reports it, plus what it resolved to."""

    id: str
    type: Literal["TRACK", "ARTIST", "GENRE", "FEATURES"]
    label: str
    initial_pool_size: int = 0
    after_filtering_size: int = 0


@dataclass
class Seed:
    """A resolved seed: the songs it stands for and their mean raw features."""

    info: SeedInfo
    rows: np.ndarray  # int64: one song, an artist's songs, or a genre's examples
    profile: dict[str, float]


@dataclass
class Pool:
    """One seed's candidates, nearest first: rows (int64) and similarities (float32)."""

    rows: np.ndarray
    sims: np.ndarray


class Ranked(NamedTuple):
    """A pool's candidates in the order to take them: rows, similarities and scores."""

    rows: np.ndarray
    sims: np.ndarray
    scores: np.ndarray


@dataclass
class Pick:
    """A chosen song: which seed found it, its similarity and its score after re-ranking."""

    seed: int
    row: int
    similarity: float
    score: float


@dataclass
class Recommendation:
    track: dict[str, Any]
    score: float
    similarity: float
    seed: str
    explanation: str


@dataclass
class Recommendations:
    tracks: list[Recommendation]
    seeds: list[SeedInfo]


class Recommender:
    """Recommendations over one song source (an opened library)."""

    def __init__(self, source: SongSource, index: VectorIndex | None = None):
        """Args:
            source: the songs.
            index: search this index instead of `source.index` (exact search: the reference
                the approximate recommender is measured by).
        """
        self.src = source
        self.index = source.index if index is None else index
        self._spreads: dict[str, float] = {}
        self._masks: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._reasons: dict[tuple[tuple[str, ...], tuple[bool, ...]], _Reasons] = {}

    def recommend(self, req: RecommendRequest,
                  columns: Sequence[str] | None = None) -> Recommendations:
        """Run every stage for one request; `columns` are those the results' records hold
        (default all).

        Raises:
            InvalidQueryError: a target or filter on a column this library lacks.
            NotFoundError: a seed that is not in the library.
        """
        self.check_columns(req)
        seeds = self.resolve_seeds(req)
        queries = self.queries(seeds, req)
        mask, where = self.filter_mask(req), Where.of(req)
        pool_size = self.pool_size(req, len(seeds))
        while True:
            pools = self.candidates(queries, pool_size, mask, seeds, where)
            picks = self.rerank(pools, req)
            # The artist and version rules can use up a pool: look further before giving up.
            if len(picks) >= req.limit or pool_size >= min(MAX_POOL, len(self.src)):
                break
            pool_size = min(pool_size * 4, MAX_POOL)
        records = self.src.tracks([p.row for p in picks], columns)
        reasons = self.explain(picks, seeds, req.target, queries)
        out = [Recommendation(rec, round(p.score, 4), round(p.similarity, 4),
                              seeds[p.seed].info.id, reason)
               for rec, p, reason in zip(records, picks, reasons, strict=True)]
        out.sort(key=lambda r: -r.score)
        return Recommendations(out, [s.info for s in seeds])

    @staticmethod
    def pool_size(req: RecommendRequest, seeds: int) -> int:
        """Candidates searched per seed at first (`recommend` looks further when the rules
        use them up)."""
        # Targets re-rank the pool, so they need a deeper one to find songs near the values.
        depth = 12 if req.target else 4
        return min(max(depth * -(-req.limit // seeds), MIN_POOL), MAX_POOL)

    def check_columns(self, req: RecommendRequest) -> None:
        for name in (*req.target, *req.min, *req.max):
            if not self.src.has_column(name):
                raise InvalidQueryError(f"this library has no {name!r} data, so it cannot be "
                                        "used as a target or filter")
        if req.explicit is not None and not self.src.has_column("explicit"):
            raise InvalidQueryError("this library has no 'explicit' data to filter on")

    # --- stage 1: seeds ---------------------------------------------------------------------

    def resolve_seeds(self, req: RecommendRequest) -> list[Seed]:
        """Each seed of the request as the songs it stands for.

        Raises:
            NotFoundError: a track, artist or genre that is not in the library.
        """
        seeds = []
        found = self.src.rows_of(req.seed_tracks)
        missing = [t for t, row in zip(req.seed_tracks, found, strict=True) if row is None]
        if missing:
            raise NotFoundError(f"seed track {missing[0]!r} is not in the library")
        track_rows = np.array([row for row in found if row is not None], dtype=np.int64)
        labels = self.src.labels(track_rows.tolist()) if len(track_rows) else []
        for track_id, row, label, profile in zip(req.seed_tracks, track_rows, labels,
                                                 self._song_profiles(track_rows), strict=True):
            seeds.append(Seed(SeedInfo(track_id, "TRACK", label), row[None], profile))
        for artist_id in req.seed_artists:
            a_row = self.src.artist_row_of(artist_id)
            if a_row is None:
                raise NotFoundError(f"seed artist {artist_id!r} is not in the library")
            rows = self.src.rows_of_artist(a_row)
            seeds.append(Seed(SeedInfo(artist_id, "ARTIST", self.src.artist_name(a_row)),
                              rows, self.profile(rows)))
        for genre in req.seed_genres:
            rows, label = self.src.genre_seed(genre)
            seeds.append(Seed(SeedInfo(genre, "GENRE", label), rows, self.profile(rows)))
        for i, features in enumerate(req.seed_features):
            profile = {name: float(features.get(name, np.nan)) for name in self.src.pipeline.names}
            known = ", ".join(f"{k} {v:g}" for k, v in list(features.items())[:4])
            seeds.append(Seed(SeedInfo(f"features:{i}", "FEATURES", f"a sound with {known}"),
                              np.empty(0, dtype=np.int64), profile))
        return seeds

    def profile(self, rows: np.ndarray) -> dict[str, float]:
        """Mean raw value of each feature over the rows (one row for a track seed)."""
        names = self.src.pipeline.names
        if len(rows) == 1:
            return self._song_profiles(rows)[0]
        sample = _sample(rows)
        values = np.column_stack([self.src.numeric(name)[sample] for name in names])
        with warnings.catch_warnings():
            # A feature unknown for every sampled song (e.g. year) stays NaN: not explained.
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(values, axis=0)
        return dict(zip(names, means.tolist(), strict=True))

    def _song_profiles(self, rows: np.ndarray) -> list[dict[str, float]]:
        """Each song's own raw features (NaN where unknown), the songs read together."""
        names = self.src.pipeline.names
        columns = [self.src.numeric(name)[rows].tolist() for name in names]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    # --- stage 2: queries -------------------------------------------------------------------

    def queries(self, seeds: list[Seed], req: RecommendRequest) -> np.ndarray:
        """One unit query vector per seed, float32 (len(seeds), d): the seed moved to the
        targets, and inside the min/max filters.

        A seed whose own sound breaks a filter (a ballad with min_energy 0.8) is searched as
        the same sound with that feature at the nearest allowed value (energy 0.8), as a target
        would move it. Searching from the seed itself would rank first the songs whose
        direction happens to lean towards the forbidden value (songs average in every feature
        but that one), rather than songs like the seed; and a filtered graph search from a
        point where no song is allowed wanders through most of the graph before it finds any
        (8 to 30 ms per query over 200k songs, against 0.3 ms from inside the filters).
        """
        out = np.empty((len(seeds), self.src.vectors.shape[1]), dtype=np.float32)
        pipeline = self.src.pipeline
        in_vectors = {k: v for k, v in req.target.items() if pipeline.has(k)}
        bounded = [n for n in {*req.min, *req.max} if pipeline.has(n)]
        changes = []
        for seed in seeds:
            wanted = {**seed.profile, **in_vectors}
            moved = dict(in_vectors)
            for name in bounded:
                value = wanted.get(name, float("nan"))
                clipped = min(max(value, req.min.get(name, -np.inf)),
                              req.max.get(name, np.inf))
                if np.isfinite(value) and clipped != value:
                    moved[name] = clipped
            changes.append(moved)
        # A song seed searched as it is uses its stored vector; every other seed is rebuilt
        # from raw features, all of them at once.
        rebuilt = [i for i, (seed, moved) in enumerate(zip(seeds, changes, strict=True))
                   if moved or len(seed.rows) != 1]
        for i, seed in enumerate(seeds):
            if i not in rebuilt:
                out[i] = self.src.seed_vector(int(seed.rows[0]))
        if rebuilt:
            out[rebuilt] = self._rebuilt([seeds[i] for i in rebuilt],
                                         [changes[i] for i in rebuilt])
        return out

    def _rebuilt(self, seeds: list[Seed], replaced: list[dict[str, float]]) -> np.ndarray:
        """The seeds' vectors with some features replaced (one dict per seed), unit length,
        float32 (len(seeds), width); every step for all the seeds at once (5 seeds moved
        inside filters: 0.9 ms one by one).

        The audio-feature part is rebuilt from each seed's raw features (the mean weighted
        features of its songs, or of its own values for a sound without songs) with the
        replacements; any further part of the library's vectors (learned context, see
        `musicrec.learn`) is the seed songs' mean, and the audio part keeps the share of the
        length it has in them. A seed moved inside filters keeps its context too: its audio
        part alone ranked songs by sound whatever their kind of music, and the graph search
        from such a query, far from every song, kept 0.90 recall@10 of the exact answer for a
        filter half the songs pass (1.2M songs; 0.99 with context). A sound without songs is
        its audio part alone.
        """
        pipeline = self.src.pipeline
        d, width = len(pipeline.dims), self.src.vectors.shape[1]
        samples = [_sample(seed.rows) for seed in seeds]
        sizes = np.array([len(sample) for sample in samples])
        having = np.flatnonzero(sizes)  # the seeds with songs
        means = np.zeros((len(seeds), d), dtype=np.float32)
        if len(having):
            rows = np.concatenate([samples[i] for i in having])
            starts = np.concatenate([[0], np.cumsum(sizes[having])[:-1]])
            counts = sizes[having][:, None]
            means[having] = np.add.reduceat(self._weighted(rows), starts, axis=0) / counts
        for i in np.flatnonzero(sizes == 0):  # no songs: its own values (NaN: unknown)
            means[i] = pipeline.weighted({name: np.array([seeds[i].profile[name]])
                                          for name in pipeline.names})[0]
        audio = normalize(pipeline.apply_targets(means, replaced))
        if width == d:
            return audio
        share = np.ones(len(seeds), dtype=np.float32)
        context = np.zeros((len(seeds), width - d), dtype=np.float32)
        if len(having):
            stored = np.asarray(self.src.vectors[rows], dtype=np.float32)
            norms = np.linalg.norm(stored[:, :d], axis=1)
            share[having] = np.add.reduceat(norms, starts) / counts[:, 0]
            context[having] = np.add.reduceat(stored[:, d:], starts, axis=0) / counts
        return normalize(np.hstack([audio * share[:, None], context]))

    def _weighted(self, rows: np.ndarray) -> np.ndarray:
        """The songs' standardised, weighted audio features (not normalised), (len(rows), d)."""
        pipeline = self.src.pipeline
        return pipeline.weighted({name: self.src.numeric(name)[rows] for name in pipeline.names})

    # --- stage 3: candidates ----------------------------------------------------------------

    def filter_mask(self, req: RecommendRequest) -> np.ndarray | None:
        """Which songs pass every hard filter, bool (n,); None when there are none."""
        if not req.has_filters:
            return None
        key = (tuple(sorted(req.min.items())), tuple(sorted(req.max.items())), req.explicit,
               None if req.families is None else tuple(sorted(req.families)))
        mask = self._masks.get(key)
        if mask is None:
            mask = self._compute_mask(req)
            self._masks[key] = mask
            if len(self._masks) > MASK_CACHE:
                self._masks.popitem(last=False)
        return mask

    def _compute_mask(self, req: RecommendRequest) -> np.ndarray:
        return (Where.of(req) or Where()).mask(self.src)

    def candidates(self, queries: np.ndarray, k: int, mask: np.ndarray | None,
                   seeds: list[Seed], where: Where | None = None) -> list[Pool]:
        """Each seed's k nearest allowed songs, without the seed songs or other versions;
        `where` is the filter `mask` was made from, for an index that filters by itself."""
        ids, sims = self.index.search(queries, k, allowed=mask, where=where)
        seed_rows = np.concatenate([s.rows for s in seeds if s.info.type == "TRACK"]
                                   or [np.empty(0, np.int64)])
        seed_versions = self.src.version_key[seed_rows]  # at most 5, repeats harmless
        pools = []
        for seed, row_ids, row_sims in zip(seeds, ids, sims, strict=True):
            valid = row_ids >= 0
            rows, found = row_ids[valid], row_sims[valid]
            # A seed song is its own version, so leaving out the seeds' versions leaves out
            # the seeds too. At most 5 keys: a broadcast compare beats np.isin's sort.
            versions = self.src.version_key[rows]
            keep = ~(versions[:, None] == seed_versions[None, :]).any(axis=1)
            seed.info.initial_pool_size = len(rows)
            seed.info.after_filtering_size = int(keep.sum())
            pools.append(Pool(rows[keep], found[keep]))
        return pools

    # --- stage 4: re-rank -------------------------------------------------------------------

    def rerank(self, pools: list[Pool], req: RecommendRequest) -> list[Pick]:
        """Score each pool against the targets, then take songs from each seed in turn,
        keeping the per-artist cap, one version per song and the diversity setting."""
        return self.take(self.ranked(pools, req), req)

    def ranked(self, pools: list[Pool], req: RecommendRequest) -> list[Ranked]:
        """Each pool's candidates by their similarity less the target and hub penalties,
        best first."""
        out = []
        # Every pool's penalties in one pass (5 pools and 2 targets: 10 passes took 0.6 ms).
        rows = np.concatenate([pool.rows for pool in pools] or [np.empty(0, np.int64)])
        penalty = self.target_penalty(rows, req.target) + self.hub_penalty(rows)
        ends = np.cumsum([len(pool.rows) for pool in pools])
        for pool, mine in zip(pools, np.split(penalty, ends[:-1]), strict=True):
            scores = pool.sims - mine
            order = np.argsort(-scores, kind="stable")
            out.append(Ranked(pool.rows[order], pool.sims[order], scores[order]))
        return out

    def take(self, ranked: list[Ranked], req: RecommendRequest) -> list[Pick]:
        """Songs from each ranked pool in turn, in its order, keeping the per-artist cap, one
        version per song and the diversity setting."""
        picked: list[Pick] = []
        taken = _Taken(req.max_per_artist)
        keys = [(self.src.primary_artist[r.rows].tolist(), self.src.version_key[r.rows].tolist())
                for r in ranked]
        cursors = [0] * len(ranked)
        progressed = True
        while len(picked) < req.limit and progressed:
            progressed = False
            for s_i, (rows, sims, scores) in enumerate(ranked):
                if len(picked) >= req.limit:
                    break
                artists, versions = keys[s_i]
                eligible = taken.eligible(artists, versions, cursors[s_i],
                                          1 if req.diversity == 0 else 30)
                if not eligible:
                    cursors[s_i] = len(rows)
                    continue
                i = self._most_diverse(rows, scores, eligible, picked, req.diversity)
                # Candidates skipped so far can never become eligible again.
                cursors[s_i] = eligible[0] + (i == eligible[0])
                picked.append(Pick(s_i, int(rows[i]), float(sims[i]), float(scores[i])))
                taken.add(artists[i], versions[i])
                progressed = True
        return picked

    def target_penalty(self, rows: np.ndarray, target: dict[str, float]) -> np.ndarray:
        """float64 (len(rows),): how far each song is from the targets, in similarity units."""
        penalty = np.zeros(len(rows), dtype=np.float64)
        for name, value in target.items():
            col = self.src.numeric(name)
            spread = self._spread(name)
            far = np.abs(col[rows] - value) / spread
            penalty += TARGET_PENALTY * np.where(np.isnan(far), 3.0, far)  # unknown: 3 spreads
        return penalty

    def hub_penalty(self, rows: np.ndarray) -> np.ndarray | float:
        """float32 (len(rows),): the songs' hub penalties (`musicrec.hubs`), 0 without any."""
        penalty = self.src.hub_penalty
        return 0.0 if penalty is None else penalty[rows]

    def _spread(self, name: str) -> float:
        if name not in self._spreads:
            col = self.src.numeric(name)
            self._spreads[name] = float(np.nanstd(col[:: max(1, len(col) // 100_000)])) or 1.0
        return self._spreads[name]

    def _most_diverse(self, rows: np.ndarray, scores: np.ndarray, eligible: list[int],
                      picked: list[Pick], diversity: float) -> int:
        """The eligible candidate with the best score, less closeness to picks (MMR)."""
        if diversity == 0 or not picked:
            return eligible[0]
        cand = np.asarray(self.src.vectors[rows[eligible]])
        chosen = np.asarray(self.src.vectors[[p.row for p in picked]])
        closeness = (cand @ chosen.T).max(axis=1)
        mmr = (1 - diversity) * scores[eligible] - diversity * closeness
        return eligible[int(np.argmax(mmr))]

    # --- stage 5: explain -------------------------------------------------------------------

    @cached_property
    def _explained(self) -> tuple[list[str], np.ndarray]:
        """The features explanations speak of, and their weights in the vectors."""
        pipeline = self.src.pipeline
        names = [n for n in WORDS if pipeline.has(n)]
        weight = {f.name: f.weight for f in pipeline.features}
        return names, np.array([weight[n] for n in names])

    def explain(self, picks: list[Pick], seeds: list[Seed], target: dict[str, float],
                queries: np.ndarray) -> list[str]:
        """Short reasons: what a song was found by ("people put these together" when playlists
        brought it, otherwise its sound), then which features are close to the seed (or
        target) and which differ.

        Differences are measured on the standardised scale, so "similar tempo" means as close
        in tempo, relative to the catalogue's spread, as "similar energy" is in energy.
        """
        if not picks:
            return []
        rows = np.array([p.row for p in picks], dtype=np.int64)
        seed_of = np.array([p.seed for p in picks], dtype=np.intp)
        together = self.src.put_together(queries[seed_of], rows)
        names, weights = self._explained
        reference = np.array([[{**seed.profile, **target}[n] for n in names]
                              for seed in seeds])[seed_of]
        both = np.concatenate([np.column_stack([self.src.numeric(n)[rows] for n in names]),
                               reference])
        z = self.src.pipeline.standardize_many(names, both)
        diff = z[: len(rows)] - z[len(rows):]
        # Orderings for every song at once; the reasons are then put together from lists.
        size = np.abs(diff)
        is_close = size < CLOSE
        on_target = np.array([n in target for n in names])
        # Close features, targets first (each group closest first); a reason names every
        # targeted one and 3 others, so the key keeps no more (and repeats more often).
        kept = min(len(names), int(on_target.sum()) + 3)
        close = np.argsort(np.where(is_close, size / weights - on_target * TARGETS_FIRST,
                                    np.inf), axis=1, kind="stable")[:, :kept]
        far = np.argsort(-size, axis=1, kind="stable")[:, :2]
        picked = np.arange(len(rows))[:, None]
        is_far = size[picked, far] >= FAR
        higher = diff[picked, far] > 0
        # Each song's reason from two keys, its close features and its far ones (see
        # _Reasons), made for every song in one pass; the same few keys come up again and
        # again, and each is put into words once.
        close_keys = np.where(np.arange(kept) < is_close.sum(axis=1)[:, None], close,
                              NONE).tolist()
        far_keys = np.where(is_far, far + 16 * higher, NONE).tolist()
        context = (tuple(names), tuple(on_target.tolist()))
        reasons = self._reasons.get(context) or self._reasons.setdefault(context,
                                                                         _Reasons(*context))
        return [("people put these together; " if together_ else "")
                + reasons.text(tuple(near), tuple(away))
                for together_, near, away in zip(together.tolist(), close_keys, far_keys,
                                                 strict=True)]


def _sample(rows: np.ndarray) -> np.ndarray:
    return rows[:: max(1, len(rows) // PROFILE_SAMPLE)]


class _Reasons:
    """Reasons in words for one set of explained features (`names`), of which some are
    targets. A song's reason is made of two keys of feature indexes: those close to the
    reference (targets first, then the others; each group closest first; as many as a reason
    names) and up to two far from it (+ 16 where the song's value is higher), NONE in unused
    places. Each key's words are made once: with one key for both parts, 3 in 10 songs had a
    combination not seen before (1.2M songs)."""

    def __init__(self, names: tuple[str, ...], on_target: tuple[bool, ...]):
        self.words = [WORDS[name] for name in names]
        self.on_target = on_target
        self._near: dict[tuple[int, ...], str] = {}
        self._away: dict[tuple[int, ...], str] = {}

    def text(self, near: tuple[int, ...], away: tuple[int, ...]) -> str:
        close = self._near.get(near)
        if close is None:
            if len(self._near) > MAX_REASONS:
                self._near.clear()
            close = self._near[near] = self._close_words([i for i in near if i != NONE])
        far = self._away.get(away)
        if far is None:
            far = self._away[away] = _join([self.words[i % 16][0 if i >= 16 else 1]
                                            for i in away if i != NONE])
        if close and far:
            return f"{close}; {far}"
        return close or far or "close overall sound"

    def _close_words(self, close: list[int]) -> str:
        words, on_target = self.words, self.on_target
        parts = []
        targeted = [words[i][2] for i in close if on_target[i]]
        if targeted:
            parts.append(f"on target for {_join(targeted)}")
        similar = [words[i][2] for i in close if not on_target[i]][:3]
        if similar:
            parts.append(f"similar {_join(similar)}")
        return "; ".join(parts)


class _Taken:
    """Artists and song versions already in the list, for the diversity rules."""

    def __init__(self, max_per_artist: int | None):
        self.max_per_artist = max_per_artist
        self.per_artist: dict[int, int] = {}
        self.versions: set[int] = set()

    def add(self, artist: int, version: int) -> None:
        self.per_artist[artist] = self.per_artist.get(artist, 0) + 1
        self.versions.add(version)

    def eligible(self, artists: list[int], versions: list[int], start: int,
                 wanted: int) -> list[int]:
        """Up to `wanted` indexes from `start` on whose artist and version are still free."""
        found = []
        cap = self.max_per_artist
        for i in range(start, len(artists)):
            if versions[i] in self.versions:
                continue
            if cap is not None and self.per_artist.get(artists[i], 0) >= cap:
                continue
            found.append(i)
            if len(found) >= wanted:
                break
        return found


def _join(words: list[str]) -> str:
    if not words:
        return ""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


__all__ = ["Pick", "Pool", "Recommendation", "Recommendations", "Recommender", "Seed",
           "SeedInfo", "SongSource"]
