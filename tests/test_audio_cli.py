"""The analyze and sketch commands of `musicrec`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musicrec.cli import app as musicrec_cli

pytestmark = pytest.mark.audio

app = musicrec_cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_sketch_then_analyze_to_json_and_csv(runner: CliRunner, tmp_path: Path) -> None:
    from musicrec.catalogue import read_catalogue

    wav = tmp_path / "songs" / "sketch.wav"
    wav.parent.mkdir()
    done = runner.invoke(app, ["sketch", "--target-tempo", "120", "--target-key", "2",
                               "--target-mode", "0", "--target-loudness", "-9",
                               "--out", str(wav), "--seconds", "12"])
    assert done.exit_code == 0, done.output
    assert wav.is_file()
    out = tmp_path / "songs.csv"
    done = runner.invoke(app, ["analyze", str(wav.parent), "--json", "--out", str(out),
                               "--workers", "1"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert abs(row["tempo"] - 120) < 2.4 and (row["key"], row["mode"]) == (2, 0)
    assert row["valence"] is None and "valence" in row["unknown"]
    assert read_catalogue(out).rows_kept == 1


def test_analyze_reports_each_bad_file_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    from musicrec.audio.synthetic import chord_progression, click_track

    sf.write(tmp_path / "good.flac", chord_progression(0, 1, 6) + click_track(120, 6), 22050)
    (tmp_path / "bad.mp3").write_text("not audio")
    sf.write(tmp_path / "quiet.wav", np.zeros(22050 * 3), 22050)
    done = runner.invoke(app, ["analyze", str(tmp_path), "--workers", "1"])
    assert done.exit_code == 1
    assert "Traceback" not in done.output
    errors = [line for line in done.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("bad.mp3" in e for e in errors) and any("quiet.wav: silent" in e for e in errors)
    assert "2 of 3 file(s) could not be analysed" in done.output
    assert "good.flac" in done.output  # the good file's row is still shown


def test_user_mistakes_are_one_line(runner: CliRunner, tmp_path: Path) -> None:
    done = runner.invoke(app, ["analyze", str(tmp_path / "nope")])
    assert done.exit_code == 1 and "no such file or folder" in done.output
    done = runner.invoke(app, ["analyze", str(tmp_path)])
    assert done.exit_code == 1 and "no audio files found" in done.output
    done = runner.invoke(app, ["sketch", "--target-tempo", "999", "--out",
                               str(tmp_path / "x.wav")])
    assert done.exit_code == 1 and "tempo must be in 40..250" in done.output
    assert "Traceback" not in done.output


def test_recommend_from_an_audio_file(runner: CliRunner, tmp_path: Path,
                                      small_library_path: Path) -> None:
    wav = tmp_path / "mine.wav"
    made = runner.invoke(app, ["sketch", "--out", str(wav), "--seconds", "12",
                               "--target-tempo", "128", "--target-energy", "0.9"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["recommend", "--seed-audio", str(wav), "--json", "--limit", "5",
                                 "--library", str(small_library_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["tracks"]) == 5 and data["seeds"][0]["type"] == "FEATURES"
    tempos = [t["tempo"] for t in data["tracks"]]
    assert sum(abs(t - 128) < 20 for t in tempos) >= 3, tempos


def test_sketch_a_library_song_and_a_family(runner: CliRunner, tmp_path: Path,
                                            small_library: object,
                                            small_library_path: Path) -> None:
    song_id = small_library.tracks([0])[0]["id"]
    for option, value in (("--song", song_id), ("--family", "0")):
        out = tmp_path / f"{option[2:]}.wav"
        result = runner.invoke(app, ["sketch", option, value, "--out", str(out), "--seconds",
                                     "3", "--library", str(small_library_path)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 3 * 22050


def test_api_analyses_an_uploaded_file(tmp_path: Path, small_library: object) -> None:
    from fastapi.testclient import TestClient

    from musicrec.api import create_app
    from musicrec.library import LiveLibrary

    wav = tmp_path / "up.wav"
    assert CliRunner().invoke(app, ["sketch", "--out", str(wav), "--seconds", "10",
                                    "--target-tempo", "100", "--target-key", "7"]).exit_code == 0
    client = TestClient(create_app(LiveLibrary(small_library.path)))
    answer = client.post("/v1/musicrec/audio-features",
                         files={"file": ("up.wav", wav.read_bytes(), "audio/wav")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["type"] == "audio_features" and body["key"] == 7
    assert abs(body["tempo"] - 100) < 3
    bad = client.post("/v1/musicrec/audio-features",
                      files={"file": ("notes.wav", b"not audio at all", "audio/wav")})
    assert bad.status_code == 400 and set(bad.json()) == {"error"}
