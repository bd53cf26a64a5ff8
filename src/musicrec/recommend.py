"""The recommender: seeds + targets + filters + diversity -> ranked songs with explanations.

Each seed is searched on its own and the results are interleaved, so with a jazz ballad and a
metal song as seeds the list holds songs like each, rather than songs like their average
(which sound like neither). Targets move the query towards the wanted values and re-rank the
candidates by how far they are from them. Hard filters (min/max) are always satisfied: cheap
checks on the nearest candidates first; where too few pass, the search is repeated with the
filter inside the index, or exactly over the qualifying songs when they are few.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from musicrec.catalog import RANGES
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.features import normalize
from musicrec.index import exact_top_k

if TYPE_CHECKING:
    from musicrec.library import Library

TUNABLE = ("acousticness", "danceability", "duration_ms", "energy", "instrumentalness", "key",
           "liveness", "loudness", "mode", "popularity", "speechiness", "tempo",
           "time_signature", "valence", "year")
MAX_SEEDS = 5
# Most candidates looked at per seed; past this the list is as good as it gets.
MAX_POOL = 2000
# Below this many qualifying songs an exact scan of them beats a filtered graph search.
EXACT_SUBSET_LIMIT = 50_000
# Re-ranking: similarity lost per standard deviation away from a target value.
TARGET_PENALTY = 0.15

# How a difference in each feature reads in an explanation: (higher, lower, noun).
WORDS: dict[str, tuple[str, str, str]] = {
    "energy": ("more energetic", "calmer", "energy"),
    "danceability": ("more danceable", "less danceable", "danceability"),
    "valence": ("happier", "sadder", "mood"),
    "acousticness": ("more acoustic", "more electric", "acousticness"),
    "instrumentalness": ("more instrumental", "more vocal", "instrumentation"),
    "speechiness": ("more spoken", "more sung", "amount of speech"),
    "liveness": ("more live", "more studio", "liveness"),
    "tempo": ("faster", "slower", "tempo"),
    "loudness": ("louder", "quieter", "loudness"),
    "year": ("newer", "older", "era"),
}


class RecommendRequest(BaseModel):
    """A recommendation request, validated once here for every interface."""

    model_config = ConfigDict(extra="forbid")

    seed_tracks: list[str] = Field(default_factory=list)
    seed_artists: list[str] = Field(default_factory=list)
    seed_genres: list[str] = Field(default_factory=list)
    limit: int = Field(10, ge=1, le=100)
    target: dict[str, float] = Field(default_factory=dict)
    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)
    explicit: bool | None = None
    families: list[int] | None = None
    max_per_artist: int | None = Field(2, ge=1)
    diversity: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> RecommendRequest:
        n_seeds = len(self.seed_tracks) + len(self.seed_artists) + len(self.seed_genres)
        if not 1 <= n_seeds <= MAX_SEEDS:
            raise ValueError(f"give 1 to {MAX_SEEDS} seeds in total, got {n_seeds}")
        for kind, values in (("target", self.target), ("min", self.min), ("max", self.max)):
            for name, value in values.items():
                if name not in TUNABLE:
                    raise ValueError(f"unknown attribute {kind}_{name}; tunable: "
                                     f"{', '.join(TUNABLE)}")
                lo, hi = RANGES[name]
                if not lo <= value <= hi:
                    raise ValueError(f"{kind}_{name}={value:g} is outside {lo:g}..{hi:g}")
        for name in set(self.min) & set(self.max):
            if self.min[name] > self.max[name]:
                raise ValueError(f"min_{name}={self.min[name]:g} is above "
                                 f"max_{name}={self.max[name]:g}")
        return self


@dataclass
class SeedInfo:
    """One seed as Spotify reports it, plus what it resolved to."""

    id: str
    type: Literal["TRACK", "ARTIST", "GENRE"]
    label: str
    initial_pool_size: int = 0
    after_filtering_size: int = 0


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
    pool: dict[str, int] = field(default_factory=dict)


@dataclass
class _Seed:
    info: SeedInfo
    rows: np.ndarray
    profile: dict[str, float]
    query: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))


class Recommender:
    """Recommendations over one opened library."""

    def __init__(self, library: Library):
        self.lib = library
        self._spreads: dict[str, float] = {}

    def recommend(self, **params: Any) -> Recommendations:
        """Recommend songs; see `RecommendRequest` for the parameters.

        Raises:
            InvalidQueryError: bad parameters (message names the parameter and the value).
            NotFoundError: a seed that is not in the library.
        """
        try:
            request = RecommendRequest(**params)
        except ValueError as exc:
            raise InvalidQueryError(_first_error(exc)) from exc
        return self.run(request)

    def run(self, req: RecommendRequest) -> Recommendations:
        self._check_columns(req)
        seeds = self._resolve_seeds(req)
        for seed in seeds:
            seed.query = self._query(seed, req.target)
        # Targets re-rank the pool, so they need a deeper one to find songs near the values.
        depth = 12 if req.target else 4
        pool_size = min(max(depth * -(-req.limit // len(seeds)), 40), MAX_POOL)
        mask_cache: list[np.ndarray] = []
        while True:
            pools = self._pools(seeds, req, pool_size, mask_cache)
            picked = self._interleave(pools, req)
            # The artist and version rules can use up a pool: look further before giving up.
            if len(picked) >= req.limit or pool_size >= min(MAX_POOL, len(self.lib)):
                break
            pool_size = min(pool_size * 4, MAX_POOL)
        rows = np.array([row for _, row, _, _ in picked], dtype=np.int64)
        records = self.lib.tracks(rows)
        references = [{**seeds[seed_i].profile, **req.target} for seed_i, _, _, _ in picked]
        reasons = self.explain(rows, references, req.target) if picked else []
        out = [Recommendation(rec, round(score, 4), round(sim, 4), seeds[seed_i].info.id, reason)
               for rec, (seed_i, _, sim, score), reason in zip(records, picked, reasons,
                                                               strict=True)]
        out.sort(key=lambda r: -r.score)
        return Recommendations(out, [s.info for s in seeds],
                               {"candidates": int(sum(len(p[0]) for p in pools))})

    def _pools(self, seeds: list[_Seed], req: RecommendRequest, pool_size: int,
               mask_cache: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Each seed's candidates (rows, similarities, scores), best score first."""
        excluded_rows = np.concatenate([s.rows for s in seeds if s.info.type == "TRACK"]
                                       or [np.empty(0, np.int64)])
        excluded_versions = np.unique(self.lib.version_key[excluded_rows])
        pools = []
        for seed in seeds:
            rows, sims, seed.info.initial_pool_size = self._candidates(
                seed.query, pool_size, req, len(seeds), mask_cache)
            keep = ~np.isin(rows, excluded_rows)
            keep &= ~np.isin(self.lib.version_key[rows], excluded_versions)
            rows, sims = rows[keep], sims[keep]
            scores = sims - self._target_penalty(rows, req.target)
            order = np.argsort(-scores, kind="stable")
            seed.info.after_filtering_size = len(rows)
            pools.append((rows[order], sims[order], scores[order]))
        return pools

    def _check_columns(self, req: RecommendRequest) -> None:
        for name in (*req.target, *req.min, *req.max):
            if not self.lib.has_column(name):
                raise InvalidQueryError(f"this library has no {name!r} data, so it cannot be "
                                        "used as a target or filter")
        if req.explicit is not None and not self.lib.has_column("explicit"):
            raise InvalidQueryError("this library has no 'explicit' data to filter on")

    def _resolve_seeds(self, req: RecommendRequest) -> list[_Seed]:
        seeds = []
        for track_id in req.seed_tracks:
            row = self.lib.row_of(track_id)
            if row is None:
                raise NotFoundError(f"seed track {track_id!r} is not in the library")
            seeds.append(_Seed(SeedInfo(track_id, "TRACK", self.lib.label(row)), np.array([row]),
                               self._profile(np.array([row]))))
        for artist_id in req.seed_artists:
            a_row = self.lib.artist_row_of(artist_id)
            if a_row is None:
                raise NotFoundError(f"seed artist {artist_id!r} is not in the library")
            rows = self.lib.rows_of_artist(a_row)
            seeds.append(_Seed(SeedInfo(artist_id, "ARTIST", self.lib.artist(a_row)["name"]),
                               rows, self._profile(rows)))
        for genre in req.seed_genres:
            rows, label = self._genre_rows(genre)
            seeds.append(_Seed(SeedInfo(genre, "GENRE", label), rows, self._profile(rows)))
        return seeds

    def _genre_rows(self, genre: str) -> tuple[np.ndarray, str]:
        """Rows standing for a genre seed: a genre label's songs, or a family's best examples."""
        if self.lib.has_column("genre"):
            hit = pc.equal(pc.utf8_lower(self.lib.table.column("genre")), genre.lower())
            rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
            if len(rows):
                return rows[:: max(1, len(rows) // 2000)], genre
        family = self.lib.families.by_name_or_id(genre)
        return np.asarray(family.central_rows, dtype=np.int64), family.name

    def _profile(self, rows: np.ndarray) -> dict[str, float]:
        """Mean raw value of each feature over the rows (one row for a track seed)."""
        sample = rows[:: max(1, len(rows) // 2000)]
        names = self.lib.pipeline.names
        values = np.column_stack([self.lib.numeric(name)[sample] for name in names])
        with warnings.catch_warnings():
            # A feature unknown for every sampled song (e.g. year) stays NaN: not explained.
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(values, axis=0)
        return dict(zip(names, means.tolist(), strict=True))

    def _query(self, seed: _Seed, target: dict[str, float]) -> np.ndarray:
        if len(seed.rows) == 1 and not target:  # the stored vector is this very query
            return np.asarray(self.lib.vectors[seed.rows[0]])
        sample = seed.rows[:: max(1, len(seed.rows) // 2000)]
        columns = {name: self.lib.numeric(name)[sample] for name in self.lib.pipeline.names}
        weighted = self.lib.pipeline.weighted(columns).mean(axis=0)
        in_vectors = {k: v for k, v in target.items() if self.lib.pipeline.has(k)}
        weighted = self.lib.pipeline.apply_targets(weighted, in_vectors)
        return normalize(weighted[None, :])[0]

    def _passes(self, rows: np.ndarray | None, req: RecommendRequest) -> np.ndarray:
        """Which rows (all rows when None) satisfy every hard filter."""
        n = len(self.lib) if rows is None else len(rows)
        ok = np.ones(n, dtype=bool)
        for bounds, is_min in ((req.min, True), (req.max, False)):
            for name, value in bounds.items():
                col = self.lib.numeric(name)
                vals = col if rows is None else col[rows]
                # Bounds in float32 like the stored values, so max_energy=0.8 keeps a song
                # whose energy was given as 0.8.
                bound = np.float32(value)
                with np.errstate(invalid="ignore"):
                    ok &= (vals >= bound) if is_min else (vals <= bound)
        if req.explicit is False:
            col = self.lib.numeric("explicit")
            ok &= (col if rows is None else col[rows]) == 0
        elif req.explicit is True:
            col = self.lib.numeric("explicit")
            ok &= (col if rows is None else col[rows]) == 1
        if req.families is not None:
            labels = self.lib.families.labels
            ok &= np.isin(labels if rows is None else labels[rows], req.families)
        return ok

    def _has_filters(self, req: RecommendRequest) -> bool:
        return bool(req.min or req.max or req.explicit is not None or req.families is not None)

    def _candidates(self, query: np.ndarray, k: int, req: RecommendRequest, n_seeds: int,
                    mask_cache: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
        """Nearest songs that pass the hard filters, and how many were looked at."""
        ids, sims = self.lib.index.search(query, k)
        ids, sims = ids[0], sims[0]
        valid = ids >= 0
        ids, sims = ids[valid], sims[valid]
        if not self._has_filters(req):
            return ids, sims, len(ids)
        ok = self._passes(ids, req)
        # Enough for this seed's share of the list, with room for the artist and version rules.
        need = 3 * -(-req.limit // n_seeds)
        if ok.sum() >= need:
            return ids[ok], sims[ok], len(ids)
        if not mask_cache:
            mask_cache.append(self._passes(None, req))
        mask = mask_cache[0]
        allowed = np.flatnonzero(mask)
        if len(allowed) <= EXACT_SUBSET_LIMIT:
            ids2, sims2 = exact_top_k(self.lib.vectors, query[None, :], k, allowed)
        else:
            ids2, sims2 = self.lib.index.search(query, k, allowed=mask)
            if (ids2[0] >= 0).sum() < min(need, len(allowed)):
                # The graph search stalls when no qualifying song is near the query (a 205 BPM
                # seed with max_tempo=130): scan the qualifying songs exactly instead.
                ids2, sims2 = exact_top_k(self.lib.vectors, query[None, :], k, allowed)
        valid = ids2[0] >= 0
        return ids2[0][valid], sims2[0][valid], len(ids) + len(allowed)

    def _target_penalty(self, rows: np.ndarray, target: dict[str, float]) -> np.ndarray:
        penalty = np.zeros(len(rows), dtype=np.float64)
        for name, value in target.items():
            col = self.lib.numeric(name)
            spread = self._spread(name)
            penalty += TARGET_PENALTY * np.nan_to_num(np.abs(col[rows] - value) / spread, nan=3)
        return penalty

    def _spread(self, name: str) -> float:
        if name not in self._spreads:
            col = self.lib.numeric(name)
            self._spreads[name] = float(np.nanstd(col[:: max(1, len(col) // 100_000)])) or 1.0
        return self._spreads[name]

    def _interleave(self, pools: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    req: RecommendRequest) -> list[tuple[int, int, float, float]]:
        """Take songs from each seed's list in turn, keeping the diversity rules."""
        picked: list[tuple[int, int, float, float]] = []
        taken = _Taken(req.max_per_artist)
        keys = [(self.lib.primary_artist[rows].tolist(), self.lib.version_key[rows].tolist())
                for rows, _, _ in pools]
        cursors = [0] * len(pools)
        progressed = True
        while len(picked) < req.limit and progressed:
            progressed = False
            for s_i, (rows, sims, scores) in enumerate(pools):
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
                picked.append((s_i, int(rows[i]), float(sims[i]), float(scores[i])))
                taken.add(artists[i], versions[i])
                progressed = True
        return picked

    def _most_diverse(self, rows: np.ndarray, scores: np.ndarray, eligible: list[int],
                      picked: list[tuple[int, int, float, float]], diversity: float) -> int:
        """The eligible candidate with the best score, less closeness to picks (MMR)."""
        if diversity == 0 or not picked:
            return eligible[0]
        cand = np.asarray(self.lib.vectors[rows[eligible]])
        chosen = np.asarray(self.lib.vectors[[row for _, row, _, _ in picked]])
        closeness = (cand @ chosen.T).max(axis=1)
        mmr = (1 - diversity) * scores[eligible] - diversity * closeness
        return eligible[int(np.argmax(mmr))]

    def explain(self, rows: np.ndarray, references: list[dict[str, float]],
                target: dict[str, float]) -> list[str]:
        """Short reasons: which features are close to each row's reference and which differ.

        Differences are measured on the standardised scale, so "similar tempo" means as close
        in tempo, relative to the catalogue's spread, as "similar energy" is in energy.
        """
        names = [n for n in WORDS if self.lib.pipeline.has(n) and n in references[0]]
        weights = {f.name: f.weight for f in self.lib.pipeline.features}
        diff = np.empty((len(rows), len(names)))
        for j, name in enumerate(names):
            ref = np.array([r[name] for r in references])
            both = np.concatenate([self.lib.numeric(name)[rows], ref])
            z = self.lib.pipeline.standardize(name, both)
            diff[:, j] = z[: len(rows)] - z[len(rows):]
        return [self._reason(names, d, weights, target) for d in diff]

    @staticmethod
    def _reason(names: list[str], diff: np.ndarray, weights: dict[str, float],
                target: dict[str, float]) -> str:
        close = sorted((i for i in range(len(names)) if abs(diff[i]) < 0.35),
                       key=lambda i: abs(diff[i]) / weights.get(names[i], 1.0))
        far = sorted((i for i in range(len(names)) if abs(diff[i]) >= 0.75),
                     key=lambda i: -abs(diff[i]))
        parts = []
        on_target = [WORDS[names[i]][2] for i in close if names[i] in target]
        if on_target:
            parts.append(f"on target for {_join(on_target)}")
        similar = [WORDS[names[i]][2] for i in close if names[i] not in target][:3]
        if similar:
            parts.append(f"similar {_join(similar)}")
        if far:
            parts.append(_join([WORDS[names[i]][0 if diff[i] > 0 else 1] for i in far[:2]]))
        return "; ".join(parts) if parts else "close overall sound"


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
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)


__all__ = ["RecommendRequest", "Recommendation", "Recommendations", "Recommender", "SeedInfo",
           "TUNABLE"]
