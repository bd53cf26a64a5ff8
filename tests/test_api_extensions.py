"""musicrec's extensions on request only, Spotify's classic limits, the classic full objects and
the audio-analysis endpoint, in-process."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from musicrec.albums import Albums
from musicrec.api import create_app
from musicrec.build import build_library
from musicrec.library import Library, LiveLibrary
from musicrec.synth import synthesize
from test_api_spec import extension_at


@pytest.fixture(scope="module")
def client(small_library: Library) -> TestClient:
    return TestClient(create_app(LiveLibrary(small_library.path, warm=True)))


@pytest.fixture(scope="module")
def popular(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """A catalogue with popularity."""
    frame = synthesize(600, seed=21)
    frame["popularity"] = np.random.default_rng(2).integers(0, 101, len(frame))
    folder = tmp_path_factory.mktemp("popular")
    frame.drop(columns="style").to_csv(folder / "songs.csv", index=False)
    build_library(folder / "songs.csv", folder / "lib")
    return Library.open(folder / "lib")


def spotify_requests(lib: Library) -> list[tuple[str, dict[str, Any]]]:
    """A request of every Spotify endpoint whose answer holds objects."""
    song = lib.tracks([4])[0]
    artist = song["artist_ids"][0]
    albums = Albums.of(lib)
    album = albums.id(int(albums.code[4]))
    return [
        (f"/v1/tracks/{song['id']}", {}), ("/v1/tracks", {"ids": song["id"]}),
        (f"/v1/audio-features/{song['id']}", {}), ("/v1/audio-features", {"ids": song["id"]}),
        (f"/v1/artists/{artist}", {}), ("/v1/artists", {"ids": artist}),
        (f"/v1/artists/{artist}/albums", {}), (f"/v1/artists/{artist}/top-tracks", {}),
        (f"/v1/artists/{artist}/related-artists", {}),
        (f"/v1/albums/{album}", {}), ("/v1/albums", {"ids": album}),
        (f"/v1/albums/{album}/tracks", {}),
        ("/v1/search", {"q": song["name"], "type": "track,artist,album"}),
        ("/v1/recommendations", {"seed_tracks": song["id"]}),
    ]


def answer(client: TestClient, path: str, params: dict[str, Any],
           headers: dict[str, str] | None = None) -> Any:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_extensions_only_on_request(client: TestClient, small_library: Library) -> None:
    for path, params in spotify_requests(small_library):
        assert extension_at(answer(client, path, params)) is None, path
        asked = extension_at(answer(client, path, {**params, "musicrec": "true"}))
        assert asked is not None, path
        assert extension_at(answer(client, path, params, {"X-Musicrec": "1"})) == asked, path
        assert extension_at(answer(client, path, {**params, "musicrec": "false"})) is None


def test_own_endpoints_always_extend(client: TestClient) -> None:
    family = answer(client, "/v1/musicrec/families/0", {})
    assert all("unknown" in track["musicrec"] for track in family["central_tracks"])


def test_extension_flag_is_read_not_guessed(client: TestClient, small_library: Library) -> None:
    song = small_library.tracks([0])[0]["id"]
    response = client.get(f"/v1/tracks/{song}", params={"musicrec": "maybe"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("invalid musicrec")


def test_recommendations_explained_on_request(client: TestClient,
                                              small_library: Library) -> None:
    seed = small_library.tracks([9])[0]["id"]
    body = answer(client, "/v1/recommendations", {"seed_tracks": seed, "musicrec": "true"})
    assert all(t["musicrec"]["explanation"] and t["musicrec"]["seed"] == seed
               for t in body["tracks"])
    plain = answer(client, "/v1/recommendations", {"seed_tracks": seed})
    assert [t["id"] for t in plain["tracks"]] == [t["id"] for t in body["tracks"]]


@pytest.mark.parametrize(("path", "most"), [
    ("/v1/search", 50), ("/v1/artists/{artist}/albums", 50), ("/v1/albums/{album}/tracks", 50),
    ("/v1/recommendations", 100)])
def test_classic_limits(client: TestClient, small_library: Library, path: str,
                        most: int) -> None:
    song = small_library.tracks([0])[0]
    albums = Albums.of(small_library)
    url = path.format(artist=song["artist_ids"][0], album=albums.id(int(albums.code[0])))
    params = {"q": "the", "type": "track,artist,album", "seed_tracks": song["id"]}
    answer(client, url, {**params, "limit": most})
    response = client.get(url, params={**params, "limit": most + 1})
    assert response.status_code == 400 and "limit" in response.json()["error"]["message"]


def test_search_pages_reach_the_thousandth_item(client: TestClient) -> None:
    page = answer(client, "/v1/search", {"q": "the", "type": "track", "offset": 950,
                                         "limit": 50})["tracks"]
    assert page["limit"] == 50 and page["next"] is None
    response = client.get("/v1/search", params={"q": "the", "type": "track", "offset": 951,
                                                "limit": 50})
    assert response.status_code == 400 and "offset + limit" in response.text


def test_audio_analysis_answers_why_not(client: TestClient, small_library: Library) -> None:
    song = small_library.tracks([3])[0]["id"]
    response = client.get(f"/v1/audio-analysis/{song}")
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "audio features only" in message and f"/v1/audio-features/{song}" in message
    assert "not in the catalogue" in client.get("/v1/audio-analysis/nosuchtrack").text


def test_popularity_of_artists_is_their_songs_highest(popular: Library) -> None:
    client = TestClient(create_app(LiveLibrary(popular.path, warm=True)))
    artist_row = int(np.argmax(popular.artists.column("tracks").to_numpy()))
    artist = answer(client, f"/v1/artists/{popular.artist(artist_row)['id']}",
                    {"musicrec": "true"})
    rows = popular.rows_of_artist(artist_row)
    assert artist["popularity"] == int(popular.numeric("popularity")[rows].max())
    assert artist["followers"] == {"href": None, "total": 0}
    assert artist["musicrec"]["unknown"] == ["followers"]
    track = answer(client, f"/v1/tracks/{popular.tracks([rows[0]])[0]['id']}",
                   {"musicrec": "true"})
    assert track["popularity"] == int(popular.numeric("popularity")[rows[0]])
    assert "popularity" not in track["musicrec"]["unknown"]
