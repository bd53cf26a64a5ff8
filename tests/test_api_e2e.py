"""End to end: `musicrec serve` on a loopback port, driven by spotipy, a real Spotify client."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import spotipy

from musicrec.library import Library

STARTUP_SECONDS = 60
pytestmark = [
    pytest.mark.slow,
    # spotipy warns that Spotify retired these endpoints: the reason this server exists.
    pytest.mark.filterwarnings("ignore:You're using .* deprecated by Spotify:DeprecationWarning"),
]


class Server:
    """A `musicrec serve` process on a port the system chose."""

    def __init__(self, library: Path, log: Path, *args: str):
        self.log = log
        command = [sys.executable, "-m", "musicrec.cli", "serve", "--library", str(library),
                   "--port", "0", *args]
        with log.open("w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        try:
            self.base = self._wait_until_ready()
        except BaseException:
            self.stop()  # a server that never became ready must not outlive the test
            raise

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            found = re.search(r"at (http://127\.0\.0\.1:\d+)/v1/", self.log.read_text())
            if found:
                try:
                    if httpx.get(f"{found[1]}/health", timeout=2).status_code == 200:
                        return found[1]
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {STARTUP_SECONDS} s:\n{self.log.read_text()}")

    def client(self, token: str = "anything") -> spotipy.Spotify:
        sp = spotipy.Spotify(auth=token, requests_timeout=10, retries=0)
        sp.prefix = f"{self.base}/v1/"
        return sp

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="module")
def server(small_library_path: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    running = Server(small_library_path, tmp_path_factory.mktemp("serve") / "server.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def sp(server: Server) -> spotipy.Spotify:
    return server.client()


def test_recommendations_with_seeds_and_knobs(sp: spotipy.Spotify,
                                              small_library: Library) -> None:
    seed = small_library.tracks([11])[0]
    result = sp.recommendations(seed_tracks=[seed["id"]], limit=15, target_energy=0.7,
                                min_tempo=80, max_tempo=160, max_duration_ms=400_000)
    assert len(result["tracks"]) == 15
    assert result["seeds"][0]["id"] == seed["id"] and result["seeds"][0]["type"] == "TRACK"
    features = sp.audio_features([t["id"] for t in result["tracks"]])
    assert all(80 <= f["tempo"] <= 160 and f["duration_ms"] <= 400_000 for f in features)
    # exactly Spotify's shape: musicrec's explanations come only on request
    assert not any("musicrec" in t for t in result["tracks"])


def test_recommendations_from_an_artist_and_a_genre(sp: spotipy.Spotify,
                                                    small_library: Library) -> None:
    artist_id = small_library.tracks([300])[0]["artist_ids"][0]
    genre = sp.recommendation_genre_seeds()["genres"][0]
    result = sp.recommendations(seed_artists=[artist_id], seed_genres=[genre], limit=10,
                                country="US")
    assert [s["type"] for s in result["seeds"]] == ["ARTIST", "GENRE"]
    assert len(result["tracks"]) == 10


def test_audio_features_and_tracks(sp: spotipy.Spotify, small_library: Library) -> None:
    records = small_library.tracks([1, 2, 3])
    ids = [r["id"] for r in records]
    features = sp.audio_features([*ids, "0000000000000000000000"])
    assert [f and f["id"] for f in features] == [*ids, None]
    assert features[0]["energy"] == pytest.approx(records[0]["energy"], abs=1e-6)
    assert sp.audio_features(ids[0])[0]["id"] == ids[0]
    assert sp.track(ids[1])["name"] == records[1]["name"]
    # spotipy accepts URIs and strips them to ids
    assert [t["id"] for t in sp.tracks([f"spotify:track:{i}" for i in ids])["tracks"]] == ids
    artist = sp.artist(records[0]["artist_ids"][0])
    assert artist["name"] == records[0]["artists"][0]


def test_search_and_next_page(sp: spotipy.Spotify, small_library: Library) -> None:
    rec = small_library.tracks([222])[0]
    found = sp.search(q=f"{rec['name']} {rec['artists'][0]}", type="track", limit=5)
    assert rec["id"] in [t["id"] for t in found["tracks"]["items"]]
    first = sp.search(q="the", type="track", limit=10)["tracks"]
    second = sp.next(first)["tracks"]
    assert second["offset"] == 10
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in second["items"]}


def test_errors_reach_the_client_as_spotify_errors(sp: spotipy.Spotify) -> None:
    with pytest.raises(spotipy.SpotifyException) as missing:
        sp.track("0000000000000000000000")
    assert missing.value.http_status == 404 and "not in the catalogue" in missing.value.msg
    with pytest.raises(spotipy.SpotifyException) as bad:
        sp.recommendations(seed_genres=["0"], limit=500)
    assert bad.value.http_status == 400 and "limit" in bad.value.msg


def test_token_and_workers(small_library_path: Path, small_library: Library,
                           tmp_path: Path) -> None:
    """Two worker processes behind one port, each requiring the token from the file."""
    (tmp_path / "token").write_text("s3cret\n")
    server = Server(small_library_path, tmp_path / "server.log", "--workers", "2",
                    "--token-file", str(tmp_path / "token"))
    try:
        with pytest.raises(spotipy.SpotifyException) as refused:
            server.client("wrong").track(small_library.tracks([0])[0]["id"])
        assert refused.value.http_status == 401
        sp = server.client("s3cret")
        seeds = [r["id"] for r in small_library.tracks(list(range(0, 400, 20)))]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(
                lambda s: sp.recommendations(seed_tracks=[s], limit=5), seeds))
        assert all(len(r["tracks"]) == 5 for r in results)
        assert [r["seeds"][0]["id"] for r in results] == seeds
    finally:
        server.stop()
    assert "with 2 workers" in (tmp_path / "server.log").read_text()
