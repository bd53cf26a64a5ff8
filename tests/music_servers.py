"""Real music servers for the integration tests, on loopback: a folder of synthesised, tagged
songs; supysonic (a Subsonic server from PyPI) serving it; Debian's mpd."""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SONGS = 40
GENRES = ("Ambient", "Rock", "Electronic", "Folk")


def need(module: str, extra: str) -> Any:
    """A Python package a server test needs: absent, a skip with the reason (a failure under
    CI=true, where `make test` installed every extra)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        reason = f"{module} is not installed (pip install 'musicrec[{extra}]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_songs(folder: Path, count: int = SONGS) -> list[Path]:
    """`count` songs of 3 s in FLAC and Ogg Vorbis, each with its own key, mode, tempo,
    loudness and noise, tagged with title, artist, album, date and genre; plus one file of
    1 s, too short to analyse (supysonic still lists it)."""
    import soundfile as sf
    from mutagen.flac import FLAC
    from mutagen.oggvorbis import OggVorbis

    from musicrec.audio.synthetic import chord_progression, click_track

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(28)
    paths = []
    for i in range(count + 1):
        seconds = 3.0 if i < count else 1.0
        bpm = 70.0 + 4.5 * i
        signal = (chord_progression(i % 12, i % 2, seconds, bpm=bpm)
                  + (i % 3) * 0.3 * click_track(bpm, seconds)
                  + (i % 5) * 0.05 * rng.standard_normal(int(seconds * 22050)))
        signal = (0.9 * signal / np.abs(signal).max() * (0.2 + 0.8 * (i % 4) / 3))
        kind = "flac" if i % 2 == 0 else "ogg"
        path = folder / f"artist{i % 8}" / f"song{i:02d}.{kind}"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, signal.astype(np.float32), 22050, format=kind.upper())
        tags = FLAC(path) if kind == "flac" else OggVorbis(path)
        tags["title"] = f"Song {i:02d}"
        tags["artist"] = f"Artist {i % 8}"
        tags["album"] = f"Album {i % 8}"
        tags["date"] = str(1970 + i)
        tags["genre"] = GENRES[i % len(GENRES)]
        tags.save()
        paths.append(path)
    return paths


@dataclass
class Subsonic:
    url: str
    user: str
    password: str
    password_file: Path
    music: Path


def _supysonic(folder: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "supysonic.cli", *args], cwd=folder, check=True,
                   capture_output=True, timeout=120)


@contextlib.contextmanager
def running_supysonic(folder: Path, music: Path) -> Iterator[Subsonic]:
    """supysonic 0.7 (werkzeug's threaded server) over `music`, on a loopback port, with one
    user whose password is in a file."""
    need("supysonic", "test")
    (folder / "supysonic.conf").write_text(
        f"[base]\ndatabase_uri = sqlite:///{folder / 'supysonic.db'}\n"
        f"[webapp]\ncache_dir = {folder / 'cache'}\nmount_webui = no\n"
        f"[daemon]\nsocket = {folder / 'daemon.sock'}\n")
    _supysonic(folder, "user", "add", "alice", "-p", "sesame")
    _supysonic(folder, "folder", "add", "music", str(music))
    _supysonic(folder, "folder", "scan", "--foreground", "music")
    port = free_port()
    code = ("from werkzeug.serving import run_simple\n"
            "from supysonic.config import IniConfig\n"
            "from supysonic.web import create_application\n"
            f"run_simple('127.0.0.1', {port}, "
            "create_application(IniConfig(['supysonic.conf'])), threaded=True)\n")
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed after the server
    server = subprocess.Popen([sys.executable, "-c", code], cwd=folder, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, server)
        password_file = folder / "password"
        password_file.write_text("sesame\n")
        yield Subsonic(f"http://127.0.0.1:{port}", "alice", "sesame", password_file, music)
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the server exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        assert time.monotonic() < deadline, "the server did not start listening"
        time.sleep(0.1)


@contextlib.contextmanager
def running_mpd(mpd: str, folder: Path, music: Path) -> Iterator[int]:
    """Debian's mpd over `music` on a loopback port, with no audio output (a null sink)."""
    port = free_port()
    conf = folder / "mpd.conf"
    conf.write_text(
        f'music_directory "{music}"\nplaylist_directory "{folder}"\n'
        f'db_file "{folder / "mpd.db"}"\nstate_file "{folder / "state"}"\n'
        f'pid_file "{folder / "mpd.pid"}"\nbind_to_address "127.0.0.1"\nport "{port}"\n'
        'zeroconf_enabled "no"\n'
        'audio_output {\n type "null"\n name "none"\n}\n')
    log = open(folder / "mpd.log", "wb")  # noqa: SIM115 - closed after the server
    server = subprocess.Popen([mpd, "--no-daemon", "--stderr", str(conf)], stdout=log,
                              stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(folder)})
    try:
        _wait_for_port(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(10)
        log.close()
