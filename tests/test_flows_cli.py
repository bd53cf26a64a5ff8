"""The continue, journey and radio commands, in-process with Typer's runner: their options,
orders, exclusions and artist window, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from musicrec.cli import app
from musicrec.library import Library
from musicrec.playlist_files import read_playlist
from musicrec.playlists import to_jspf, to_m3u
from test_sequence import KEYLESS_NOTE, keyless_library

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_continue_a_jspf_playlist_as_json(small_library: Library, small_library_path: Path,
                                          tmp_path: Path) -> None:
    playlist = small_library.tracks(list(range(0, 300, 20)))
    file = tmp_path / "mine.jspf"
    file.write_text(json.dumps(to_jspf(playlist)))
    code, out, err = run("continue", str(file), "--count", "7", "--max-energy", "0.9",
                         "--library", str(small_library_path), "--json")
    assert code == 0, err
    body = json.loads(out)
    assert len(body["tracks"]) == 7 and body["playlist_songs"] == 15 and body["unknown"] == 0
    track = body["tracks"][0]
    # The API's track shape.
    assert track["type"] == "track" and track["uri"].startswith("spotify:track:")
    assert {"album", "artists", "duration_ms", "external_urls"} <= set(track)
    assert not {t["id"] for t in body["tracks"]} & {t["id"] for t in playlist}
    energy = small_library.numeric("energy")
    assert all(energy[small_library.row_of(t["id"])] <= 0.9 for t in body["tracks"])


def test_continue_from_stdin_writes_an_m3u(small_library: Library, small_library_path: Path,
                                           tmp_path: Path) -> None:
    uris = "".join(f"spotify:track:{t['id']}\n" for t in small_library.tracks([1, 2, 3, 4]))
    out_file = tmp_path / "more.m3u"
    code, out, err = run("continue", "-", "--count", "5", "--library",
                         str(small_library_path), "--out", str(out_file), stdin=uris)
    assert code == 0, err
    assert "wrote 5 songs" in err and "#" in out
    assert len(read_playlist(out_file.read_text()).entries) == 5


def test_continue_errors_are_one_line(small_library_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jspf"
    bad.write_text("{oops")
    for args, message in (
        ((str(bad),), "not valid JSON"),
        ((str(tmp_path / "none.csv"),), "no playlist file"),
        ((str(bad), "--format", "wav"), "unknown playlist format"),
        ((str(bad), "--target-energy", "0.5"), "not targets"),
    ):
        code, out, err = run("continue", *args, "--library", str(small_library_path))
        assert code == 1 and message in err and "Traceback" not in err + out


def test_journey_json_and_errors(small_library: Library, small_library_path: Path,
                                 tmp_path: Path) -> None:
    a, b = (t["id"] for t in small_library.tracks([3, 1500]))
    code, out, err = run("journey", a, b, "--length", "6", "--library",
                         str(small_library_path), "--json", "--out", str(tmp_path / "j.xspf"))
    assert code == 0, err
    tracks = json.loads(out)["tracks"]
    assert len(tracks) == 6 and tracks[0]["id"] == a and tracks[-1]["id"] == b
    assert [e.id for e in read_playlist((tmp_path / "j.xspf").read_text()).entries] == \
        [t["id"] for t in tracks]
    code, _, err = run("journey", a, a, "--library", str(small_library_path))
    assert code == 1 and "two different songs" in err
    code, out, err = run("journey", a, b, "--library", str(small_library_path))
    assert code == 0 and "#" in out


def test_radio_pages_with_a_cursor_and_feedback(small_library: Library,
                                                small_library_path: Path) -> None:
    seed = small_library.tracks([8])[0]["id"]
    lib_args = ("--library", str(small_library_path))
    code, out, err = run("radio", seed, "--count", "10", *lib_args, "--json")
    assert code == 0, err
    first = json.loads(out)
    code, out, err = run("radio", "--cursor", first["cursor"], "--like",
                         first["tracks"][0]["id"], "--skip", first["tracks"][1]["id"],
                         "--count", "10", *lib_args, "--json")
    assert code == 0, err
    second = json.loads(out)
    ids = [t["id"] for t in first["tracks"] + second["tracks"]]
    assert len(set(ids)) == 20 and seed not in ids
    code, out, err = run("radio", seed, "--count", "3", *lib_args)
    assert code == 0 and "next: musicrec radio --cursor" in err
    for args, message in ((("--cursor", "garbage"), "radio cursor is not valid"),
                          ((), "give 1 to 5 seeds"),
                          ((seed, "--cursor", first["cursor"]), "not both")):
        code, _, err = run("radio", *args, *lib_args)
        assert code == 1 and message in err, err


def test_m3u_export_matches_the_playlist_module(small_library: Library) -> None:
    assert to_m3u(small_library.tracks([1])).startswith("#EXTM3U\n#EXTINF:")


def test_radio_seeds_from_a_playlist_file(small_library: Library, small_library_path: Path,
                                          tmp_path: Path) -> None:
    file = tmp_path / "seeds.m3u"
    file.write_text(to_m3u(small_library.tracks([20, 21, 22, 23, 24, 25, 26])))
    code, out, err = run("radio", "--seeds-file", str(file), "--count", "5", "--json",
                         "--library", str(small_library_path))
    assert code == 0, err
    assert len(json.loads(out)["tracks"]) == 5


# --- orders, exclusions and the artist window -------------------------------------------------

def credits(lib: Library, track_ids: list[str]) -> set[str]:
    rows = [r for r in lib.rows_of(track_ids) if r is not None]
    return {a for t in lib.tracks(rows) for a in t["artist_ids"]}


def test_radio_order_window_and_exclusions_carry_over(small_library: Library,
                                                      small_library_path: Path) -> None:
    lib_args = ("--library", str(small_library_path))
    seed = small_library.tracks([15])[0]["id"]
    code, out, err = run("radio", seed, "--count", "10", *lib_args, "--json")
    first = [t["id"] for t in json.loads(out)["tracks"]]
    track = small_library.tracks([small_library.row_of(first[0])])[0]
    name, banned = track["artists"][0], {track["artist_ids"][0]}
    code, out, err = run("radio", seed, "--count", "12", "--order", "energy-up",
                         "--artist-gap", "15", "--exclude-artist", name, *lib_args, "--json")
    assert code == 0, err
    body = json.loads(out)
    played = [t["id"] for t in body["tracks"]]
    code, out, err = run("radio", "--cursor", body["cursor"], "--count", "12", *lib_args,
                         "--json")
    assert code == 0, err
    played += [t["id"] for t in json.loads(out)["tracks"]]
    assert len(played) == 24 and not credits(small_library, played) & banned
    artists = small_library.primary_artist[small_library.rows_of(played)].tolist()
    assert all(a not in artists[max(0, i - 15):i] for i, a in enumerate(artists))
    energy = small_library.numeric("energy")[small_library.rows_of(played[12:])]
    assert np.corrcoef(np.arange(12), energy)[0, 1] > 0.5


def test_continue_and_journey_take_the_variety_options(small_library: Library,
                                                       small_library_path: Path,
                                                       tmp_path: Path) -> None:
    lib_args = ("--library", str(small_library_path))
    file = tmp_path / "list.m3u"
    file.write_text(to_m3u(small_library.tracks(list(range(60, 80)))))
    album = small_library.tracks([61])[0]["album_id"]
    artist = small_library.tracks([62])[0]["artist_ids"][0]
    code, out, err = run("continue", str(file), "--count", "12", "--order", "arc",
                         "--artist-gap", "4", "--exclude-album", album, "--exclude-artist",
                         artist, *lib_args, "--json", "--out", str(tmp_path / "more.xspf"))
    assert code == 0, err
    tracks = json.loads(out)["tracks"]
    assert len(tracks) == 12 and artist not in credits(small_library, [t["id"] for t in tracks])
    assert all(t["album"]["id"] != album for t in tracks)
    # The file keeps the order.
    assert [e.id for e in read_playlist((tmp_path / "more.xspf").read_text()).entries] == \
        [t["id"] for t in tracks]
    a, b = (t["id"] for t in small_library.tracks([3, 1500]))
    code, out, err = run("journey", a, b, "--length", "7", "--order", "energy-down",
                         "--exclude-artist", artist, *lib_args, "--json")
    assert code == 0, err
    assert [t["id"] for t in json.loads(out)["tracks"]][::6] == [a, b]


def test_variety_errors_are_one_line(small_library: Library, small_library_path: Path,
                                     tmp_path: Path) -> None:
    file = tmp_path / "list.m3u"
    file.write_text(to_m3u(small_library.tracks([1, 2, 3])))
    loud = np.flatnonzero(small_library.numeric("energy") >= 0.99).tolist()
    everyone = sorted(credits(small_library, [t["id"] for t in small_library.tracks(loud)]))
    seed = small_library.tracks([8])[0]["id"]
    for args, message in (
        (("continue", str(file), "--min-energy", "0.99",
          *(x for a in everyone for x in ("--exclude-artist", a))),
         "no song is left once the filters and exclusions apply"),
        (("continue", str(file), "--exclude-artist", "Nobody Here"),
         "artist 'Nobody Here' is not in the library"),
        (("continue", str(file), "--order", "loudest"), "order"),
        (("radio", seed, "--exclude-album", "none"), "album 'none' is not in the library"),
        (("radio", seed, "--artist-gap", "1000"), "artist_gap"),
    ):
        code, out, err = run(*args, "--library", str(small_library_path))
        assert code == 1 and message in err and "Traceback" not in err + out, (args, err)
        assert len(err.strip().splitlines()) == 1, err


def test_a_library_without_keys_says_so(tmp_path: Path) -> None:
    lib = Library.open(keyless_library(tmp_path))
    seed = lib.tracks([5])[0]["id"]
    code, out, err = run("radio", seed, "--count", "8", "--library", str(lib.path), "--json")
    assert code == 0, err
    assert json.loads(out)["note"] == KEYLESS_NOTE and f"note: {KEYLESS_NOTE}" in err
    code, out, err = run("radio", seed, "--count", "8", "--order", "relevance", "--library",
                         str(lib.path), "--json")
    assert "note" not in json.loads(out)
