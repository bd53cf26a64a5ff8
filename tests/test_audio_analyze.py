"""Audio analysis on synthetic signals with known answers, real files in every container, and
every kind of bad input."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import debian_tool
from musicrec.audio.analyze import (
    AnalysisFailure,
    AnalysisResult,
    analyze_file,
    analyze_paths,
    analyze_signal,
    analyze_upload,
    write_catalogue_csv,
)
from musicrec.audio.errors import AudioError
from musicrec.audio.loudness import integrated_loudness, k_weighting_sos
from musicrec.audio.synthetic import chord_progression, click_track, sine

pytestmark = pytest.mark.audio

SR = 22050


def song(bpm: float, key: int, mode: int, seconds: float = 15.0) -> np.ndarray:
    return chord_progression(key, mode, seconds, bpm) * 0.6 + click_track(bpm, seconds)


@pytest.mark.parametrize(("bpm", "key", "mode"), [
    (72, 2, 1), (96, 9, 0), (120, 0, 1), (128, 5, 0), (150, 11, 1), (174, 7, 0)])
def test_tempo_key_and_mode_of_synthetic_songs(bpm: float, key: int, mode: int) -> None:
    features, descriptors, unknown = analyze_signal(song(bpm, key, mode), SR)
    assert abs(features["tempo"] - bpm) / bpm < 0.02
    assert (features["key"], features["mode"]) == (key, mode)
    assert features["duration_ms"] == 15000
    assert set(unknown) >= {"valence", "liveness", "instrumentalness"}
    assert all(features[k] is None for k in ("valence", "liveness", "instrumentalness"))
    for name in ("danceability", "energy", "speechiness", "acousticness"):
        assert 0.0 <= features[name] <= 1.0


def test_accented_bars_give_the_time_signature() -> None:
    three = chord_progression(4, 1, 20, 100, beats_per_bar=3) * 0.3 + \
        click_track(100, 20, accent_every=3)
    four = chord_progression(4, 1, 20, 100) * 0.3 + click_track(100, 20, accent_every=4)
    assert analyze_signal(three, SR)[0]["time_signature"] == 3
    assert analyze_signal(four, SR)[0]["time_signature"] == 4


def test_noise_has_no_key() -> None:
    noise = np.random.default_rng(3).standard_normal(SR * 10).astype(np.float32) * 0.1
    features, _, unknown = analyze_signal(noise, SR)
    assert features["key"] == -1
    assert "key" in unknown


def test_jittered_beats_are_less_danceable(rng: np.random.Generator) -> None:
    steady = analyze_signal(song(120, 2, 1, 20), SR)[0]["danceability"]
    loose = chord_progression(2, 1, 20, 120) * 0.6 + click_track(120, 20, jitter_s=0.05, rng=rng)
    assert analyze_signal(loose, SR)[0]["danceability"] < steady - 0.1


def test_k_weighting_matches_the_standard_at_48k() -> None:
    # BS.1770-4 table 1 and 2 coefficients.
    shelf, highpass = k_weighting_sos(48000)
    assert np.allclose(shelf, [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0,
                               -1.69065929318241, 0.73248077421585], atol=1e-8)
    assert np.allclose(highpass[4:], [-1.99004745483398, 0.99007225036621], atol=1e-8)


@pytest.mark.parametrize("level_db", [-30.0, -20.0, -6.0, 0.0])
def test_loudness_of_a_sine_is_known(level_db: float) -> None:
    # A 997 Hz sine at 0 dBFS reads -3.01 LUFS in one channel (BS.1770-4, section 2).
    x = sine(997.0, 5.0, 48000, amplitude=10 ** (level_db / 20))
    assert integrated_loudness(x, 48000) == pytest.approx(level_db - 3.01, abs=0.05)
    stereo = np.vstack([x, x])
    assert integrated_loudness(stereo, 48000) == pytest.approx(level_db, abs=0.05)


def test_loudness_agrees_with_pyloudnorm() -> None:
    pyloudnorm = pytest.importorskip("pyloudnorm", reason="the reference meter (test extra)")
    x = song(110, 3, 0, 12)
    ours = integrated_loudness(x, SR)
    reference = pyloudnorm.Meter(SR).integrated_loudness(x.astype(np.float64))
    assert ours == pytest.approx(reference, abs=0.1)


def test_loudness_ramp_is_tracked_section_by_section() -> None:
    levels = [-36.0, -28.0, -20.0, -12.0, -4.0]
    sections = [chord_progression(0, 1, 4, 120) for _ in levels]
    scaled = []
    for level, x in zip(levels, sections, strict=True):
        scaled.append(x * 10 ** ((level - integrated_loudness(x, SR)) / 20))
    ramp = np.concatenate(scaled)
    n = 4 * SR
    measured = [integrated_loudness(ramp[i * n:(i + 1) * n], SR) for i in range(len(levels))]
    assert np.allclose(measured, levels, atol=0.1)
    # The whole ramp, gated: the quietest parts fall under the relative gate (-10 LU).
    whole = analyze_signal(ramp, SR)[0]["loudness"]
    assert -12.0 < whole < -4.0


def test_speech_and_music_are_told_apart(tmp_path: Path) -> None:
    debian_tool("espeak-ng")
    wav = tmp_path / "speech.wav"
    text = ("The committee met on Tuesday to discuss the budget for next year. Several members "
            "raised concerns about the cost of the new library, while others argued that the "
            "town had waited long enough.")
    subprocess.run(["espeak-ng", "-w", str(wav), "-s", "160", text], check=True, timeout=60)
    speech = analyze_file(wav)
    music = analyze_signal(song(120, 2, 1), SR)[0]
    assert speech.features["speechiness"] > 0.66, speech.descriptors
    assert music["speechiness"] < 0.33


def test_acoustic_timbre_scores_higher_than_saw_and_noise(rng: np.random.Generator) -> None:
    t = np.arange(10 * SR) / SR
    plucked = chord_progression(0, 1, 10, 120)
    saw = sum(np.sin(2 * np.pi * 220 * h * t) / h for h in range(1, 40)) * 0.2
    saw = (np.tanh(3 * saw) + rng.standard_normal(len(t)) * 0.05).astype(np.float32)
    saw += click_track(120, 10) * 0.5
    assert analyze_signal(plucked, SR)[0]["acousticness"] > \
        analyze_signal(saw, SR)[0]["acousticness"] + 0.3


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import soundfile as sf

    folder = tmp_path_factory.mktemp("audio")
    y = song(120, 2, 1, 12)
    for ext in ("wav", "flac", "ogg", "mp3"):
        sf.write(folder / f"song.{ext}", y, SR)
    return folder


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_every_container_decodes_to_the_same_answer(audio_dir: Path, ext: str) -> None:
    result = analyze_file(audio_dir / f"song.{ext}")
    assert result.decoder == "soundfile"  # MP3 too: libsndfile >= 1.1
    assert abs(result.features["tempo"] - 120) < 2.4
    assert (result.features["key"], result.features["mode"]) == (2, 1)
    assert abs(result.features["duration_ms"] - 12000) < 100  # MP3 adds encoder padding
    assert result.name == "song" and result.artists == "unknown artist"
    assert len(result.id) == 22


def test_codecs_soundfile_lacks_go_through_ffmpeg(audio_dir: Path, tmp_path: Path) -> None:
    debian_tool("ffmpeg")
    m4a = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(audio_dir / "song.wav"),
                    "-c:a", "aac", "-metadata", "title=From AAC", str(m4a)],
                   check=True, timeout=60)
    result = analyze_file(m4a)
    assert result.decoder == "ffmpeg (aac)" and result.name == "From AAC"
    assert abs(result.features["tempo"] - 120) < 2.4
    assert (result.features["key"], result.features["mode"]) == (2, 1)


def test_tags_and_content_id(tmp_path: Path) -> None:
    import soundfile as sf

    path = tmp_path / "tagged.flac"
    with sf.SoundFile(path, "w", SR, 1) as f:
        f.title, f.artist, f.album, f.date = "My Song", "The Testers", "Tests", "2024-05-01"
        f.write(song(100, 5, 0, 6))
    result = analyze_file(path)
    assert (result.name, result.artists, result.album, result.year) == (
        "My Song", "The Testers", "Tests", 2024)
    copy = tmp_path / "copy.flac"
    copy.write_bytes(path.read_bytes())
    assert analyze_file(copy).id == result.id


def _write_bad_files(folder: Path, ffmpeg: bool = bool(shutil.which("ffmpeg"))
                     ) -> dict[str, str]:
    """Bad files and the words their one-line errors must contain, with or without ffmpeg."""
    import soundfile as sf

    good = song(120, 2, 1, 6)
    sf.write(folder / "good.wav", good, SR)
    (folder / "text.wav").write_text("hello, this is not audio\n" * 50)
    (folder / "empty.wav").write_bytes(b"")
    header_only = (folder / "good.wav").read_bytes()[:30]
    (folder / "truncated.wav").write_bytes(header_only)
    sf.write(folder / "silence.flac", np.zeros(SR * 5, dtype=np.float32), SR)
    sf.write(folder / "short.wav", good[: SR // 2], SR)
    data = bytearray((folder / "good.wav").read_bytes())
    data[20:22] = struct.pack("<H", 0x1234)  # a WAV format tag no decoder knows
    (folder / "codec.wav").write_bytes(bytes(data))
    return {"text.wav": "not an audio file", "empty.wav": "empty file",
            "truncated.wav": "truncated", "silence.flac": "silent", "short.wav": "too short",
            "codec.wav": "unsupported codec" if ffmpeg else "needs ffmpeg"}


@pytest.mark.parametrize("ffmpeg", [True, False], ids=["with-ffmpeg", "without-ffmpeg"])
def test_bad_files_give_one_clear_line_each(tmp_path: Path, ffmpeg: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if ffmpeg:
        debian_tool("ffmpeg")
    else:
        monkeypatch.setattr("musicrec.audio.decode.shutil.which", lambda name: None)
    expected = _write_bad_files(tmp_path, ffmpeg)
    for name, words in expected.items():
        with pytest.raises(AudioError) as error:
            analyze_file(tmp_path / name)
        message = str(error.value)
        assert "\n" not in message and name in message and words in message, message
    with pytest.raises(AudioError, match="no such file"):
        analyze_file(tmp_path / "missing.wav")


def test_a_folder_goes_on_past_bad_files_on_every_core(tmp_path: Path) -> None:
    import soundfile as sf

    expected = _write_bad_files(tmp_path)
    sf.write(tmp_path / "sub_second.flac", song(100, 9, 0, 6), SR)  # any order, any depth
    (tmp_path / "notes.txt").write_text("not an audio extension: skipped")
    items = list(analyze_paths([tmp_path], workers=2))
    results = [i for i in items if isinstance(i, AnalysisResult)]
    failures = [i for i in items if isinstance(i, AnalysisFailure)]
    assert sorted(Path(r.path).name for r in results) == ["good.wav", "sub_second.flac"]
    assert sorted(Path(f.path).name for f in failures) == sorted(expected)


def test_a_three_hour_file_is_analysed_from_its_start(tmp_path: Path) -> None:
    import soundfile as sf

    path = tmp_path / "three_hours.flac"
    sr = 8000
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        f.write(chord_progression(2, 1, 60, 120, sr=sr) * 0.6 + click_track(120, 60, sr=sr))
        silence = np.zeros(sr * 600, dtype=np.float32)
        for _ in range(17):  # digital silence: FLAC stores the 3 hours in about 0.5 MB
            f.write(silence)
        f.write(silence[: sr * 540])
    result = analyze_file(path, max_seconds=30)
    assert result.features["duration_ms"] == 3 * 3600 * 1000
    assert result.analysed_seconds == 30.0
    assert abs(result.features["tempo"] - 120) < 2.4


def test_csv_is_accepted_by_the_catalogue(audio_dir: Path, tmp_path: Path) -> None:
    from musicrec.catalogue import read_catalogue
    from musicrec.schema import KAGGLE_HEADER

    results = [analyze_file(audio_dir / f"song.{ext}") for ext in ("wav", "flac")]
    out = write_catalogue_csv(results, tmp_path / "songs.csv")
    header = out.read_text().splitlines()[0]
    assert header == ",".join(KAGGLE_HEADER)
    assert header.startswith("id,name,album,album_id,artists,artist_ids,track_number")
    catalogue = read_catalogue(out)
    assert catalogue.rows_kept == 2 and catalogue.rows_rejected == 0
    row = catalogue.table.to_pylist()[0]
    assert row["tempo"] == pytest.approx(results[0].features["tempo"], abs=0.01)
    unknown = [k for k, v in results[0].features.items() if v is None]
    assert unknown and all(row[k] is None for k in unknown), "unknown, never invented"


def test_analysed_songs_join_a_catalogue_and_are_recommended(
        audio_dir: Path, tmp_path: Path, small_csv: Path) -> None:
    import pandas as pd

    from musicrec.build import build_library
    from musicrec.library import Library
    from musicrec.request import RecommendRequest

    mine = write_catalogue_csv([analyze_file(audio_dir / "song.wav")], tmp_path / "mine.csv")
    both = tmp_path / "both.csv"
    pd.concat([pd.read_csv(small_csv, dtype=str), pd.read_csv(mine, dtype=str)]).to_csv(
        both, index=False)
    lib = Library.open(build_library(both, tmp_path / "lib").path)
    song = pd.read_csv(mine, dtype=str)["id"][0]
    result = lib.recommend(RecommendRequest(seed_tracks=[song], limit=5, min={"tempo": 60}))
    assert len(result.tracks) == 5


def test_musicrec_imports_without_the_audio_extra() -> None:
    # A meta-path finder that hides soundfile, soxr and librosa, as on a plain install.
    code = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('soundfile', 'soxr', 'librosa'):
            raise ImportError('hidden: ' + name)
sys.meta_path.insert(0, Hide())
import musicrec, musicrec.audio, musicrec.cli, musicrec.audio.analyze
from musicrec.audio import AudioError, analyze_file
try:
    analyze_file(sys.argv[1])
except AudioError as exc:
    print(exc)
from typer.testing import CliRunner
from musicrec.cli import app
for args in (["analyze", sys.argv[1]], ["sketch", "--out", "x.wav"]):
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 1 and len(done.output.strip().splitlines()) == 1, done.output
    print(done.output.strip())
"""
    wav = Path(__file__).parent / "data"  # any existing path: the extra is checked first
    done = subprocess.run([sys.executable, "-c", code, str(wav)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              sys.path)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3 and all("pip install 'musicrec[audio]'" in line for line in lines)


def test_an_upload_seeds_the_feature_pipeline(audio_dir: Path, small_library) -> None:
    with open(audio_dir / "song.ogg", "rb") as stream:
        result = analyze_upload(stream, "upload from a phone.ogg")
    assert result.path == "upload from a phone.ogg" and result.name == "upload from a phone"
    assert result.id == analyze_file(audio_dir / "song.ogg").id
    spotify = result.spotify_audio_features()
    assert spotify["type"] == "audio_features" and spotify["valence"] is None
    assert "valence" in spotify["musicrec"]["unknown"]
    columns = result.feature_columns([f.name for f in small_library.pipeline.features])
    assert columns["tempo"].shape == (1,) and np.isnan(columns["valence"][0])
    assert np.isnan(columns["year"][0])
    vector = small_library.pipeline.transform(columns)
    assert vector.shape == (1, len(small_library.pipeline.dims)) and np.isfinite(vector).all()
