"""Shared fixtures: seeded randomness, small generated catalogues and libraries, real data."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:
    from musicrec.library import Library

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_30K = SHARED / "data" / "spotify_30k_songs" / "spotify_songs.csv"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 synthetic songs in the Kaggle schema."""
    from musicrec.synth import write_catalogue

    path = tmp_path_factory.mktemp("catalogue") / "tracks_features.csv"
    write_catalogue(path, 3000, seed=7)
    return path


@pytest.fixture(scope="session")
def small_library_path(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from musicrec.build import build_library

    path = tmp_path_factory.mktemp("libraries") / "small"
    build_library(small_csv, path)
    return path


@pytest.fixture(scope="session")
def small_library(small_library_path: Path) -> Library:
    from musicrec.library import Library

    return Library.open(small_library_path)


def debian_tool(name: str, path: str | None = None) -> str:
    """A Debian program a test needs: its path; absent, a failure in CI (`.ci/run` installs
    it) and a skip with the reason elsewhere."""
    found = path if path and Path(path).is_file() else (None if path else shutil.which(name))
    if found is None:
        reason = f"{path or name} is missing (apt-get install {name})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return found


@contextlib.contextmanager
def running_server(library: Path, **settings: Any) -> Iterator[tuple[str, int]]:
    """`musicrec serve`'s own uvicorn setup (one worker) in a thread on a loopback port:
    (host, port) while it runs."""
    import uvicorn

    from musicrec.api.server import listening_socket, uvicorn_config
    from musicrec.config import Settings

    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = Settings(library=library, port=port, workers=1, **settings)
    server = uvicorn.Server(uvicorn_config(config, port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(10)


def shared(path: Path) -> Path:
    """A file or folder of ../shared: its absence fails in CI and skips elsewhere."""
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared data is missing at {path}")
        pytest.skip(f"shared data not found at {path} (needs ../shared beside the project)")
    return path


@pytest.fixture(scope="session")
def real_30k() -> Path:
    """The real 30k-songs file."""
    return shared(REAL_30K)


@pytest.fixture(scope="session")
def mpd_sample() -> Path:
    """The real playlists of the Million Playlist Dataset sample (a folder)."""
    return shared(SHARED / "data" / "mpd_sample")


@pytest.fixture(scope="session")
def spotify_spec_file() -> Path:
    """Spotify's Web API as OpenAPI (YAML)."""
    return shared(SHARED / "spotify-openapi" / "fixed-spotify-open-api.yml")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `audio` need the audio extra: skipped without it, a failure in CI."""
    if item.get_closest_marker("audio") is None:
        return
    for module in ("soundfile", "soxr"):
        try:
            importlib.import_module(module)
        except ImportError:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"{module} not installed (pip install 'musicrec[audio]')")


@pytest.fixture(scope="session")
def subsonic_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real supysonic on loopback over 40 synthesised, tagged songs and one too short to
    analyse (tests/music_servers.py)."""
    pytest.importorskip("soundfile")
    from music_servers import running_supysonic, write_songs

    folder = tmp_path_factory.mktemp("supysonic")
    write_songs(folder / "music")
    with running_supysonic(folder, folder / "music") as server:
        yield server


def quick_build() -> Any:
    """A build for the few-song test libraries: the artist context from audio-feature means
    rather than the trained encoder, whose training is most of a 40-song build (about 15 s of
    17 on a shared machine)."""
    from musicrec.build import BuildConfig

    return BuildConfig.model_validate({"context": {"artist_space": "features"}})


@pytest.fixture(scope="session")
def subsonic_library(subsonic_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library built from `subsonic_server`'s songs (40 of its 41 analysable)."""
    from musicrec.integrations.subsonic_build import build_from_subsonic
    from musicrec.integrations.subsonic_client import SubsonicClient

    folder = tmp_path_factory.mktemp("subsonic-library")
    with SubsonicClient(subsonic_server.url, subsonic_server.user,
                        subsonic_server.password) as client:
        build_from_subsonic(client, folder / "lib", folder / "cache", workers=1,
                            config=quick_build())
    return folder / "lib"


@pytest.fixture(scope="session")
def mpd_music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MPD's music folder: 24 synthesised, tagged songs (and one too short to analyse)."""
    pytest.importorskip("soundfile")
    from music_servers import write_songs

    folder = tmp_path_factory.mktemp("mpd-music")
    write_songs(folder, 24)
    return folder
