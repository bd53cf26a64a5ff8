"""The decoded samples of a file are bounded whatever its sample rate (issue 31, item 4): above
`MAX_DECODE_RATE` fewer seconds are analysed, in no more memory than a 48 kHz file takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec.audio.analyze import analyze_file
from musicrec.audio.decode import MAX_DECODE_RATE
from musicrec.audio.synthetic import chord_progression, click_track

pytestmark = pytest.mark.audio


@pytest.mark.parametrize(("rate", "analysed"), [(44_100, 10.0), (96_000, 5.0), (192_000, 2.5)])
def test_a_fast_sampled_file_is_analysed_over_fewer_seconds(tmp_path: Path, rate: int,
                                                            analysed: float) -> None:
    import soundfile as sf

    path = tmp_path / f"{rate}.wav"
    song = chord_progression(0, 1, 12, sr=rate) * 0.6 + click_track(120, 12, sr=rate)
    sf.write(path, song, rate, subtype="PCM_16")
    result = analyze_file(path, max_seconds=10)
    assert result.analysed_seconds == analysed == 10 * min(rate, MAX_DECODE_RATE) / rate
    assert result.features["duration_ms"] == 12_000  # still of the whole file
