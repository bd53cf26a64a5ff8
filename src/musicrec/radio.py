"""Radio: an endless station from 1 to 5 seed songs that learns from likes and skips.

    radio_page(lib, RadioRequest)      -> RadioAnswer   the next songs and the next cursor
    radio_next(lib, RadioState, count) -> rows          the same on a station's state

A station's whole state (seeds, songs played, likes and skips, its order, artist window and
exclusions) travels in an opaque cursor (`encode_cursor` / `decode_cursor`), so a server needs
no session store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from musicrec import sequence
from musicrec.albums import Albums
from musicrec.errors import InvalidQueryError
from musicrec.flows import (
    GAP_HELP,
    MAX_ADD,
    MAX_EXCLUDED,
    MAX_GAP,
    Exclusions,
    excluded_songs,
    rows_of_ids,
)
from musicrec.request import MAX_SEEDS
from musicrec.sequence import ORDERS, Order

if TYPE_CHECKING:
    from musicrec.library import Library

# A station's artist window (`RadioState.artist_gap`) unless asked otherwise: at 30, 50 songs
# from one seed held 41 to 50 artists (50 stations on the 30k songs); at 50 every station
# holds 50.
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
# 2: the order, the artist window and the exclusions joined the state.
CURSOR_VERSION = 2


@dataclass
class RadioState:
    """A station: its seeds, every song played (oldest first), likes and skips (rows); the
    order of its pages, its artist window, and the artists (rows) and albums (codes) it leaves
    out."""

    seeds: list[int]
    played: list[int] = field(default_factory=list)
    liked: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    order: str = sequence.DEFAULT_ORDER
    artist_gap: int = RECENT_ARTISTS
    excluded_artists: list[int] = field(default_factory=list)
    excluded_albums: list[int] = field(default_factory=list)

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

    def configure(self, order: str | None = None, artist_gap: int | None = None,
                  artists: Sequence[int] = (), albums: Sequence[int] = ()) -> None:
        """A new order or window replaces the station's; exclusions add to its own.

        Raises:
            InvalidQueryError: more than `MAX_EXCLUDED` artists, or albums, left out.
        """
        self.order = self.order if order is None else order
        self.artist_gap = self.artist_gap if artist_gap is None else artist_gap
        self.excluded_artists = list(dict.fromkeys([*self.excluded_artists, *artists]))
        self.excluded_albums = list(dict.fromkeys([*self.excluded_albums, *albums]))
        if max(len(self.excluded_artists), len(self.excluded_albums)) > MAX_EXCLUDED:
            raise InvalidQueryError(f"a station leaves out at most {MAX_EXCLUDED} artists and "
                                    f"{MAX_EXCLUDED} albums")


def radio_next(lib: Library, state: RadioState, count: int = 10) -> list[int]:
    """The station's next `count` songs, in the station's order; they are appended to
    `state.played`.

    Each song is near a query made of the seeds, the latest songs, the liked songs and away
    from the skipped ones; it is never a song (or version) played in the session, nor by an
    artist of the latest `state.artist_gap` songs, of a skipped song or of a seed, nor an
    excluded one, and is drawn among the `CHOICES` best so that the station moves. A few more
    are found than asked for when the order may choose (`sequence.pool_size`), then the page
    is ordered after the songs played (`sequence.arrange`). Deterministic for a given state.

    Raises:
        InvalidQueryError: a bad count, or no song left for the station.
    """
    if not 1 <= count <= MAX_ADD:
        raise InvalidQueryError(f"count must be 1 to {MAX_ADD}, got {count}")
    excluded = excluded_songs(lib, state.excluded_artists, state.excluded_albums)
    allowed = None if excluded is None else ~excluded
    before, found = list(state.played), []
    for _ in range(sequence.pool_size(state.order, count)):
        row = _next_song(lib, state, _query(lib, state), allowed)
        if row is None:
            break
        state.played.append(row)
        found.append(row)
    page = sequence.arrange(sequence.Mix.of(lib), found, count, state.order, before=before,
                            artists=lib.primary_artist, gap=state.artist_gap)
    if not page:
        raise InvalidQueryError("no song is left for this station: every song near it is "
                                "played, left out, or by an artist it just played")
    state.played = (before + page)[-MAX_PLAYED:]
    return page


def _query(lib: Library, state: RadioState) -> np.ndarray:
    """Unit (d,): the seeds, the latest songs (most recent weighs most), likes, minus skips."""
    vectors = lib.vectors
    query = SEED_WEIGHT * _unit_mean(vectors, state.seeds)
    recent = state.played[-RECENT_SONGS:]
    if recent:
        weights = RECENT_DECAY ** np.arange(len(recent))[::-1]
        recent_vec = (np.asarray(vectors[recent]) * weights[:, None]).sum(axis=0)
        query = query + RECENT_WEIGHT * recent_vec / weights.sum()
    if state.liked:
        query = query + LIKE_WEIGHT * _unit_mean(vectors, state.liked)
    if state.skipped:
        query = query - SKIP_WEIGHT * _unit_mean(vectors, state.skipped[-10:])
    return (query / max(float(np.linalg.norm(query)), 1e-12)).astype(np.float32)


def _next_song(lib: Library, state: RadioState, query: np.ndarray,
               allowed: np.ndarray | None) -> int | None:
    played = set(state.played) | set(state.seeds)
    played_versions = {int(v) for v in lib.version_key[list(played)]}
    window = state.played[-state.artist_gap:] if state.artist_gap else []
    banned_artists = {int(a) for a in lib.primary_artist[[*window, *state.skipped,
                                                           *state.seeds]]}
    k = 100
    while True:
        ids, sims = lib.index.search(query[None, :], k, allowed=allowed)
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


class RadioRequest(Exclusions):
    """One page of a station: seeds to start one, or the cursor of the page before (with
    likes and skips of its songs). An order or artist window replaces the station's; the
    exclusions add to its own."""

    seeds: list[str] = Field(default_factory=list, max_length=MAX_SEEDS)
    cursor: str | None = None
    liked: list[str] = Field(default_factory=list, max_length=MAX_FEEDBACK)
    skipped: list[str] = Field(default_factory=list, max_length=MAX_FEEDBACK)
    count: int = Field(10, ge=1, le=MAX_ADD)
    order: Order | None = Field(None, description=sequence.ORDER_HELP + " Default: the "
                                "station's (smooth when it starts).")
    artist_gap: int | None = Field(None, ge=0, le=MAX_GAP, description=GAP_HELP + (
        f" Default: the station's ({RECENT_ARTISTS} when it starts)."))

    @model_validator(mode="after")
    def _start_or_go_on(self) -> RadioRequest:
        if bool(self.seeds) == bool(self.cursor):
            raise ValueError(f"give 1 to {MAX_SEEDS} seeds to start a station, or the cursor "
                             "of its last page to go on (not both)")
        return self


class RadioAnswer(NamedTuple):
    """A page of a station: its songs, the cursor of the next page, and what the order could
    not use (`sequence.Mix.note`)."""

    rows: list[int]
    cursor: str
    note: str | None


def radio_page(lib: Library, req: RadioRequest, secret: bytes = b"") -> RadioAnswer:
    """The next songs of a station and the cursor for the page after.

    Raises:
        InvalidQueryError: a cursor that is damaged, edited, from another library or from an
            older version; too many exclusions; no song left.
        NotFoundError: a seed, liked, skipped or excluded song, artist or album that is not
            in the library.
    """
    key = library_key(lib, secret)
    if req.cursor:
        state = decode_cursor(req.cursor, key, lib)
    else:
        state = RadioState(rows_of_ids(lib, req.seeds, "seed track"))
    state.feedback(rows_of_ids(lib, req.liked, "liked track"),
                   rows_of_ids(lib, req.skipped, "skipped track"))
    state.configure(req.order, req.artist_gap, *req.resolved(lib))
    rows = radio_next(lib, state, req.count)
    return RadioAnswer(rows, encode_cursor(state, key),
                       sequence.Mix.of(lib).note(state.order))


# --- the radio cursor ---------------------------------------------------------------------

# version, seeds, liked, skipped, played, order, artist gap, excluded artists, excluded albums
_HEADER = struct.Struct("<BBBBHBHBB")
_DIGEST = 12
_MAX_CURSOR = 40_000  # characters; MAX_PLAYED rows compress to about 8 kB
_MAX_ROWS = MAX_PLAYED + 2 * MAX_FEEDBACK + MAX_SEEDS + 2 * MAX_EXCLUDED
_BAD = "radio cursor is not valid (damaged, edited, or from another library); start the " \
       "station again from its seeds"
_OLD = "radio cursor is from an older version of musicrec; start the station again from its " \
       "seeds"


def library_key(lib: Library, secret: bytes = b"") -> bytes:
    """What a cursor is checked against: this library's build, and a server's secret."""
    manifest = lib.manifest
    return hashlib.sha256(f"{manifest.source.sha256}|{manifest.created}|{len(lib)}".encode()
                          + secret).digest()


def encode_cursor(state: RadioState, key: bytes) -> str:
    """The state as URL-safe text: a header, packed int32 rows, zlib, and a keyed BLAKE2b
    digest.

    The digest makes a cursor edited by hand, cut short, or made for another library (or
    server secret) fail with a clear 400 rather than play the wrong songs.
    """
    header = _HEADER.pack(CURSOR_VERSION, len(state.seeds), len(state.liked),
                          len(state.skipped), len(state.played), ORDERS.index(state.order),
                          state.artist_gap, len(state.excluded_artists),
                          len(state.excluded_albums))
    rows = np.asarray([*state.seeds, *state.liked, *state.skipped, *state.played,
                       *state.excluded_artists, *state.excluded_albums], dtype="<i4").tobytes()
    body = zlib.compress(header + rows, 9)
    digest = hashlib.blake2b(body, key=key[:64], digest_size=_DIGEST).digest()
    return base64.urlsafe_b64encode(digest + body).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, key: bytes, lib: Library) -> RadioState:
    """The state in a cursor made by `encode_cursor` with the same key, for this library.

    Raises:
        InvalidQueryError: not a cursor, damaged or edited, from another library, or from an
            older version of musicrec (its layout changed).
    """
    data = _verified(cursor, key)
    if data[0] != CURSOR_VERSION:
        raise InvalidQueryError(_OLD if data[0] < CURSOR_VERSION else _BAD)
    try:
        _, *sizes, order, gap, n_artists, n_albums = _HEADER.unpack_from(data)
    except struct.error:
        raise InvalidQueryError(_BAD) from None
    rows = np.frombuffer(data, dtype="<i4", offset=_HEADER.size).astype(np.int64)
    if len(rows) != sum(sizes) + n_artists + n_albums or order >= len(ORDERS) \
            or gap > MAX_GAP:
        raise InvalidQueryError(_BAD)
    seeds, liked, skipped, played, artists, albums = (p.tolist() for p in np.split(
        rows, np.cumsum([*sizes, n_artists])))
    limits = ((seeds + liked + skipped + played, len(lib)), (artists, lib.artists.num_rows),
              (albums, len(Albums.of(lib)) if albums else 0))
    if any(values and (min(values) < 0 or max(values) >= limit) for values, limit in limits):
        raise InvalidQueryError(_BAD)
    try:
        return RadioState(seeds, played, liked, skipped, ORDERS[order], gap, artists, albums)
    except InvalidQueryError:
        raise InvalidQueryError(_BAD) from None


def _verified(cursor: str, key: bytes) -> bytes:
    """The cursor's inflated bytes, once its digest matches (at least one byte)."""
    if not cursor or len(cursor) > _MAX_CURSOR:
        raise InvalidQueryError(_BAD)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise InvalidQueryError(_BAD) from None
    digest, body = raw[:_DIGEST], raw[_DIGEST:]
    expected = hashlib.blake2b(body, key=key[:64], digest_size=_DIGEST).digest()
    if len(digest) != _DIGEST or not hmac.compare_digest(digest, expected):
        raise InvalidQueryError(_BAD)
    try:
        data = zlib.decompressobj().decompress(body, _HEADER.size + 4 * _MAX_ROWS)
    except zlib.error:
        raise InvalidQueryError(_BAD) from None
    if not data:
        raise InvalidQueryError(_BAD)
    return data


__all__ = ["CURSOR_VERSION", "RadioAnswer", "RadioRequest", "RadioState", "decode_cursor",
           "encode_cursor", "library_key", "radio_next", "radio_page"]
