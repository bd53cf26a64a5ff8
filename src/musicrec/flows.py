"""Flows built on the recommender: continue a playlist, journeys between two songs.

Each flow is one function over an opened library, taking a validated request model shared by
the CLI, the API and the app, and returning catalogue rows:

    continue_playlist(lib, rows, ContinueRequest)  -> rows   songs that fit a whole playlist
    journey(lib, JourneyRequest)                    -> rows   FROM, smooth steps, TO

(the radio is in `musicrec.radio`). Every flow leaves out the artists and albums its request
excludes, and puts its songs in the order asked for (`musicrec.sequence`: smooth transitions
by default), keeping an artist window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from musicrec import sequence
from musicrec.albums import Albums
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.filters import Where
from musicrec.playlist_files import track_id_of
from musicrec.request import RecommendRequest, first_error
from musicrec.sequence import Order

if TYPE_CHECKING:
    from musicrec.library import Library

M = TypeVar("M", bound=BaseModel)
MIN_PLAYLIST = 1
MAX_PLAYLIST = 500
MAX_ADD = 100
MAX_JOURNEY = 100
MAX_EXCLUDED = 50  # artists, and albums, a request (or a station) leaves out
MAX_GAP = 200
GAP_HELP = "After a song, its artist is not played again for this many songs (0: no window)."


class Exclusions(BaseModel):
    """Artists and albums a flow leaves out."""

    model_config = ConfigDict(extra="forbid")

    exclude_artists: list[str] = Field(default_factory=list, max_length=MAX_EXCLUDED,
                                       description="Artists to leave out, by id or exact name: "
                                                   "no song they appear on.")
    exclude_albums: list[str] = Field(default_factory=list, max_length=MAX_EXCLUDED,
                                      description="Albums to leave out, by id.")

    def resolved(self, lib: Library) -> tuple[list[int], list[int]]:
        """(artist rows, album codes) of the exclusions.

        Raises:
            NotFoundError: an artist or album that is not in the library.
        """
        return ([_artist_row(lib, text) for text in self.exclude_artists],
                [_album_code(lib, text) for text in self.exclude_albums])


def _artist_row(lib: Library, text: str) -> int:
    """An artist by id, or by exact name (letter case aside)."""
    row = lib.artist_row_of(text.strip())
    if row is None:
        named = (a for a in lib.search_artists(text, 10).items
                 if a["name"].casefold() == text.strip().casefold())
        row = next((lib.artist_row_of(a["id"]) for a in named), None)
    if row is None:
        raise NotFoundError(f"artist {text!r} is not in the library (give its id or its "
                            "exact name)")
    return row


def _album_code(lib: Library, album_id: str) -> int:
    code = Albums.of(lib).code_of(album_id.strip())
    if code is None:
        raise NotFoundError(f"album {album_id!r} is not in the library")
    return code


def excluded_songs(lib: Library, artists: Sequence[int], albums: Sequence[int]
                   ) -> np.ndarray | None:
    """bool (n,): the songs of these artists (any credit) and albums; None for none."""
    if not artists and not albums:
        return None
    out = np.zeros(len(lib), dtype=bool)
    for artist in artists:
        out[lib.rows_of_artist(artist)] = True
    for album in albums:
        out[Albums.of(lib).rows(album)] = True
    return out


class Filters(Exclusions):
    """Hard filters of a flow, with `RecommendRequest`'s names and checks, and exclusions."""

    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)
    explicit: bool | None = None

    def allowed(self, lib: Library, seed_id: str) -> tuple[np.ndarray | None, Where | None]:
        """bool (n,): the songs passing every filter, and the `Where` it was made from, to
        search with (`VectorIndex.search`); (None, None) when there are none.

        Raises:
            InvalidQueryError: an unknown feature, a value out of range, min above max, or a
                column this library lacks (checked as the recommender checks them); no song
                left.
            NotFoundError: an excluded artist or album that is not in the library.
        """
        req = RecommendRequest.parse(seed_tracks=[seed_id], min=self.min, max=self.max,
                                     explicit=self.explicit)
        rec = lib.recommender()
        rec.check_columns(req)
        mask, where = rec.filter_mask(req), Where.of(req)
        excluded = excluded_songs(lib, *self.resolved(lib))
        if excluded is not None:
            # No index holds the exclusions as columns: each applies the mask itself.
            mask, where = (~excluded if mask is None else mask & ~excluded), None
        if mask is not None and not mask.any():
            raise InvalidQueryError("no song is left once the filters and exclusions apply")
        return mask, where


class ContinueRequest(Filters):
    """How to continue a playlist."""

    count: int = Field(20, ge=1, le=MAX_ADD)
    max_per_artist: int | None = Field(2, ge=1)
    artist_gap: int = Field(1, ge=0, le=MAX_GAP, description=GAP_HELP)
    order: Order = Field(sequence.DEFAULT_ORDER, description=sequence.ORDER_HELP)


class JourneyRequest(Filters):
    """A journey from one song to another, `length` songs including both ends."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    length: int = Field(12, ge=3, le=MAX_JOURNEY)
    order: Order = Field(sequence.DEFAULT_ORDER, description=sequence.ORDER_HELP)
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _distinct(self) -> JourneyRequest:
        if self.start == self.end:
            raise ValueError("a journey needs two different songs")
        return self


def parse(model: type[M], **params: object) -> M:
    """Validate flow parameters, raising InvalidQueryError with the first problem."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise InvalidQueryError(first_error(exc)) from exc


def rows_of_ids(lib: Library, ids: Sequence[str], what: str = "track") -> list[int]:
    """Rows of track ids (Spotify URIs and links accepted), in order.

    Raises:
        NotFoundError: an id that is not in the library.
    """
    clean = [track_id_of(i) or i for i in ids]
    rows = lib.rows_of(clean)
    for track_id, row in zip(clean, rows, strict=True):
        if row is None:
            raise NotFoundError(f"{what} {track_id!r} is not in the library")
    return [int(r) for r in rows if r is not None]


# --- continue a playlist ------------------------------------------------------------------

# Kernel width of the playlist's density, in cosine units: a candidate's score is the mean of
# exp((cos - 1) / TAU) over the playlist's songs. On the MPD sample (flows_quality.py, 1,786
# playlists) R-precision / NDCG@100 were 0.0061 / 0.0186 at 0.02, 0.0066 / 0.0204 at 0.05,
# 0.0069 / 0.0206 at 0.1 and 0.0060 / 0.0206 at 0.2.
TAU = 0.1
# Nearest neighbours fetched per playlist song, and per cluster centre per added song.
PER_SONG = 20
PER_CENTRE = 4
MAX_POOL = 4000


def continue_playlist(lib: Library, rows: Sequence[int], req: ContinueRequest,
                      spread: bool = True) -> list[int]:
    """Songs that fit a playlist: `req.count` rows, in `req.order`.

    The playlist's songs are grouped into a few sound clusters (spherical k-means); the
    additions are shared among the clusters in proportion to their sizes, and within each
    cluster ranked by a kernel density over all the playlist's songs, so a playlist of half
    ballads and half rock gets both, rather than songs like its average (which sound like
    neither). No song of the playlist, no other version of one, at most `max_per_artist`
    songs by one artist, every filter and exclusion respected; then put in `req.order` after
    the playlist's last song (`musicrec.sequence`), keeping the artist window.

    Args:
        rows: the playlist's library rows, 1 to 500 distinct.
        spread: share the additions among the clusters (False: density order only; kept for
            the benchmark).

    Raises:
        InvalidQueryError: too few or too many songs, bad filters, or no song left.
        NotFoundError: an excluded artist or album that is not in the library.
    """
    playlist = np.unique(np.asarray(rows, dtype=np.int64))
    if not MIN_PLAYLIST <= len(playlist) <= MAX_PLAYLIST:
        raise InvalidQueryError(f"a playlist to continue has {MIN_PLAYLIST} to {MAX_PLAYLIST} "
                                f"songs in this library, got {len(playlist)}")
    mask, where = req.allowed(lib, str(lib.tracks([int(playlist[0])])[0]["id"]))
    vectors = np.asarray(lib.vectors[playlist], dtype=np.float32)
    centres, assignment = _spherical_kmeans(vectors, _cluster_count(len(playlist)))
    mix, count = sequence.Mix.of(lib), sequence.pool_size(req.order, req.count)
    depth = 1
    while True:
        picked = _continue(lib, playlist, vectors, centres, assignment, req, count, mask,
                           where, spread, depth)
        ordered = sequence.arrange(mix, picked, req.count, req.order, before=rows,
                                   artists=lib.primary_artist, gap=req.artist_gap)
        # The artist cap, the versions and the window can use up the candidates: look further.
        if len(ordered) >= req.count or depth >= 16:
            break
        depth *= 4
    if not ordered:
        raise InvalidQueryError("no song is left to add once the filters and exclusions apply")
    return ordered


def _continue(lib: Library, playlist: np.ndarray, vectors: np.ndarray, centres: np.ndarray,
              assignment: np.ndarray, req: ContinueRequest, count: int,
              mask: np.ndarray | None, where: Where | None, spread: bool,
              depth: int) -> list[int]:
    """`count` songs for the playlist, best first."""
    per_song = min(MAX_POOL, depth * max(PER_SONG, -(-count * 3 // len(playlist))))
    ids, _ = lib.index.search(np.vstack([vectors, centres]), per_song, allowed=mask,
                              where=where)
    more, _ = lib.index.search(centres, min(MAX_POOL, depth * (PER_CENTRE * count + 20)),
                               allowed=mask, where=where)
    cand = np.unique(np.concatenate([ids.ravel(), more.ravel()]))
    cand = cand[cand >= 0]
    versions = lib.version_key
    cand = cand[~np.isin(cand, playlist) & ~np.isin(versions[cand], versions[playlist])]
    if not len(cand):
        return []
    cv = np.asarray(lib.vectors[cand], dtype=np.float32)
    score = np.exp((cv @ vectors.T - 1.0) / TAU).mean(axis=1)
    order = np.argsort(-score, kind="stable")
    cand, cv, score = cand[order], cv[order], score[order]
    taken = _Cap(req.max_per_artist, lib.primary_artist, versions)
    if not spread or len(centres) == 1:
        return taken.fill(cand, count)
    cluster = np.argmax(cv @ centres.T, axis=1)
    quota = _quotas(np.bincount(assignment, minlength=len(centres)), count)
    picked: list[int] = []
    for c in np.argsort(-quota, kind="stable"):
        picked += taken.fill(cand[cluster == c], int(quota[c]))
    # A cluster with too few candidates leaves places: fill them in density order.
    picked += taken.fill(cand, count - len(picked))
    by_score = {int(r): i for i, r in enumerate(cand)}
    return sorted(picked, key=by_score.__getitem__)


def mean_vector_baseline(lib: Library, rows: Sequence[int], count: int) -> list[int]:
    """The simple baseline: songs nearest the playlist's mean vector (no artist cap)."""
    playlist = np.unique(np.asarray(rows, dtype=np.int64))
    query = np.asarray(lib.vectors[playlist], dtype=np.float32).mean(axis=0)
    query /= max(float(np.linalg.norm(query)), 1e-12)
    ids, _ = lib.index.search(query[None, :], count + len(playlist))
    found = ids[0][(ids[0] >= 0) & ~np.isin(ids[0], playlist)]
    return [int(r) for r in found[:count]]


def _cluster_count(n: int) -> int:
    # About one cluster per 3-4 songs' square: 10 songs -> 2, 50 -> 4, 200+ -> 8.
    return int(min(8, max(1, round(np.sqrt(n / 3)))))


def _spherical_kmeans(x: np.ndarray, k: int, iterations: int = 12) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """Unit centres (k, d) and each row's cluster (n,), deterministic: farthest-first start."""
    k = min(k, len(x))
    first = int(np.argmax(x @ x.mean(axis=0)))
    chosen = [first]
    closest = x @ x[first]
    for _ in range(1, k):
        nxt = int(np.argmin(closest))
        chosen.append(nxt)
        closest = np.maximum(closest, x @ x[nxt])
    centres = x[chosen].copy()
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(iterations):
        labels = np.argmax(x @ centres.T, axis=1)
        for c in range(k):
            members = x[labels == c]
            if len(members):
                mean = members.sum(axis=0)
                centres[c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return centres.astype(np.float32), labels


def _quotas(sizes: np.ndarray, count: int) -> np.ndarray:
    """Largest-remainder shares of `count` in proportion to `sizes`."""
    exact = sizes / sizes.sum() * count
    quota = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - quota), kind="stable")[:count - int(quota.sum())]:
        quota[i] += 1
    return quota


class _Cap:
    """Songs taken so far: one version per song, at most `cap` per primary artist."""

    def __init__(self, cap: int | None, artists: np.ndarray, versions: np.ndarray):
        self.cap, self.artists, self.versions = cap, artists, versions
        self.per_artist: dict[int, int] = {}
        self.seen_versions: set[int] = set()
        self.rows: set[int] = set()

    def fill(self, rows: np.ndarray, count: int) -> list[int]:
        out: list[int] = []
        for row in rows.tolist():
            if len(out) >= count:
                break
            artist, version = int(self.artists[row]), int(self.versions[row])
            if row in self.rows or version in self.seen_versions:
                continue
            if self.cap is not None and self.per_artist.get(artist, 0) >= self.cap:
                continue
            self.rows.add(row)
            self.seen_versions.add(version)
            self.per_artist[artist] = self.per_artist.get(artist, 0) + 1
            out.append(row)
        return out


# --- journeys -----------------------------------------------------------------------------

# Candidates per step, and how much staying near the straight path counts against short
# steps. Penalties large enough to act as rules whenever any path keeps them.
JOURNEY_CANDIDATES = 40
PATH_WEIGHT = 1.0
SAME_ARTIST = 100.0
MIN_STEP_ARTISTS = 3
# A step away from the destination costs this much plus 10 per unit of cosine lost; with only
# the proportional part, 31 of 2,200 steps (200 journeys) went slightly backwards; with the
# fixed part 11, where no nearer candidate was left.
BACKWARDS = 1.0
# Weight of a transition's cost (`musicrec.sequence.Mix.cost`) in a smooth journey's steps:
# most of the smooth transitions for the least longer steps (docs/quality.md).
JOURNEY_MIX = 0.02


def journey(lib: Library, req: JourneyRequest) -> list[int]:
    """`req.length` rows from `req.start` to `req.end`: each step close to the last, nearer
    the destination than the one before, never the same artist twice in a row, no song (or
    other version of one) twice, and the songs between the ends inside the filters and
    exclusions.

    The steps are chosen together, not one at a time: each step has candidates near its
    point on the great circle from start to end (slerp), split so that no song is a candidate
    for two steps, and a Viterbi pass picks the path with the least total step distance plus
    distance from the circle, with the rules as large penalties; ordered `smooth`, plus the
    cost of each transition (`musicrec.sequence`). The other orders but `relevance` then
    re-order the songs between the ends.

    Raises:
        NotFoundError: an end, or an excluded artist or album, that is not in the library.
        InvalidQueryError: bad filters, or fewer allowed songs than steps.
    """
    a, b = rows_of_ids(lib, [req.start, req.end])
    mask, where = req.allowed(lib, req.start)
    va, vb = (np.asarray(lib.vectors[r], dtype=np.float32) for r in (a, b))
    inner = req.length - 2
    points = _slerp(va, vb, np.arange(1, inner + 1) / (inner + 1))
    steps = _journey_steps(lib, a, b, points, mask, where)
    if not all(len(s) for s in steps):
        raise InvalidQueryError(f"too few songs pass the filters for a journey of "
                                f"{req.length} songs")
    mix = sequence.Mix.of(lib)
    smooth = req.order == "smooth" and mix.reads("smooth")
    path = _viterbi(lib, a, b, steps, points, mix if smooth else None)
    if req.order not in ("smooth", "relevance"):
        path = sequence.arrange(mix, path, inner, req.order, before=[a], after=b,
                                artists=lib.primary_artist, gap=1)
    return [a, *path, b]


def _journey_steps(lib: Library, a: int, b: int, points: np.ndarray, mask: np.ndarray | None,
                   where: Where | None) -> list[np.ndarray]:
    """Each step's candidate rows, none a candidate for two steps (`_disjoint`)."""
    versions, artists = lib.version_key, lib.primary_artist
    k = JOURNEY_CANDIDATES
    while True:
        ids, sims = lib.index.search(points, k, allowed=mask, where=where)
        steps = _disjoint(ids, sims, versions, {int(versions[a]), int(versions[b])}, {a, b})
        # With artist context in the vectors a song's nearest neighbours are often all by its
        # own artist: look further until every step offers a few artists to alternate.
        varied = all(len(np.unique(artists[s])) >= MIN_STEP_ARTISTS for s in steps)
        if (all(len(s) for s in steps) and varied) or k >= min(len(lib), 4000):
            return steps
        k *= 4


def _viterbi(lib: Library, a: int, b: int, steps: list[np.ndarray], points: np.ndarray,
             mix: sequence.Mix | None) -> list[int]:
    """The cheapest path from `a` through one candidate of each step to `b`."""
    end = np.asarray(lib.vectors[b], dtype=np.float32)
    prev, cost = np.array([a]), np.zeros(1)  # cost[j]: the cheapest path to candidate j
    back: list[np.ndarray] = []
    for rows, point in zip(steps, points, strict=True):
        unary = PATH_WEIGHT * (1.0 - np.asarray(lib.vectors[rows], dtype=np.float32) @ point)
        total = cost[:, None] + _pair_cost(lib, end, mix, prev, rows)
        back.append(np.argmin(total, axis=0))
        cost = total[back[-1], np.arange(len(rows))] + unary
        prev = rows
    j = int(np.argmin(cost + _pair_cost(lib, end, mix, prev, np.array([b]))[:, 0]))
    path = []
    for i in range(len(steps) - 1, -1, -1):
        path.append(int(steps[i][j]))
        j = int(back[i][j])
    return path[::-1]


def _pair_cost(lib: Library, end: np.ndarray, mix: sequence.Mix | None, x: np.ndarray,
               y: np.ndarray) -> np.ndarray:
    """(len(x), len(y)): step distance, the penalties for breaking the rules and, with `mix`,
    the cost of the transition."""
    vx, vy = (np.asarray(lib.vectors[rows], dtype=np.float32) for rows in (x, y))
    cost = 1.0 - vx @ vy.T
    cost += SAME_ARTIST * (lib.primary_artist[x][:, None] == lib.primary_artist[y][None, :])
    lost = (vx @ end)[:, None] - (vy @ end)[None, :]
    cost += (lost > 0) * (BACKWARDS + 10.0 * lost)
    if mix is not None:
        cost += JOURNEY_MIX * mix.cost(x[:, None], y[None, :])
    return cost


def _slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Unit points (len(t), d) along the great circle from a to b."""
    angle = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if angle < 1e-4:
        out = (1 - t)[:, None] * a + t[:, None] * b
    else:
        out = (np.sin((1 - t) * angle)[:, None] * a + np.sin(t * angle)[:, None] * b) \
            / np.sin(angle)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(out, dtype=np.float32)


def _disjoint(ids: np.ndarray, sims: np.ndarray, versions: np.ndarray, banned_versions: set[int],
              banned_rows: set[int]) -> list[np.ndarray]:
    """Each step's candidate rows, so that no song and no version is a candidate twice: a
    song found for several steps stays with the step whose point it is nearest."""
    best: dict[int, tuple[float, int, int]] = {}  # version -> (similarity, step, row)
    for step in range(len(ids)):
        for row, sim in zip(ids[step].tolist(), sims[step].tolist(), strict=True):
            if row < 0 or row in banned_rows:
                continue
            version = int(versions[row])
            if version in banned_versions:
                continue
            if version not in best or sim > best[version][0]:
                best[version] = (sim, step, row)
    out: list[list[int]] = [[] for _ in range(len(ids))]
    for _, step, row in best.values():
        out[step].append(row)
    return [np.array(sorted(rows), dtype=np.int64) for rows in out]


__all__ = ["ContinueRequest", "Exclusions", "Filters", "JourneyRequest", "continue_playlist",
           "excluded_songs", "journey", "mean_vector_baseline", "rows_of_ids"]
