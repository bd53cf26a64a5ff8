"""`musicrec mpd-radio` keeps a real MPD's queue (Debian's mpd on loopback) a few songs ahead,
over a library analysed from MPD's music folder (`build --mpd-music-dir`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import debian_tool
from music_servers import need, running_mpd
from musicrec.cli import app
from musicrec.integrations.mpd_radio import MpdRadio
from musicrec.library import Library

pytestmark = [pytest.mark.audio, pytest.mark.slow]


@pytest.fixture(scope="module")
def library(mpd_music: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("mpd-library") / "lib"
    result = CliRunner().invoke(app, ["build", "--mpd-music-dir", str(mpd_music),
                                      "--library", str(dest), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "analysed 25 song(s), 0 from the cache" in result.output
    return dest


@pytest.fixture
def mpd(mpd_music: Path, tmp_path: Path) -> Iterator[object]:
    mpd_path = debian_tool("mpd")
    mpd_module = need("mpd", "mpd")
    with running_mpd(mpd_path, tmp_path, mpd_music) as port:
        client = mpd_module.MPDClient()
        client.connect("127.0.0.1", port)
        client.update()
        deadline = time.monotonic() + 60
        while "updating_db" in client.status() or not client.listall():
            assert time.monotonic() < deadline, "mpd did not scan its music folder"
            time.sleep(0.1)
        client.port = port
        yield client
        client.disconnect()


def test_the_library_ids_are_mpds_paths(library: Path, mpd_music: Path) -> None:
    lib = Library.open(library)
    assert len(lib) == 24
    track = lib.tracks([lib.row_of("artist3/song11.ogg")])[0]
    assert track["name"] == "Song 11" and "Artist 3" in str(track["artists"])


def test_the_queue_is_kept_ahead_of_the_song_playing(library: Path, mpd) -> None:
    lib = Library.open(library)
    mpd.add("artist0/song00.flac")
    mpd.play(0)
    mpd.pause(1)
    radio = MpdRadio(lib, mpd, ahead=3, artist_gap=2)
    added = radio.step().added
    queue = [s["file"] for s in mpd.playlistinfo()]
    assert len(added) == 3 and queue == ["artist0/song00.flac", *added]
    assert all(lib.row_of(uri) is not None for uri in added)
    assert radio.step().added == []  # already 3 ahead
    mpd.next()
    mpd.pause(1)
    more = radio.step().added
    queue = [s["file"] for s in mpd.playlistinfo()]
    assert len(more) == 1 and len(queue) == 5 and len(set(queue)) == 5
    # A song the listener picks starts a new station from it.
    mpd.add("artist5/song13.ogg")
    mpd.play(5)
    mpd.pause(1)
    fresh = radio.step().added
    assert len(fresh) == 3 and radio.state.seeds == [lib.row_of("artist5/song13.ogg")]


def test_the_command_tops_the_queue_up_once(library: Path, mpd) -> None:
    mpd.add("artist1/song01.ogg")
    result = CliRunner().invoke(app, ["mpd-radio", "--library", str(library), "--host",
                                      "127.0.0.1", "--port", str(mpd.port), "--once",
                                      "--ahead", "2", "--artist-gap", "2"])
    assert result.exit_code == 0, result.output
    queue = [s["file"] for s in mpd.playlistinfo()]
    assert len(queue) == 3 and queue[0] == "artist1/song01.ogg"
    assert result.output.count("queued ") == 2


def test_an_unreachable_mpd_is_one_clear_line(library: Path) -> None:
    from music_servers import free_port

    need("mpd", "mpd")
    result = CliRunner().invoke(app, ["mpd-radio", "--library", str(library), "--port",
                                      str(free_port()), "--host", "127.0.0.1", "--once"])
    assert result.exit_code == 1 and "cannot reach MPD" in result.output
    assert "Traceback" not in result.output
