"""Strict Spotify clients work unchanged: tekore and spotipy against `musicrec serve` on a
loopback port, every call of theirs that the API serves, with each client's default limits.

tekore parses every answer into strict pydantic models and warns about each member it does not
know; here such a warning is a failure, as is a missing or mistyped field. spotipy parses
nothing, so its answers are checked for being exactly Spotify's shape: no `musicrec` member
(musicrec's extensions come only on request). A failure names the client, the call and the
field. Catalogues: synthetic with every optional column, synthetic with none, and the real 30k
songs (skipped when ../shared is absent). Nothing goes beyond 127.0.0.1.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic
import pytest
import spotipy
import tekore as tk
from tekore._client import base as tekore_base  # where tekore keeps its URL prefix

from musicrec.albums import Albums
from musicrec.build import build_library
from musicrec.library import Library
from test_api_e2e import Server
from test_api_spec import bare_library, extension_at

pytestmark = [
    pytest.mark.slow,
    # spotipy warns that Spotify retired these endpoints: the reason this server exists.
    pytest.mark.filterwarnings("ignore:You're using .* deprecated by Spotify:DeprecationWarning"),
]


@dataclass(frozen=True)
class Sample:
    """What to ask one catalogue about: a song, its artist and album, a word of its title."""

    track: str
    tracks: list[str]
    artist: str
    album: str
    word: str
    genre: str

    @classmethod
    def of(cls, lib: Library) -> Sample:
        records = lib.tracks([0, 1, 2])
        albums = Albums.of(lib)
        return cls(track=records[0]["id"], tracks=[r["id"] for r in records],
                   artist=records[0]["artist_ids"][0],
                   album=albums.id(int(albums.code[records[0]["row"]])),
                   word=max(records[0]["name"].split(), key=len), genre=lib.genre_seeds()[0])


@dataclass(frozen=True)
class Clients:
    tekore: tk.Spotify
    spotipy: spotipy.Spotify
    sample: Sample


@dataclass(frozen=True)
class Call:
    """One client call of each kind, both with the client's default limits."""

    name: str
    tekore: Callable[[tk.Spotify, Sample], Any]
    spotipy: Callable[[spotipy.Spotify, Sample], Any]


CALLS = [
    Call("search tracks", lambda t, s: t.search(s.word, types=("track",)),
         lambda p, s: p.search(s.word, type="track")),
    Call("search artists", lambda t, s: t.search(s.word, types=("artist",)),
         lambda p, s: p.search(s.word, type="artist")),
    Call("search albums", lambda t, s: t.search(s.word, types=("album",)),
         lambda p, s: p.search(s.word, type="album")),
    Call("track", lambda t, s: t.track(s.track), lambda p, s: p.track(s.track)),
    Call("tracks", lambda t, s: t.tracks(s.tracks), lambda p, s: p.tracks(s.tracks)),
    Call("audio features", lambda t, s: t.track_audio_features(s.track),
         lambda p, s: p.audio_features(s.track)),
    Call("several audio features", lambda t, s: t.tracks_audio_features(s.tracks),
         lambda p, s: p.audio_features(s.tracks)),
    Call("recommendations",
         lambda t, s: t.recommendations(track_ids=[s.track], artist_ids=[s.artist],
                                        genres=[s.genre], target_energy=0.7),
         lambda p, s: p.recommendations(seed_tracks=[s.track], seed_artists=[s.artist],
                                        seed_genres=[s.genre], target_energy=0.7)),
    Call("genre seeds", lambda t, s: t.recommendation_genre_seeds(),
         lambda p, s: p.recommendation_genre_seeds()),
    Call("artist", lambda t, s: t.artist(s.artist), lambda p, s: p.artist(s.artist)),
    Call("artists", lambda t, s: t.artists([s.artist]), lambda p, s: p.artists([s.artist])),
    Call("artist albums", lambda t, s: t.artist_albums(s.artist),
         lambda p, s: p.artist_albums(s.artist)),
    Call("artist top tracks", lambda t, s: t.artist_top_tracks(s.artist, market="US"),
         lambda p, s: p.artist_top_tracks(s.artist)),
    Call("related artists", lambda t, s: t.artist_related_artists(s.artist),
         lambda p, s: p.artist_related_artists(s.artist)),
    Call("album", lambda t, s: t.album(s.album), lambda p, s: p.album(s.album)),
    Call("albums", lambda t, s: t.albums([s.album]), lambda p, s: p.albums([s.album])),
    Call("album tracks", lambda t, s: t.album_tracks(s.album),
         lambda p, s: p.album_tracks(s.album)),
]

# The classic maxima: tekore asks for them with `max_limits_on`.
CLASSIC_MAXIMA = [call for call in CALLS if call.name.startswith(("search", "artist albums",
                                                                    "album tracks"))]


def _library(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Library:
    if request.param == "synthetic":
        return request.getfixturevalue("small_library")
    if request.param == "bare":
        return bare_library(tmp_path_factory.mktemp("bare"))
    folder = tmp_path_factory.mktemp("real30k")
    build_library(request.getfixturevalue("real_30k"), folder / "lib")
    return Library.open(folder / "lib")


@pytest.fixture(scope="module", params=[
    "synthetic", "bare", pytest.param("real", marks=pytest.mark.realdata)])
def clients(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Clients]:
    """Both clients pointed at a server of one catalogue."""
    lib = _library(request, tmp_path_factory)
    server = Server(lib.path, tmp_path_factory.mktemp("serve") / "server.log")
    http = httpx.Client(timeout=30, trust_env=False)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tekore_base, "prefix", f"{server.base}/v1/")
            yield Clients(tk.Spotify("any-token", sender=tk.SyncSender(http)),
                          server.client(), Sample.of(lib))
    finally:
        http.close()
        server.stop()


def strict_tekore(name: str, call: Callable[[], Any]) -> Any:
    """A tekore call whose unknown members are failures, as are fields it cannot parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", tk.model.UnknownModelAttributeWarning)
        try:
            return call()
        except (pydantic.ValidationError, tk.model.UnknownModelAttributeWarning,
                tk.HTTPError) as exc:
            pytest.fail(f"tekore, {name}: {exc}")


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.name)
def test_tekore_parses_every_answer(clients: Clients, call: Call) -> None:
    assert strict_tekore(call.name, lambda: call.tekore(clients.tekore, clients.sample))


@pytest.mark.parametrize("call", CLASSIC_MAXIMA, ids=lambda call: call.name)
def test_tekore_classic_maximum_limits(clients: Clients, call: Call) -> None:
    """`max_limits_on` makes tekore ask for 50, the most Spotify's classic API gave."""
    with clients.tekore.max_limits():
        found = strict_tekore(call.name, lambda: call.tekore(clients.tekore, clients.sample))
    for page in found if isinstance(found, tuple) else (found,):
        assert page.limit == 50, call.name


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.name)
def test_spotipy_gets_spotify_shapes(clients: Clients, call: Call) -> None:
    try:
        body = call.spotipy(clients.spotipy, clients.sample)
    except spotipy.SpotifyException as exc:
        pytest.fail(f"spotipy, {call.name}: {exc}")
    assert body, f"spotipy, {call.name}: an empty answer"
    where = extension_at(body)
    assert where is None, f"spotipy, {call.name}: `musicrec` at {where}, asked for by no one"


def test_audio_analysis_is_spotifys_not_found(clients: Clients) -> None:
    """A library keeps its songs' features, not their analyses: 404 with the reason."""
    track = clients.sample.track
    with pytest.raises(tk.NotFound, match="audio features only"):
        clients.tekore.track_audio_analysis(track)
    with pytest.raises(spotipy.SpotifyException) as raised:
        clients.spotipy.audio_analysis(track)
    assert raised.value.http_status == 404 and "musicrec analyze" in raised.value.msg
    features = strict_tekore("audio features", lambda: clients.tekore.track_audio_features(track))
    assert features.analysis_url.endswith(f"/v1/audio-analysis/{track}")
