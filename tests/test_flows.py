"""Flows over a small generated library: continue a playlist, journeys, radio and its cursor."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from musicrec import flows, radio
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.flows import ContinueRequest, JourneyRequest
from musicrec.radio import RadioState
from musicrec.library import Library


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


# --- real data ------------------------------------------------------------------------------

@pytest.mark.realdata
def test_radio_on_the_real_songs_covers_40_artists(real_30k: Path,
                                                   tmp_path_factory: pytest.TempPathFactory,
                                                   ) -> None:
    from musicrec.build import build_library

    path = tmp_path_factory.mktemp("real_flows") / "lib"
    build_library(real_30k, path)
    lib = Library.open(path)
    rng = np.random.default_rng(3)
    for seed in rng.choice(len(lib), 10, replace=False):
        played = radio.radio_next(lib, RadioState([int(seed)]), 50)
        assert len(played) == 50
        assert len(set(lib.primary_artist[played].tolist())) >= 40
