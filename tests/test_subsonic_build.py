"""`musicrec build --subsonic`: a library from a real Subsonic server (supysonic on loopback),
cached per song, so a second build analyses nothing."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import quick_build
from musicrec.cli import app
from musicrec.integrations.audio_library import AnalysisCache, default_cache
from musicrec.integrations.subsonic_build import build_from_subsonic, song_of
from musicrec.integrations.subsonic_client import SubsonicClient, SubsonicError
from musicrec.library import Library

pytestmark = [pytest.mark.audio, pytest.mark.slow]


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def test_the_build_analyses_every_song_once_and_keeps_the_servers_ids(
        subsonic_server, subsonic_library: Path, tmp_path: Path) -> None:
    # subsonic_library is built from the server with a cache beside it (conftest).
    cache = subsonic_library.parent / "cache"
    with SubsonicClient(subsonic_server.url, subsonic_server.user,
                        subsonic_server.password) as client:
        children = list(client.songs())
        again = build_from_subsonic(client, tmp_path / "lib", cache, workers=1,
                                    config=quick_build())
    assert len(children) == 41
    assert (again.analysed, again.reused) == (0, 41)
    # The 1-second song cannot be analysed: rejected like a row, the build goes on.
    assert [s.title for s, _ in again.failures] == ["Song 40"]
    assert "2 s" in again.failures[0][1]
    assert again.report.rows_kept == 40 and sum(again.report.rejected.values()) == 1
    lib = Library.open(subsonic_library)
    assert len(lib) == 40
    song = next(c for c in children if c["title"] == "Song 07")
    track = lib.tracks([lib.row_of(song["id"])])[0]
    assert track["name"] == "Song 07" and track["album"] == "Album 7"
    assert track["year"] == 1977 and track["genre"] == "Folk"
    assert "Artist 7" in str(track["artists"])
    # rejected.csv names the row of the catalogue written from the server's songs.
    rows = {int(r["row"]) for r in read_csv(subsonic_library / "rejected.csv")
            if r["action"] == "rejected"}
    written = read_csv(cache / "songs.csv")
    assert [written[r - 2]["name"] for r in rows] == ["Song 40"]


def test_a_changed_song_is_analysed_again(subsonic_server, tmp_path: Path) -> None:
    cache = AnalysisCache(tmp_path / "cache")
    with SubsonicClient(subsonic_server.url, subsonic_server.user,
                        subsonic_server.password) as client:
        song = song_of(next(iter(client.songs())))
    cache.put(song, features={"tempo": 100.0})
    assert cache.get(song) is not None
    grown = song.__class__(**{**song.__dict__, "size": song.size + 1})
    assert cache.get(grown) is None


def test_wrong_credentials_are_one_clear_line(subsonic_server, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    result = CliRunner().invoke(app, [
        "build", "--subsonic", subsonic_server.url, "--user", "alice", "--password-file",
        str(wrong), "--library", str(tmp_path / "lib")])
    assert result.exit_code == 1
    assert "code 40" in result.output and "Traceback" not in result.output
    with SubsonicClient(subsonic_server.url, "alice", "nope") as client, \
            pytest.raises(SubsonicError) as refused:
        client.ping()
    assert refused.value.code == 40


def test_the_cli_builds_from_the_server_and_reports_what_it_analysed(
        subsonic_server, subsonic_library: Path, tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    # A cache that holds every song but one: the build analyses that one only.
    cache = default_cache(dest)
    shutil.copytree(subsonic_library.parent / "cache", cache)
    with SubsonicClient(subsonic_server.url, subsonic_server.user,
                        subsonic_server.password) as client:
        forgotten = song_of(next(c for c in client.songs() if c["title"] == "Song 03"))
    AnalysisCache(cache)._path(forgotten.id).unlink()
    args = ["build", "--subsonic", subsonic_server.url, "--user", "alice", "--password-file",
            str(subsonic_server.password_file), "--library", str(dest), "--workers", "1"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "analysed 1 song(s), 40 from the cache" in first.output
    assert "not analysed: Song 40" in first.output and "sesame" not in first.output
    failures = read_csv(cache / "failures.csv")
    assert [f["title"] for f in failures] == ["Song 40"]


@pytest.mark.parametrize(("args", "message"), [
    (["build"], "give the catalogue files, --subsonic URL or --mpd-music-dir"),
    (["build", "--subsonic", "http://127.0.0.1:9"], "needs --user and --password-file"),
    (["build", "--subsonic", "music.example.org", "--user", "a", "--password-file", "x"],
     "http://HOST:PORT"),
    (["build", "x.csv", "--mpd-music-dir", "."], "not both"),
    (["serve", "--subsonic-upstream", "localhost:4533"], "http://HOST:PORT"),
])
def test_a_mistaken_command_is_one_clear_line(args: list[str], message: str,
                                              tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*args, "--library", str(tmp_path / "lib")])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_an_empty_password_file_is_refused(subsonic_server, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = CliRunner().invoke(app, ["build", "--subsonic", subsonic_server.url, "--user",
                                      "alice", "--password-file", str(empty), "--library",
                                      str(tmp_path / "lib")])
    assert result.exit_code == 1 and "is empty" in result.output


def test_an_interrupted_build_goes_on_where_it_stopped(mpd_music: Path, tmp_path: Path) -> None:
    from musicrec.integrations.audio_library import build_audio_library, folder_songs

    songs = folder_songs(mpd_music)[:12]
    calls: list[str] = []

    def dies_on_the_tenth(song, scratch: Path) -> Path:
        calls.append(song.id)
        if len(calls) == 10:
            raise RuntimeError("killed")
        return mpd_music / song.id

    dest, cache = tmp_path / "lib", tmp_path / "cache"
    with pytest.raises(RuntimeError, match="killed"):
        build_audio_library(songs, dies_on_the_tenth, dest, cache, origin="test", workers=1,
                            fetchers=1, config=quick_build())
    assert not dest.exists()
    done = build_audio_library(songs, lambda song, _: mpd_music / song.id, dest, cache,
                               origin="test", workers=1, fetchers=1, config=quick_build())
    # The first batch of 8 was analysed and cached before the interruption.
    assert (done.analysed, done.reused) == (len(songs) - 8, 8)
    assert len(Library.open(dest)) == len(songs) - len(done.failures)
