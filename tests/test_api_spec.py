"""Every answer of the Spotify-compatible endpoints validates against Spotify's OpenAPI spec.

The spec is read in place from `../shared/spotify-openapi/` (never copied) and checked with
openapi-core, a standard validator, on success and error answers, over synthetic catalogues
(with every optional column, and with none) and a sweep of the real 30k songs, each both as a
plain Spotify request (whose answer must carry no `musicrec` member) and with `musicrec=true`
(musicrec's extensions). Two edits are
made to the loaded spec, each where Spotify's real service contradicted its own description
(listed in the spec folder's README) or where the description leaves a status out:
- list items of `?ids=` answers are nullable (Spotify answered null for an unknown id), and a
  genre seed's `href` is nullable (Spotify's description says it is null);
- every operation gets a `default` response with Spotify's error object, since Spotify
  answered 400 and 404 with it though the description lists only 401, 403 and 429.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from musicrec.albums import Albums
from musicrec.api import create_app
from musicrec.build import build_library
from musicrec.library import Library, LiveLibrary
from musicrec.synth import synthesize

SPOTIFY = "https://api.spotify.com"
BASE = "http://127.0.0.1:8000/"
SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
NULLABLE_ITEMS = {"ManyTracks": "tracks", "ManyAudioFeatures": "audio_features",
                  "ManyArtists": "artists", "ManyAlbums": "albums"}


def _patched(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    responses = spec["components"]["responses"]
    for name, field in NULLABLE_ITEMS.items():
        items = responses[name]["content"]["application/json"]["schema"]["properties"][field]
        items["items"] = {"anyOf": [items["items"], {"type": "object", "nullable": True,
                                                     "enum": [None]}]}
    seed = spec["components"]["schemas"]["RecommendationSeedObject"]["properties"]["href"]
    seed["nullable"] = True
    for path in spec["paths"].values():
        for operation in path.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("default", responses["Unauthorized"])
    return spec


@pytest.fixture(scope="session")
def spotify_spec(spotify_spec_file: Path) -> OpenAPI:
    return OpenAPI.from_dict(_patched(yaml.safe_load(spotify_spec_file.read_text())))


def extension_at(body: Any, where: str = "") -> str | None:
    """Where the first `musicrec` member of an answer is (e.g. `tracks[0].album`), or None."""
    if isinstance(body, dict):
        if "musicrec" in body:
            return where or "the answer"
        items = ((f"{where}.{key}".lstrip("."), value) for key, value in body.items())
    elif isinstance(body, list):
        items = ((f"{where}[{i}]", value) for i, value in enumerate(body))
    else:
        return None
    return next(filter(None, (extension_at(value, path) for path, value in items)), None)


class Checked:
    """A test client whose every answer is validated against Spotify's spec; with
    `extensions`, every request asks for musicrec's (`musicrec=true`), and without, no answer
    may carry them."""

    def __init__(self, client: TestClient, spec: OpenAPI, extensions: bool = False):
        self.client = client
        self.spec = spec
        self.extensions = extensions
        self.checked = 0

    def get(self, path: str, params: dict[str, Any] | None = None,
            status: int = 200) -> dict[str, Any]:
        if self.extensions:
            params = {**(params or {}), "musicrec": "true"}
        response = self.client.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        url = urlsplit(str(response.request.url))
        args = dict(response.request.url.params.multi_items())
        request = MockRequest(SPOTIFY, "GET", url.path, args=args)
        self.spec.validate_response(request, MockResponse(
            response.content, status_code=response.status_code,
            content_type=response.headers["content-type"]))
        self.checked += 1
        body = response.json()
        where = extension_at(body)
        assert self.extensions or where is None, f"{path} {params}: `musicrec` at {where}"
        return body


def _client(lib: Library) -> TestClient:
    return TestClient(create_app(LiveLibrary(lib.path, warm=True), public_url=BASE))


def bare_library(folder: Path) -> Library:
    """A catalogue with only the required columns, built in `folder`: every stand-in is in
    use."""
    keep = ["id", "name", "artists", "danceability", "energy", "key", "loudness", "mode",
            "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
            "duration_ms"]
    synthesize(800, seed=5)[keep].to_csv(folder / "songs.csv", index=False)
    build_library(folder / "songs.csv", folder / "lib")
    return Library.open(folder / "lib")


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return bare_library(tmp_path_factory.mktemp("bare"))


@pytest.fixture(scope="module")
def real(real_30k: Path, tmp_path_factory: pytest.TempPathFactory) -> Library:
    folder = tmp_path_factory.mktemp("real30k")
    build_library(real_30k, folder / "lib")
    return Library.open(folder / "lib")


def _follow_hrefs(checked: Checked, body: Any, seen: set[str]) -> None:
    """Every href in an answer is under the public URL and answers 200 here."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key in ("href", "track_href", "next", "previous") and isinstance(value, str):
                assert value.startswith(BASE) and " " not in value, value
                if value not in seen and len(seen) < 60:
                    seen.add(value)
                    path = value[len(BASE) - 1:]
                    assert checked.client.get(path).status_code == 200, value
            else:
                _follow_hrefs(checked, value, seen)
    elif isinstance(body, list):
        for item in body:
            _follow_hrefs(checked, item, seen)


def sweep(lib: Library, checked: Checked, rows: np.ndarray) -> None:
    """Every Spotify operation, for songs spread over the catalogue."""
    records = lib.tracks(rows)
    ids = [r["id"] for r in records]
    albums = Albums.of(lib)
    seen: set[str] = set()
    for start in range(0, len(ids), 50):
        body = checked.get("/v1/tracks", {"ids": ",".join(ids[start:start + 50])})
        _follow_hrefs(checked, body, seen)
        for track in body["tracks"]:
            assert SPOTIFY_ID.fullmatch(track["album"]["id"])
            for artist in track["artists"]:
                assert artist["uri"] == f"spotify:artist:{artist['id']}"
    for start in range(0, len(ids), 100):
        checked.get("/v1/audio-features", {"ids": ",".join(ids[start:start + 100])})
    for rec in records[:: max(1, len(records) // 12)]:
        artist = rec["artist_ids"][0]
        album = albums.id(int(albums.code[rec["row"]]))
        checked.get(f"/v1/tracks/{rec['id']}")
        checked.get(f"/v1/audio-features/{rec['id']}")
        checked.get(f"/v1/audio-analysis/{rec['id']}", status=404)
        checked.get(f"/v1/artists/{artist}")
        checked.get("/v1/artists", {"ids": f"{artist},nosuchartist"})
        checked.get(f"/v1/artists/{artist}/top-tracks")
        body = checked.get(f"/v1/artists/{artist}/albums", {"limit": 50})  # classic limits
        _follow_hrefs(checked, body, seen)
        body = checked.get(f"/v1/albums/{album}")
        _follow_hrefs(checked, body, seen)
        checked.get("/v1/albums", {"ids": f"{album},nosuchalbum"})
        checked.get(f"/v1/albums/{album}/tracks", {"limit": 2})
        body = checked.get("/v1/recommendations", {
            "seed_tracks": rec["id"], "seed_artists": artist, "seed_genres": "0",
            "target_energy": 0.5, "min_tempo": 60, "target_time_signature": 4, "limit": 15})
        _follow_hrefs(checked, body, seen)
        word = max(rec["name"].split() or ["x"], key=len)
        body = checked.get("/v1/search", {"q": word, "type": "track,artist,album",
                                          "limit": 20})
        _follow_hrefs(checked, body, seen)
    checked.get("/v1/recommendations/available-genre-seeds")


ERRORS: list[tuple[str, dict[str, Any], int]] = [
    ("/v1/tracks/nosuchtrack", {}, 404),
    ("/v1/tracks", {"ids": " , "}, 400),
    ("/v1/audio-features/nosuchtrack", {}, 404),
    ("/v1/audio-features", {"ids": ",".join(["x"] * 101)}, 400),
    ("/v1/audio-analysis/nosuchtrack", {}, 404),
    ("/v1/artists/nosuchartist", {}, 404),
    ("/v1/artists", {"ids": ",".join(["x"] * 51)}, 400),
    ("/v1/artists/nosuchartist/albums", {}, 404),
    ("/v1/artists/nosuchartist/top-tracks", {}, 404),
    ("/v1/albums/nosuchalbum", {}, 404),
    ("/v1/albums", {"ids": ",".join(["x"] * 21)}, 400),
    ("/v1/albums/nosuchalbum/tracks", {}, 404),
    ("/v1/recommendations", {}, 400),
    ("/v1/recommendations", {"seed_genres": "no such genre"}, 400),
    ("/v1/recommendations", {"seed_tracks": "nosuchtrack"}, 404),
    ("/v1/recommendations", {"seed_genres": "0", "limit": 101}, 400),
    ("/v1/search", {"q": "love", "type": "track", "limit": 51}, 400),
    ("/v1/artists/nosuchartist/albums", {"limit": 51}, 400),
    ("/v1/search", {"q": "love", "type": "track", "offset": 995, "limit": 10}, 400),
    ("/v1/search", {"q": "love", "type": "playlist"}, 400),
]


@pytest.mark.parametrize(("path", "params", "status"), ERRORS)
def test_errors_validate(small_library: Library, spotify_spec: OpenAPI, path: str,
                         params: dict[str, Any], status: int) -> None:
    body = Checked(_client(small_library), spotify_spec).get(path, params, status)
    assert body["error"]["status"] == status


EXTENSIONS = pytest.mark.parametrize("extensions", [False, True], ids=["plain", "musicrec"])


@EXTENSIONS
def test_synthetic_catalogue_validates(small_library: Library, spotify_spec: OpenAPI,
                                       extensions: bool) -> None:
    checked = Checked(_client(small_library), spotify_spec, extensions)
    sweep(small_library, checked, np.linspace(0, len(small_library) - 1, 150).astype(int))
    assert checked.checked > 100


@EXTENSIONS
def test_catalogue_without_optional_columns_validates(bare: Library, spotify_spec: OpenAPI,
                                                      extensions: bool) -> None:
    checked = Checked(_client(bare), spotify_spec, extensions)
    sweep(bare, checked, np.arange(0, len(bare), 9))


def test_stand_ins_are_named_on_request(bare: Library, spotify_spec: OpenAPI) -> None:
    checked = Checked(_client(bare), spotify_spec, extensions=True)
    track = checked.get(f"/v1/tracks/{bare.tracks([0])[0]['id']}")
    assert (track["track_number"], track["disc_number"], track["explicit"]) == (1, 1, False)
    assert (track["popularity"], track["external_ids"]) == (0, {})
    assert set(track["musicrec"]["unknown"]) == {"track_number", "disc_number", "explicit",
                                                 "popularity"}
    album = track["album"]
    assert album["album_type"] == "single" and album["total_tracks"] == 1
    assert album["name"] == track["name"] and album["release_date"] == "0000"
    assert set(album["musicrec"]["unknown"]) == {"name", "release_date"}
    assert album["external_urls"] == {} and track["artists"][0]["external_urls"] == {}
    features = checked.get(f"/v1/audio-features/{track['id']}")
    assert features["time_signature"] == 4
    assert features["musicrec"]["unknown"] == ["time_signature"]
    assert features["analysis_url"] == f"{BASE}v1/audio-analysis/{track['id']}"
    artist = checked.get(f"/v1/artists/{track['artists'][0]['id']}")
    assert (artist["followers"], artist["popularity"]) == ({"href": None, "total": 0}, 0)
    assert artist["musicrec"]["unknown"] == ["followers", "popularity"]
    body = checked.get("/v1/recommendations", {"seed_tracks": track["id"],
                                               "target_time_signature": 4,
                                               "min_time_signature": 3})
    assert body["musicrec"]["ignored"] == ["target_time_signature", "min_time_signature"]


@pytest.mark.realdata
@pytest.mark.slow
@EXTENSIONS
def test_real_songs_validate(real: Library, spotify_spec: OpenAPI, extensions: bool) -> None:
    checked = Checked(_client(real), spotify_spec, extensions)
    sweep(real, checked, np.linspace(0, len(real) - 1, 400).astype(int))
    # the 30k file has no artist ids: the derived ones are Spotify-shaped and URL-safe
    artists = real.artists.column("id").to_pylist()
    assert all(SPOTIFY_ID.fullmatch(a) for a in artists)
