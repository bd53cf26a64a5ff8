"""Sketches: features rendered as sound, and measured back by the analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec.audio.analyze import analyze_file, analyze_signal
from musicrec.audio.errors import AudioError
from musicrec.audio.loudness import integrated_loudness
from musicrec.audio.sketch import (
    sketch,
    sketch_for_features,
    sketch_for_track,
    write_wav,
)

pytestmark = pytest.mark.audio

SR = 22050


def test_shape_dtype_range_and_determinism() -> None:
    a = sketch({"tempo": 100, "key": 4}, seconds=5)
    assert a.shape == (5 * SR,) and a.dtype == np.float32
    assert np.abs(a).max() <= 1.0
    assert np.array_equal(a, sketch({"tempo": 100, "key": 4}, seconds=5))
    assert not np.array_equal(a, sketch({"tempo": 100, "key": 4}, seconds=5, seed=1))


@pytest.mark.parametrize("vector", [
    {"tempo": 84.0, "key": 9, "mode": 0, "loudness": -14.0, "energy": 0.3,
     "danceability": 0.8, "acousticness": 0.9},
    {"tempo": 128.0, "key": 1, "mode": 1, "loudness": -6.0, "energy": 0.9,
     "danceability": 0.9, "acousticness": 0.05},
    {"tempo": 102.0, "key": 6, "mode": 1, "loudness": -20.0, "energy": 0.5,
     "danceability": 0.4, "acousticness": 0.5},
    {"tempo": 145.0, "key": 11, "mode": 0, "loudness": -4.0, "energy": 0.8,
     "danceability": 0.6, "acousticness": 0.2},
])
def test_round_trip_recovers_tempo_key_mode_and_loudness(vector: dict[str, float]) -> None:
    features = analyze_signal(sketch(vector, seconds=15), SR)[0]
    assert abs(features["tempo"] - vector["tempo"]) / vector["tempo"] < 0.02
    assert (features["key"], features["mode"]) == (vector["key"], vector["mode"])
    assert features["loudness"] == pytest.approx(vector["loudness"], abs=1.0)


def test_loudness_target_is_met_for_quiet_peaky_and_loud_mixes() -> None:
    for energy, loudness in ((0.1, -4.0), (0.9, -30.0)):
        y = sketch({"energy": energy, "loudness": loudness}, seconds=8)
        assert integrated_loudness(y, SR) == pytest.approx(loudness, abs=0.2)


def test_danceability_is_beat_regularity() -> None:
    regular = analyze_signal(sketch({"danceability": 1.0, "energy": 0.3}, seconds=15), SR)
    loose = analyze_signal(sketch({"danceability": 0.0, "energy": 0.3}, seconds=15), SR)
    assert loose[1]["pulse_clarity"] < regular[1]["pulse_clarity"] - 0.1
    assert loose[0]["danceability"] < regular[0]["danceability"] - 0.05


def test_acousticness_is_timbre() -> None:
    acoustic = analyze_signal(sketch({"acousticness": 1.0, "energy": 0.5}, seconds=10), SR)
    electric = analyze_signal(sketch({"acousticness": 0.0, "energy": 0.5}, seconds=10), SR)
    assert acoustic[0]["acousticness"] > electric[0]["acousticness"] + 0.3


def test_bad_vectors_are_refused_in_one_line() -> None:
    for bad, words in (({"tempo": 400}, "tempo must be in 40..250"),
                       ({"key": 12}, "key must be in -1..11"),
                       ({"energy": "loud"}, "energy must be a number")):
        with pytest.raises(AudioError, match=words):
            sketch(bad, seconds=2)
    with pytest.raises(AudioError, match="seconds"):
        sketch({}, seconds=0.5)


def test_targets_and_track_records(tmp_path: Path) -> None:
    import soundfile as sf

    by_target = sketch_for_features({"target_tempo": 90, "target_key": 7}, seconds=3)
    assert np.array_equal(by_target, sketch({"tempo": 90, "key": 7}, seconds=3))
    track = {"id": "4u7EnebtmKWzUH433cf5Qv", "name": "x", "tempo": 144.0, "key": 10, "mode": 0,
             "loudness": -5.5, "energy": 0.9, "danceability": 0.4, "acousticness": 0.01,
             "valence": 0.3, "time_signature": 4, "year": 1975}
    y = sketch_for_track(track, seconds=12)
    assert np.array_equal(y, sketch_for_track(track, seconds=12))
    path = write_wav(tmp_path / "sketch.wav", y)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
    back = analyze_file(path)
    assert (back.features["key"], back.features["mode"]) == (10, 0)
    assert back.features["loudness"] == pytest.approx(-5.5, abs=1.0)
    too_loud = sketch_for_track({**track, "loudness": 2.5}, seconds=5)  # the catalogue allows it
    assert integrated_loudness(too_loud, SR) == pytest.approx(-1.0, abs=0.3)
