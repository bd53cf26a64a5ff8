"""Hostile input, round 2 (issue 31), for the audio analysis: every decoder problem is an
`AudioError` (a 4xx in the API), sample rates the analysis cannot use included, and the tempo
stays in its search range (or is 0, unknown) whatever the signal and its rate.

Test audio is synthesised with NumPy and written with soundfile; nothing needs ffmpeg.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from fastapi.testclient import TestClient

from musicrec.api import create_app
from musicrec.audio.analyze import TEMPO_RANGE, analyze_file, analyze_signal
from musicrec.audio.decode import MAX_RATE, MIN_RATE
from musicrec.audio.errors import AudioError
from musicrec.audio.synthetic import chord_progression, click_track, sine
from musicrec.library import Library, LiveLibrary

pytestmark = pytest.mark.audio


def wav_claiming(rate: int, seconds: float = 3.0) -> bytes:
    """A 22.05 kHz sine as 16-bit WAV whose header then claims `rate` Hz."""
    sf = pytest.importorskip("soundfile")
    t = np.arange(int(seconds * 22050)) / 22050
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 440 * t), 22050, format="WAV", subtype="PCM_16")
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"fmt "
    data[24:32] = struct.pack("<II", rate, rate * 2)  # sample rate, byte rate (mono, 16-bit)
    return bytes(data)


@pytest.mark.parametrize("rate", [1, MIN_RATE - 1, MAX_RATE + 1, 2**31 - 1])
def test_an_unusable_sample_rate_is_an_audio_error(tmp_path, rate: int) -> None:
    path = tmp_path / "odd.wav"
    path.write_bytes(wav_claiming(rate))
    with pytest.raises(AudioError, match="sample rate"):
        analyze_file(path)


@pytest.mark.parametrize("rate", [MIN_RATE, 8000, MAX_RATE])
def test_the_sample_rates_at_the_bounds_are_analysed(tmp_path, rate: int) -> None:
    path = tmp_path / "edge.wav"
    path.write_bytes(wav_claiming(rate, seconds=max(3.0, 2.5 * rate / 22050)))
    result = analyze_file(path)
    tempo = result.features["tempo"]
    assert tempo == 0 or TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1]


def test_an_upload_claiming_1_hz_is_a_400(small_library: Library) -> None:
    client = TestClient(create_app(LiveLibrary(small_library.path, warm=True)))
    answer = client.post("/v1/musicrec/audio-features",
                         files={"file": ("one-hertz.wav", wav_claiming(1), "audio/wav")})
    assert answer.status_code == 400, answer.text
    assert "sample rate" in answer.json()["error"]["message"]


@pytest.mark.parametrize("rate", [22050, 44100, 384000])
def test_a_steady_tone_has_no_tempo_at_any_rate(rate: int) -> None:
    """A sine has no onsets to repeat: tempo 0 (unknown, with its reason), not 2,584 BPM."""
    features, descriptors, unknown = analyze_signal(sine(440, 5, sr=rate), rate)
    assert features["tempo"] == 0 and "tempo" in unknown
    assert descriptors["beats"] == 0


@pytest.mark.parametrize("rate", [22050, 384000])
def test_a_beat_is_measured_at_any_rate(rate: int) -> None:
    song = chord_progression(0, 1, 6, sr=rate) + click_track(120, 6, sr=rate)
    features, _, unknown = analyze_signal(song, rate)
    assert abs(features["tempo"] - 120) < 2.4 and "tempo" not in unknown


def test_tempo_stays_in_its_range_for_noise_and_clicks() -> None:
    rng = np.random.default_rng(31)
    signals = [rng.standard_normal(22050 * 4) * 0.1,
               click_track(400, 4), click_track(20, 8), click_track(301, 4)]
    for signal in signals:
        tempo = analyze_signal(signal, 22050)[0]["tempo"]
        assert tempo == 0 or TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1], tempo
