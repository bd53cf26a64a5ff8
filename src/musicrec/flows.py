"""Flows built on the recommender: continue a playlist, journeys between two songs, radio.

Each flow is one function over an opened library, taking a validated request model shared by
the CLI, the API and the app, and returning catalogue rows:

    continue_playlist(lib, rows, ContinueRequest)  -> rows   songs that fit a whole playlist
    journey(lib, JourneyRequest)                    -> rows   FROM, smooth steps, TO
    radio_next(lib, RadioState, count, ...)         -> rows   the next songs of a station

A radio station's whole state (seeds, songs played, likes and skips) travels in an opaque
cursor (`encode_cursor` / `decode_cursor`), so a server needs no session store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.filters import Where
from musicrec.playlist_files import track_id_of
from musicrec.request import MAX_SEEDS, RecommendRequest, first_error

if TYPE_CHECKING:
    from musicrec.library import Library

M = TypeVar("M", bound=BaseModel)
MIN_PLAYLIST = 1
MAX_PLAYLIST = 500
MAX_ADD = 100
MAX_JOURNEY = 100


class Filters(BaseModel):
    """Hard filters of a flow, with `RecommendRequest`'s names and checks."""

    model_config = ConfigDict(extra="forbid")

    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)
    explicit: bool | None = None

    def allowed(self, lib: Library, seed_id: str) -> tuple[np.ndarray | None, Where | None]:
        """bool (n,): the songs passing every filter, and the `Where` it was made from, to
        search with (`VectorIndex.search`); (None, None) when there are none.

        Raises:
            InvalidQueryError: an unknown feature, a value out of range, min above max, or a
                column this library lacks (checked as the recommender checks them).
        """
        req = RecommendRequest.parse(seed_tracks=[seed_id], min=self.min, max=self.max,
                                     explicit=self.explicit)
        rec = lib.recommender()
        rec.check_columns(req)
        return rec.filter_mask(req), Where.of(req)


class ContinueRequest(Filters):
    """How to continue a playlist."""

    count: int = Field(20, ge=1, le=MAX_ADD)
    max_per_artist: int | None = Field(2, ge=1)


class JourneyRequest(Filters):
    """A journey from one song to another, `length` songs including both ends."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    length: int = Field(12, ge=3, le=MAX_JOURNEY)
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
    """Songs that fit a playlist: `req.count` rows, best first.

    The playlist's songs are grouped into a few sound clusters (spherical k-means); the
    additions are shared among the clusters in proportion to their sizes, and within each
    cluster ranked by a kernel density over all the playlist's songs, so a playlist of half
    ballads and half rock gets both, rather than songs like its average (which sound like
    neither). No song of the playlist, no other version of one, at most `max_per_artist`
    songs by one artist, and every filter respected.

    Args:
        rows: the playlist's library rows, 1 to 500 distinct.
        spread: share the additions among the clusters (False: density order only; kept for
            the benchmark).

    Raises:
        InvalidQueryError: too few or too many songs, or bad filters.
    """
    playlist = np.unique(np.asarray(rows, dtype=np.int64))
    if not MIN_PLAYLIST <= len(playlist) <= MAX_PLAYLIST:
        raise InvalidQueryError(f"a playlist to continue has {MIN_PLAYLIST} to {MAX_PLAYLIST} "
                                f"songs in this library, got {len(playlist)}")
    mask, where = req.allowed(lib, str(lib.tracks([int(playlist[0])])[0]["id"]))
    vectors = np.asarray(lib.vectors[playlist], dtype=np.float32)
    centres, assignment = _spherical_kmeans(vectors, _cluster_count(len(playlist)))
    depth = 1
    while True:
        picked = _continue(lib, playlist, vectors, centres, assignment, req, mask, where,
                           spread, depth)
        # The artist cap and the versions can use up the candidates: look further first.
        if len(picked) >= req.count or depth >= 16:
            return picked
        depth *= 4


def _continue(lib: Library, playlist: np.ndarray, vectors: np.ndarray, centres: np.ndarray,
              assignment: np.ndarray, req: ContinueRequest, mask: np.ndarray | None,
              where: Where | None, spread: bool, depth: int) -> list[int]:
    per_song = min(MAX_POOL, depth * max(PER_SONG, -(-req.count * 3 // len(playlist))))
    ids, _ = lib.index.search(np.vstack([vectors, centres]), per_song, allowed=mask,
                              where=where)
    more, _ = lib.index.search(centres, min(MAX_POOL, depth * (PER_CENTRE * req.count + 20)),
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
        return taken.fill(cand, req.count)
    cluster = np.argmax(cv @ centres.T, axis=1)
    quota = _quotas(np.bincount(assignment, minlength=len(centres)), req.count)
    picked: list[int] = []
    for c in np.argsort(-quota, kind="stable"):
        picked += taken.fill(cand[cluster == c], int(quota[c]))
    # A cluster with too few candidates leaves places: fill them in density order.
    picked += taken.fill(cand, req.count - len(picked))
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


def journey(lib: Library, req: JourneyRequest) -> list[int]:
    """`req.length` rows from `req.start` to `req.end`: each step close to the last, nearer
    the destination than the one before, never the same artist twice in a row, no song (or
    other version of one) twice, and the songs between the ends inside the filters.

    The steps are chosen together, not one at a time: each step has candidates near its
    point on the great circle from start to end (slerp), split so that no song is a candidate
    for two steps, and a Viterbi pass picks the path with the least total step distance plus
    distance from the circle, with the rules as large penalties.

    Raises:
        NotFoundError: an end that is not in the library.
        InvalidQueryError: bad filters, or fewer allowed songs than steps.
    """
    a, b = rows_of_ids(lib, [req.start, req.end])
    mask, where = req.allowed(lib, req.start)
    va, vb = (np.asarray(lib.vectors[r], dtype=np.float32) for r in (a, b))
    inner = req.length - 2
    points = _slerp(va, vb, np.arange(1, inner + 1) / (inner + 1))
    versions, artists = lib.version_key, lib.primary_artist
    k = JOURNEY_CANDIDATES
    while True:
        ids, sims = lib.index.search(points, k, allowed=mask, where=where)
        steps = _disjoint(ids, sims, versions, {int(versions[a]), int(versions[b])}, {a, b})
        # With artist context in the vectors a song's nearest neighbours are often all by its
        # own artist: look further until every step offers a few artists to alternate.
        varied = all(len(np.unique(artists[s])) >= MIN_STEP_ARTISTS for s in steps)
        if (all(len(s) for s in steps) and varied) or k >= min(len(lib), 4000):
            break
        k *= 4
    if not all(len(s) for s in steps):
        raise InvalidQueryError(f"too few songs pass the filters for a journey of "
                                f"{req.length} songs")
    vecs = [np.asarray(lib.vectors[s], dtype=np.float32) for s in steps]
    to_end = [v @ vb for v in vecs]
    # Viterbi: cost[i][j] is the cheapest path from the start to candidate j of step i.
    prev_vec, prev_art, prev_end = va[None, :], np.array([artists[a]]), np.array([va @ vb])
    cost = np.zeros(1)
    back: list[np.ndarray] = []
    for i in range(inner):
        unary = PATH_WEIGHT * (1.0 - vecs[i] @ points[i])
        pair = _pair_cost(prev_vec, prev_art, prev_end, vecs[i], artists[steps[i]], to_end[i])
        total = cost[:, None] + pair
        back.append(np.argmin(total, axis=0))
        cost = total[back[-1], np.arange(len(steps[i]))] + unary
        prev_vec, prev_art, prev_end = vecs[i], artists[steps[i]], to_end[i]
    last = cost + _pair_cost(prev_vec, prev_art, prev_end, vb[None, :],
                             np.array([artists[b]]), np.array([1.0]))[:, 0]
    j = int(np.argmin(last))
    path = []
    for i in range(inner - 1, -1, -1):
        path.append(int(steps[i][j]))
        j = int(back[i][j])
    return [a, *reversed(path), b]


def _pair_cost(x: np.ndarray, x_art: np.ndarray, x_end: np.ndarray, y: np.ndarray,
               y_art: np.ndarray, y_end: np.ndarray) -> np.ndarray:
    """(len(x), len(y)): step distance plus the penalties for breaking the rules."""
    cost = 1.0 - x @ y.T
    cost += SAME_ARTIST * (x_art[:, None] == y_art[None, :])
    lost = x_end[:, None] - y_end[None, :]
    cost += (lost > 0) * (BACKWARDS + 10.0 * lost)
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


# --- radio --------------------------------------------------------------------------------

# Artists of this many latest songs are not played again: at 30, 50 songs from one seed held
# 41 to 50 artists (50 stations on the 30k songs); at 50 every station holds 50.
RECENT_ARTISTS = 50
# The query: seeds, the latest songs (most recent weighs most), likes, minus skips.
RECENT_SONGS = 5
RECENT_DECAY = 0.6
SEED_WEIGHT = 1.0
RECENT_WEIGHT = 0.8
LIKE_WEIGHT = 0.6
# 0.4 no longer moved a station away from a skip once the vectors carried the artist context.
SKIP_WEIGHT = 0.6
# Songs near a skipped song lose this much score per unit of cosine similarity above 0.9.
SKIP_PENALTY = 2.0
# The next song is drawn among this many best, so a station does not settle on one sound.
CHOICES = 4
# A session remembers this many songs (never repeated) and this much feedback.
MAX_PLAYED = 2000
MAX_FEEDBACK = 50
CURSOR_VERSION = 1


@dataclass
class RadioState:
    """A station: its seeds, every song played (oldest first), likes and skips (rows)."""

    seeds: list[int]
    played: list[int] = field(default_factory=list)
    liked: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 1 <= len(self.seeds) <= MAX_SEEDS:
            raise InvalidQueryError(f"a station has 1 to {MAX_SEEDS} seeds, got "
                                    f"{len(self.seeds)}")

    def feedback(self, liked: Sequence[int] = (), skipped: Sequence[int] = ()) -> None:
        """Record likes and skips; a later verdict on a song replaces an earlier one."""
        for row in liked:
            self.skipped = [r for r in self.skipped if r != row]
            self.liked = [r for r in self.liked if r != row] + [int(row)]
        for row in skipped:
            self.liked = [r for r in self.liked if r != row]
            self.skipped = [r for r in self.skipped if r != row] + [int(row)]
        self.liked, self.skipped = self.liked[-MAX_FEEDBACK:], self.skipped[-MAX_FEEDBACK:]


def radio_next(lib: Library, state: RadioState, count: int = 10) -> list[int]:
    """The station's next `count` songs; they are appended to `state.played`.

    Each song is near a query made of the seeds, the latest songs, the liked songs and away
    from the skipped ones; it is never a song (or version) played in the session, nor by an
    artist of the latest `RECENT_ARTISTS` songs or of a skipped song, and is drawn among the
    `CHOICES` best so that the station moves. Deterministic for a given state.
    """
    if not 1 <= count <= MAX_ADD:
        raise InvalidQueryError(f"count must be 1 to {MAX_ADD}, got {count}")
    vectors, versions, artists = lib.vectors, lib.version_key, lib.primary_artist
    seed_mean = _unit_mean(vectors, state.seeds)
    out: list[int] = []
    for _ in range(count):
        query = SEED_WEIGHT * seed_mean
        recent = state.played[-RECENT_SONGS:]
        if recent:
            weights = RECENT_DECAY ** np.arange(len(recent))[::-1]
            recent_vec = (np.asarray(vectors[recent]) * weights[:, None]).sum(axis=0)
            query = query + RECENT_WEIGHT * recent_vec / weights.sum()
        if state.liked:
            query = query + LIKE_WEIGHT * _unit_mean(vectors, state.liked)
        if state.skipped:
            query = query - SKIP_WEIGHT * _unit_mean(vectors, state.skipped[-10:])
        query = (query / max(float(np.linalg.norm(query)), 1e-12)).astype(np.float32)
        played = set(state.played) | set(state.seeds)
        played_versions = {int(v) for v in versions[list(played)]}
        banned_artists = {int(a) for a in artists[state.played[-RECENT_ARTISTS:]]} | \
            {int(a) for a in artists[state.skipped]} | {int(a) for a in artists[state.seeds]}
        row = _next_song(lib, state, query, played, played_versions, banned_artists)
        if row is None:
            break
        state.played.append(row)
        state.played = state.played[-MAX_PLAYED:]
        out.append(row)
    return out


def _next_song(lib: Library, state: RadioState, query: np.ndarray, played: set[int],
               played_versions: set[int], banned_artists: set[int]) -> int | None:
    k = 100
    while True:
        ids, sims = lib.index.search(query[None, :], k)
        rows, found = ids[0], sims[0].astype(np.float64)
        ok = rows >= 0
        rows, found = rows[ok], found[ok]
        keep = np.array([r not in played and int(lib.version_key[r]) not in played_versions
                         and int(lib.primary_artist[r]) not in banned_artists
                         for r in rows.tolist()], dtype=bool)
        if keep.sum() >= CHOICES or k >= min(len(lib), 20_000):
            break
        k *= 4
    rows, found = rows[keep], found[keep]
    if not len(rows):
        return None
    if state.skipped:
        near_skip = (np.asarray(lib.vectors[rows]) @ np.asarray(
            lib.vectors[state.skipped[-10:]]).T).max(axis=1)
        found = found - SKIP_PENALTY * np.maximum(0.0, near_skip - 0.9)
    best = np.argsort(-found, kind="stable")[:CHOICES]
    # A deterministic draw from the state, weighted towards the best.
    seed = zlib.crc32(np.asarray([*state.seeds, *state.played[-3:], len(state.played)],
                                 dtype=np.int64).tobytes())
    weights = np.exp((found[best] - found[best[0]]) / 0.02)
    pick = np.random.default_rng(seed).choice(len(best), p=weights / weights.sum())
    return int(rows[best[pick]])


def _unit_mean(vectors: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    mean = np.asarray(vectors[list(rows)], dtype=np.float64).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


class RadioRequest(BaseModel):
    """One page of a station: seeds to start one, or the cursor of the page before (with
    likes and skips of its songs)."""

    model_config = ConfigDict(extra="forbid")

    seeds: list[str] = Field(default_factory=list, max_length=MAX_SEEDS)
    cursor: str | None = None
    liked: list[str] = Field(default_factory=list, max_length=MAX_FEEDBACK)
    skipped: list[str] = Field(default_factory=list, max_length=MAX_FEEDBACK)
    count: int = Field(10, ge=1, le=MAX_ADD)

    @model_validator(mode="after")
    def _start_or_go_on(self) -> RadioRequest:
        if bool(self.seeds) == bool(self.cursor):
            raise ValueError(f"give 1 to {MAX_SEEDS} seeds to start a station, or the cursor "
                             "of its last page to go on (not both)")
        return self


def radio_page(lib: Library, req: RadioRequest, secret: bytes = b"") -> tuple[list[int], str]:
    """The next songs of a station and the cursor for the page after.

    Raises:
        InvalidQueryError: a cursor that is damaged, edited or from another library.
        NotFoundError: a seed, liked or skipped song that is not in the library.
    """
    key = library_key(lib, secret)
    if req.cursor:
        state = decode_cursor(req.cursor, key, len(lib))
    else:
        state = RadioState(rows_of_ids(lib, req.seeds, "seed track"))
    state.feedback(rows_of_ids(lib, req.liked, "liked track"),
                   rows_of_ids(lib, req.skipped, "skipped track"))
    rows = radio_next(lib, state, req.count)
    return rows, encode_cursor(state, key)


# --- the radio cursor ---------------------------------------------------------------------

_HEADER = struct.Struct("<BBBBH")  # version, seeds, liked, skipped, played
_DIGEST = 12
_MAX_CURSOR = 40_000  # characters; MAX_PLAYED rows compress to about 8 kB


def library_key(lib: Library, secret: bytes = b"") -> bytes:
    """What a cursor is checked against: this library's build, and a server's secret."""
    manifest = lib.manifest
    return hashlib.sha256(f"{manifest.source.sha256}|{manifest.created}|{len(lib)}".encode()
                          + secret).digest()


def encode_cursor(state: RadioState, key: bytes) -> str:
    """The state as URL-safe text: packed int32 rows, zlib, and a keyed BLAKE2b digest.

    The digest makes a cursor edited by hand, cut short, or made for another library (or
    server secret) fail with a clear 400 rather than play the wrong songs.
    """
    header = _HEADER.pack(CURSOR_VERSION, len(state.seeds), len(state.liked),
                          len(state.skipped), len(state.played))
    rows = np.asarray([*state.seeds, *state.liked, *state.skipped, *state.played],
                      dtype="<i4").tobytes()
    body = zlib.compress(header + rows, 9)
    digest = hashlib.blake2b(body, key=key[:64], digest_size=_DIGEST).digest()
    return base64.urlsafe_b64encode(digest + body).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, key: bytes, songs: int) -> RadioState:
    """The state in a cursor made by `encode_cursor` with the same key.

    Raises:
        InvalidQueryError: not a cursor, damaged or edited, or from another library.
    """
    bad = "radio cursor is not valid (damaged, edited, or from another library); start the " \
          "station again from its seeds"
    if not cursor or len(cursor) > _MAX_CURSOR:
        raise InvalidQueryError(bad)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise InvalidQueryError(bad) from None
    digest, body = raw[:_DIGEST], raw[_DIGEST:]
    expected = hashlib.blake2b(body, key=key[:64], digest_size=_DIGEST).digest()
    if len(digest) != _DIGEST or not hmac.compare_digest(digest, expected):
        raise InvalidQueryError(bad)
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(body, _HEADER.size + 4 * (MAX_PLAYED + 2 * MAX_FEEDBACK
                                                            + MAX_SEEDS))
        version, n_seeds, n_liked, n_skipped, n_played = _HEADER.unpack_from(data)
    except (zlib.error, struct.error):
        raise InvalidQueryError(bad) from None
    rows = np.frombuffer(data, dtype="<i4", offset=_HEADER.size)
    if version != CURSOR_VERSION or len(rows) != n_seeds + n_liked + n_skipped + n_played \
            or (len(rows) and (rows.min() < 0 or rows.max() >= songs)):
        raise InvalidQueryError(bad)
    seeds, liked, skipped, played = (p.tolist() for p in np.split(
        rows.astype(np.int64), np.cumsum([n_seeds, n_liked, n_skipped])))
    try:
        return RadioState(seeds, played, liked, skipped)
    except InvalidQueryError:
        raise InvalidQueryError(bad) from None


__all__ = ["ContinueRequest", "Filters", "JourneyRequest", "RadioRequest", "RadioState",
           "continue_playlist", "radio_page",
           "decode_cursor", "encode_cursor", "journey", "library_key", "mean_vector_baseline",
           "radio_next", "rows_of_ids"]
