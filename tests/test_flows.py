"""Flows over a small generated library: continue a playlist, journeys, radio and its cursor;
their orders, exclusions and artist window."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from musicrec import flows, radio, sequence
from musicrec.albums import Albums
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.flows import ContinueRequest, JourneyRequest
from musicrec.library import Library
from musicrec.radio import RadioState


def ids(lib: Library, rows: list[int]) -> list[str]:
    return [t["id"] for t in lib.tracks(rows)]


# --- continue -------------------------------------------------------------------------------

def two_sounds(lib: Library, rng: np.random.Generator, each: int = 10) -> tuple[list[int],
                                                                               list[int]]:
    """Two groups of songs far apart: the nearest songs of two dissimilar songs."""
    v = np.asarray(lib.vectors)
    a = int(rng.integers(len(lib)))
    b = int(np.argmin(v @ v[a]))
    found, _ = lib.exact.search(v[[a, b]], each)
    return found[0].tolist(), found[1].tolist()


def test_continue_adds_new_songs_by_varied_artists(small_library: Library,
                                                   rng: np.random.Generator) -> None:
    lib = small_library
    playlist = rng.choice(len(lib), 30, replace=False).tolist()
    added = flows.continue_playlist(lib, playlist, ContinueRequest(count=25, max_per_artist=1))
    assert len(added) == 25 and len(set(added)) == 25
    assert not set(added) & set(playlist)
    versions = lib.version_key
    assert not set(versions[added].tolist()) & set(versions[playlist].tolist())
    assert len(set(versions[added].tolist())) == 25
    assert max(Counter(lib.primary_artist[added].tolist()).values()) == 1


def test_continue_covers_the_playlists_spread(small_library: Library,
                                              rng: np.random.Generator) -> None:
    """A playlist of two far-apart sounds gets songs near each, where the mean vector
    baseline finds songs near their average."""
    lib = small_library
    first, second = two_sounds(lib, rng)
    v = np.asarray(lib.vectors)
    added = flows.continue_playlist(lib, first + second, ContinueRequest(count=10))
    near_first = (v[added] @ v[first].mean(axis=0)) > (v[added] @ v[second].mean(axis=0))
    assert 3 <= near_first.sum() <= 7


def test_continue_respects_filters(small_library: Library, rng: np.random.Generator) -> None:
    lib = small_library
    playlist = rng.choice(len(lib), 20, replace=False).tolist()
    req = flows.parse(ContinueRequest, count=15, min={"energy": 0.5}, max={"tempo": 140})
    added = flows.continue_playlist(lib, playlist, req)
    assert len(added) == 15
    assert (lib.numeric("energy")[added] >= 0.5).all()
    assert (lib.numeric("tempo")[added] <= 140).all()


def test_continue_rejects_bad_requests(small_library: Library) -> None:
    with pytest.raises(InvalidQueryError, match="1 to 500 songs"):
        flows.continue_playlist(small_library, list(range(501)), ContinueRequest())
    with pytest.raises(InvalidQueryError, match="count"):
        flows.parse(ContinueRequest, count=0)
    with pytest.raises(InvalidQueryError, match="unknown attribute min_colour"):
        flows.continue_playlist(small_library, [1, 2],
                                ContinueRequest(min={"colour": 1}))


def test_continue_beats_the_mean_vector_on_its_own_playlists(small_library: Library,
                                                            rng: np.random.Generator) -> None:
    """Hidden halves of two-sound playlists: the spread finds more of them than the mean."""
    lib = small_library
    ours = base = 0
    for _ in range(10):
        first, second = two_sounds(lib, rng, 20)
        kept = first[:10] + second[:10]
        hidden = set(first[10:] + second[10:])
        ours += len(hidden & set(flows.continue_playlist(
            lib, kept, ContinueRequest(count=20, max_per_artist=None))))
        base += len(hidden & set(flows.mean_vector_baseline(lib, kept, 20)))
    assert ours > base


# --- journey --------------------------------------------------------------------------------

def test_journey_moves_smoothly_to_the_destination(small_library: Library,
                                                  rng: np.random.Generator) -> None:
    lib = small_library
    v = np.asarray(lib.vectors)
    for _ in range(5):
        a, b = (int(x) for x in rng.choice(len(lib), 2, replace=False))
        start, end = ids(lib, [a, b])
        path = flows.journey(lib, JourneyRequest(**{"from": start, "to": end, "length": 10}))
        assert len(path) == 10 and path[0] == a and path[-1] == b
        assert len(set(path)) == 10 and len(set(lib.version_key[path].tolist())) == 10
        artists = lib.primary_artist[path]
        assert (artists[1:] != artists[:-1]).all()
        to_end = v[path] @ v[b]
        # Nearer each step, with a little slack: with the artist part of the vectors a step to
        # another artist can cost a few hundredths of closeness to the destination.
        assert (np.diff(to_end) > -0.05).all()
        steps = 1 - (v[path][:-1] * v[path][1:]).sum(axis=1)
        shuffled = [a, *rng.permutation(path[1:-1]).tolist(), b]
        shuffled_steps = 1 - (v[shuffled][:-1] * v[shuffled][1:]).sum(axis=1)
        assert steps.mean() < shuffled_steps.mean()


def test_journey_respects_filters(small_library: Library, rng: np.random.Generator) -> None:
    lib = small_library
    a, b = ids(lib, [10, 20])
    req = flows.parse(JourneyRequest, **{"from": a, "to": b, "length": 8,
                                         "max": {"energy": 0.6}, "explicit": False})
    path = flows.journey(lib, req)
    inner = path[1:-1]
    assert (lib.numeric("energy")[inner] <= 0.6).all()
    assert (lib.numeric("explicit")[inner] == 0).all()


def test_journey_errors(small_library: Library) -> None:
    a = ids(small_library, [1])[0]
    with pytest.raises(InvalidQueryError, match="two different songs"):
        flows.parse(JourneyRequest, **{"from": a, "to": a})
    with pytest.raises(InvalidQueryError, match="length"):
        flows.parse(JourneyRequest, **{"from": a, "to": "b", "length": 2})
    with pytest.raises(NotFoundError, match="'nope' is not in the library"):
        flows.journey(small_library, JourneyRequest(**{"from": a, "to": "nope"}))
    with pytest.raises(InvalidQueryError, match="no song is left once the filters"):
        flows.journey(small_library, flows.parse(
            JourneyRequest, **{"from": a, "to": ids(small_library, [2])[0], "length": 20,
                               "min": {"energy": 1.0}}))


# --- radio ----------------------------------------------------------------------------------

def test_radio_never_repeats_and_avoids_recent_artists(small_library: Library) -> None:
    lib = small_library
    state = RadioState([5, 9])
    first = radio.radio_next(lib, state, 40)
    more = radio.radio_next(lib, state, 40)
    played = first + more
    assert state.played == played and len(set(played)) == 80
    assert not {5, 9} & set(played)
    artists = lib.primary_artist[played].tolist()
    seed_artists = set(lib.primary_artist[[5, 9]].tolist())
    for i, artist in enumerate(artists):
        assert artist not in artists[max(0, i - radio.RECENT_ARTISTS):i]
        assert artist not in seed_artists


def test_radio_stays_near_its_seeds_and_moves(small_library: Library) -> None:
    lib = small_library
    v = np.asarray(lib.vectors)
    played = radio.radio_next(lib, RadioState([100]), 30)
    near = v[played] @ v[100]
    random = v[np.random.default_rng(0).choice(len(lib), 300)] @ v[100]
    assert near.mean() > np.quantile(random, 0.8)
    # It does not settle: consecutive songs are not all the nearest possible ones.
    assert len(set(played)) == 30


def test_radio_learns_from_likes_and_skips(small_library: Library,
                                           rng: np.random.Generator) -> None:
    lib = small_library
    v = np.asarray(lib.vectors)
    state = RadioState([int(rng.integers(len(lib)))])
    played = radio.radio_next(lib, state, 10)
    liked, skipped = played[0], played[1]
    state.feedback(liked=[liked], skipped=[skipped])
    after = radio.radio_next(lib, state, 15)
    plain = RadioState(list(state.seeds), played=list(played))
    control = radio.radio_next(lib, plain, 15)
    assert (v[after] @ v[liked]).mean() > (v[control] @ v[liked]).mean()
    assert (v[after] @ v[skipped]).mean() < (v[control] @ v[skipped]).mean()
    assert lib.primary_artist[skipped] not in set(lib.primary_artist[after].tolist())


def test_radio_is_deterministic(small_library: Library) -> None:
    assert radio.radio_next(small_library, RadioState([3]), 10) == \
        radio.radio_next(small_library, RadioState([3]), 10)


def test_cursor_round_trips_and_refuses_tampering(small_library: Library) -> None:
    lib = small_library
    key = radio.library_key(lib)
    state = RadioState([1, 2, 3])
    radio.radio_next(lib, state, 25)
    state.feedback(liked=[state.played[0]], skipped=[state.played[3]])
    cursor = radio.encode_cursor(state, key)
    assert len(cursor) < 400 and cursor.isascii()
    assert radio.decode_cursor(cursor, key, lib) == state
    bad = [cursor[:-3], cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:],
           "", "!!!!", "a" * 50_000, radio.encode_cursor(state, b"another library")]
    for text in bad:
        with pytest.raises(InvalidQueryError, match="radio cursor is not valid"):
            radio.decode_cursor(text, key, lib)
    # Well signed but naming rows the library lacks (a smaller library with the same key).
    for beyond in (RadioState([1], played=[len(lib)]),
                   RadioState([1], excluded_artists=[lib.artists.num_rows])):
        with pytest.raises(InvalidQueryError, match="radio cursor is not valid"):
            radio.decode_cursor(radio.encode_cursor(beyond, key), key, lib)


def test_cursor_stays_compact_for_long_sessions(small_library: Library) -> None:
    state = RadioState([1], played=list(range(10, 2010)))
    cursor = radio.encode_cursor(state, b"k")
    assert len(cursor) < 12_000
    assert radio.decode_cursor(cursor, b"k", small_library).played == state.played


def test_radio_seed_count_is_checked() -> None:
    with pytest.raises(InvalidQueryError, match="1 to 5 seeds"):
        RadioState([])
    with pytest.raises(InvalidQueryError, match="1 to 5 seeds"):
        RadioState([1, 2, 3, 4, 5, 6])


# --- orders, exclusions and the artist window -----------------------------------------------

def credits(lib: Library, rows: list[int]) -> set[str]:
    return {a for t in lib.tracks(rows) for a in t["artist_ids"]}


def albums_of(lib: Library, rows: list[int]) -> set[str]:
    albums = Albums.of(lib)
    return {albums.id(int(c)) for c in albums.code[rows]}


def keeps_window(lib: Library, rows: list[int], gap: int) -> bool:
    artists = lib.primary_artist[rows].tolist()
    return all(a not in artists[max(0, i - gap):i] for i, a in enumerate(artists))


def smooth_share(lib: Library, rows: list[int]) -> float:
    mix = sequence.Mix.of(lib)
    return float(mix.smooth(np.array(rows[:-1]), np.array(rows[1:])).mean())


def test_continue_leaves_out_artists_and_albums(small_library: Library,
                                                rng: np.random.Generator) -> None:
    lib = small_library
    playlist = rng.choice(len(lib), 20, replace=False).tolist()
    before = flows.continue_playlist(lib, playlist, ContinueRequest(count=15))
    artist_ids = sorted(credits(lib, before[:2]))
    album = sorted(albums_of(lib, before[2:3]))
    name = lib.artist_name(lib.artist_row_of(artist_ids[0])).upper()  # a name, any case
    req = ContinueRequest(count=15, exclude_artists=[name, *artist_ids[1:]],
                          exclude_albums=album)
    added = flows.continue_playlist(lib, playlist, req)
    assert len(added) == 15
    assert not credits(lib, added) & set(artist_ids)
    assert not albums_of(lib, added) & set(album)
    with pytest.raises(NotFoundError, match="artist 'Nobody At All' is not in the library"):
        flows.continue_playlist(lib, playlist, ContinueRequest(exclude_artists=[
            "Nobody At All"]))
    with pytest.raises(NotFoundError, match="album 'x' is not in the library"):
        flows.continue_playlist(lib, playlist, ContinueRequest(exclude_albums=["x"]))


def test_continue_keeps_the_artist_window_after_the_playlist(small_library: Library,
                                                             rng: np.random.Generator) -> None:
    lib = small_library
    for _ in range(3):
        playlist = rng.choice(len(lib), 10, replace=False).tolist()
        for order in sequence.ORDERS:
            added = flows.continue_playlist(lib, playlist, ContinueRequest(
                count=30, max_per_artist=3, artist_gap=6, order=order))
            assert len(added) == 30 and keeps_window(lib, playlist[-6:] + added, 6), order


def test_continue_orders(small_library: Library, rng: np.random.Generator) -> None:
    lib = small_library
    energy = lib.numeric("energy")
    smooth, found = [], []
    for _ in range(5):
        playlist = rng.choice(len(lib), 15, replace=False).tolist()
        up = flows.continue_playlist(lib, playlist, ContinueRequest(
            count=20, order="energy-up", artist_gap=0))
        assert (np.diff(energy[up]) >= 0).all()
        found.append(flows.continue_playlist(lib, playlist, ContinueRequest(
            count=20, order="relevance")))
        smooth.append(flows.continue_playlist(lib, playlist, ContinueRequest(count=20)))
        assert len(set(smooth[-1]) - set(found[-1])) <= sequence.swaps(20)
    assert np.mean([smooth_share(lib, r) for r in smooth]) > \
        np.mean([smooth_share(lib, r) for r in found]) + 0.1


def test_excluding_everything_is_a_clear_error(small_library: Library) -> None:
    lib = small_library
    loud = np.flatnonzero(lib.numeric("energy") >= 0.99).tolist()
    assert len(loud) > 0 and len(credits(lib, loud)) <= flows.MAX_EXCLUDED
    req = ContinueRequest(min={"energy": 0.99}, exclude_artists=sorted(credits(lib, loud)))
    with pytest.raises(InvalidQueryError, match="no song is left once the filters"):
        flows.continue_playlist(lib, [1, 2, 3], req)
    state = RadioState([1], excluded_artists=list(range(lib.artists.num_rows)))
    with pytest.raises(InvalidQueryError, match="no song is left for this station"):
        radio.radio_next(lib, state, 5)


def test_journey_orders_and_exclusions_keep_the_ends(small_library: Library) -> None:
    lib = small_library
    a, b = ids(lib, [30, 2500])
    path = flows.journey(lib, JourneyRequest(**{"from": a, "to": b, "length": 10}))
    artist_ids = sorted(credits(lib, path[1:3]))
    energy = lib.numeric("energy")
    for order in sequence.ORDERS:
        req = JourneyRequest(**{"from": a, "to": b, "length": 10, "order": order,
                                "exclude_artists": artist_ids})
        got = flows.journey(lib, req)
        assert len(got) == 10 and ids(lib, [got[0], got[-1]]) == [a, b], order
        assert not credits(lib, got[1:-1]) & set(artist_ids)
        assert keeps_window(lib, got, 1)
        if order == "energy-up":
            assert (np.diff(energy[got[1:-1]]) >= 0).all()
    assert set(flows.journey(lib, JourneyRequest(**{"from": a, "to": b, "length": 10,
                                                    "order": "arc"}))[1:-1]) == \
        set(flows.journey(lib, JourneyRequest(**{"from": a, "to": b, "length": 10,
                                                 "order": "relevance"}))[1:-1])


def test_a_station_keeps_its_order_window_and_exclusions(small_library: Library) -> None:
    lib = small_library
    seed = ids(lib, [40])
    first = radio.radio_next(lib, RadioState([40]), 10)
    artist_ids, album = sorted(credits(lib, first[:2])), sorted(albums_of(lib, first[2:3]))
    page = radio.radio_page(lib, radio.RadioRequest(
        seeds=seed, count=15, order="energy-down", artist_gap=8, exclude_artists=artist_ids,
        exclude_albums=album))
    state = radio.decode_cursor(page.cursor, radio.library_key(lib), lib)
    assert (state.order, state.artist_gap) == ("energy-down", 8)
    played = list(page.rows)
    for _ in range(3):  # later pages send nothing but the cursor
        page = radio.radio_page(lib, radio.RadioRequest(cursor=page.cursor, count=15))
        energy = lib.numeric("energy")[page.rows]
        # Falling, but for songs the window holds back until their artist may play again.
        assert len(page.rows) == 15 and np.corrcoef(np.arange(15), energy)[0, 1] < -0.5
        played += page.rows
    assert not credits(lib, played) & set(artist_ids) and not albums_of(lib, played) & set(album)
    assert keeps_window(lib, played, 8) and not keeps_window(lib, played, 60)
    more = radio.radio_page(lib, radio.RadioRequest(cursor=page.cursor, order="smooth",
                                                    exclude_artists=[lib.artist(0)["id"]]))
    state = radio.decode_cursor(more.cursor, radio.library_key(lib), lib)
    assert state.order == "smooth" and state.excluded_artists[-1] == 0
    assert len(state.excluded_artists) == len(artist_ids) + 1


def test_a_cursor_of_the_older_layout_fails_clearly(small_library: Library) -> None:
    key = radio.library_key(small_library)
    body = zlib.compress(struct.pack("<BBBBH", 1, 1, 0, 0, 2) + np.asarray(
        [5, 6, 7], dtype="<i4").tobytes(), 9)
    digest = hashlib.blake2b(body, key=key[:64], digest_size=12).digest()
    old = base64.urlsafe_b64encode(digest + body).rstrip(b"=").decode("ascii")
    with pytest.raises(InvalidQueryError, match="from an older version of musicrec"):
        radio.decode_cursor(old, key, small_library)


# --- real data ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_library(real_30k: Path, tmp_path_factory: pytest.TempPathFactory) -> Library:
    from musicrec.build import build_library

    path = tmp_path_factory.mktemp("real_flows") / "lib"
    build_library(real_30k, path)
    return Library.open(path)


@pytest.mark.realdata
def test_radio_on_the_real_songs_covers_40_artists(real_library: Library) -> None:
    lib = real_library
    rng = np.random.default_rng(3)
    for seed in rng.choice(len(lib), 10, replace=False):
        played = radio.radio_next(lib, RadioState([int(seed)]), 50)
        assert len(played) == 50
        assert len(set(lib.primary_artist[played].tolist())) >= 40


@pytest.mark.realdata
def test_radio_on_the_real_songs_mixes_smoothly(real_library: Library) -> None:
    """The issue's measure: 30-song stations from random seeds, smooth by the DJ's rule in at
    least 60 % of transitions (11 % before sequencing)."""
    lib = real_library
    seeds = np.random.default_rng(4).choice(len(lib), 10, replace=False)
    shares = [smooth_share(lib, radio.radio_next(lib, RadioState([int(s)]), 30))
              for s in seeds]
    assert np.mean(shares) >= 0.6
