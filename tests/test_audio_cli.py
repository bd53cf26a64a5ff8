"""The analyze and sketch commands, registered on a small Typer app as cli.py will do."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from musicrec.cli_audio import analyze_command, sketch_command


def _need(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{module} not installed (pip install 'musicrec[audio]')",
                    allow_module_level=True)


_need("soundfile")
_need("soxr")

app = typer.Typer()
app.command("analyze")(analyze_command)
app.command("sketch")(sketch_command)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_sketch_then_analyze_to_json_and_csv(runner: CliRunner, tmp_path: Path) -> None:
    from musicrec.catalog import read_catalog

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
    assert read_catalog(out).rows_kept == 1


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
