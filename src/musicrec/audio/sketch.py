"""A feature vector out as sound: a short sketch that lets a person *hear* a song's numbers.

The sketch is built so that `musicrec.audio.analyze` measures its tempo, key, mode and loudness
back (see ``benchmarks/audio_accuracy.py``):

- ``tempo``: a kick on every beat (louder on the downbeat) and hats between beats;
- ``key`` / ``mode``: chords I-IV-V-I (major) or i-iv-V-i (minor, with the leading tone that
  tells it from the relative major), one chord a bar, with a bass note;
- ``energy``: density (hats on 8ths above 0.35, 16ths above 0.75; chords re-struck every beat
  above 0.6) and how hard the mix is driven;
- ``loudness``: the integrated loudness (BS.1770) the sketch is normalised to;
- ``danceability``: beat regularity; below 1 the onsets get swing and random jitter of up to
  5 % of a beat at 0;
- ``acousticness``: timbre, from plucked, nearly sinusoidal notes (1) to bright sustained saws
  with noise (0);
- ``time_signature``: 3 or 4 beats to a bar (default 4).

Speechiness, instrumentalness, liveness and valence are not rendered: there is no honest way to
make a vector's valence audible without a model of mood.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from musicrec import schema
from musicrec.audio._deps import require
from musicrec.audio.errors import AudioError
from musicrec.audio.loudness import integrated_loudness
from musicrec.audio.synthetic import MAJOR_PROGRESSION, MINOR_PROGRESSION, midi_hz

__all__ = ["DEFAULTS", "RANGES", "sketch", "sketch_for_features", "sketch_for_track",
           "write_wav"]

# What a sketch draws when a feature is not given, and the range it can draw.
DEFAULTS: dict[str, float] = {
    f.name: f.sketch.default for f in schema.SKETCHED if f.sketch is not None}
RANGES: dict[str, tuple[float, float]] = {
    f.name: (f.sketch.lo, f.sketch.hi) for f in schema.SKETCHED if f.sketch is not None}
_MAX_SECONDS = 600.0


def _settings(features: Mapping[str, Any]) -> dict[str, float]:
    values = dict(DEFAULTS)
    for name, value in features.items():
        name = name.removeprefix("target_")
        if name not in RANGES or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise AudioError(f"sketch: {name} must be a number, got {value!r}") from None
        lo, hi = RANGES[name]
        if name == "time_signature":
            number = 3 if number == 3 else 4  # the catalogue's 1, 5, 7 are drawn in 4
        if not lo <= number <= hi or not np.isfinite(number):
            raise AudioError(f"sketch: {name} must be in {lo:g}..{hi:g}, got {number:g}")
        values[name] = number
    if values["key"] == -1:  # "no key detected": draw it in C
        values["key"] = 0
    return values


def sketch(features: Mapping[str, Any], seconds: float = 20.0, sr: int = 22050,
           seed: int = 0) -> np.ndarray:
    """Render a feature vector as sound.

    Args:
        features: Kaggle-schema features (tempo, key, mode, energy, loudness, danceability,
            acousticness, time_signature; ``target_`` prefixes allowed); missing or ``None``
            ones take `DEFAULTS`, others are ignored.
        seconds: length, 1..600.
        sr: sample rate in Hz.
        seed: for the jitter and noise; the same inputs give the same samples.

    Returns:
        Mono samples, shape (round(seconds * sr),), float32 in -1..1.

    Raises:
        AudioError: a feature out of range, or the ``audio`` extra is missing.
    """
    if not 1.0 <= seconds <= _MAX_SECONDS:
        raise AudioError(f"sketch: seconds must be in 1..{_MAX_SECONDS:g}, got {seconds:g}")
    v = _settings(features)
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out = np.zeros(n, dtype=np.float64)
    period = 60.0 / v["tempo"]
    per_bar = int(v["time_signature"])
    energy, acoustic, dance = v["energy"], v["acousticness"], v["danceability"]
    looseness = 1.0 - dance

    def at(t: float) -> float:  # a grid time moved by the danceability's jitter
        return t + rng.uniform(-1, 1) * 0.05 * looseness * period

    # Drums.
    kick = _kick(sr)
    hat = _hat(sr, rng, bright=1.0 - acoustic)
    n_beats = int(np.ceil(seconds / period)) + 1
    subdivisions = 4 if energy > 0.75 else 2 if energy > 0.35 else 1
    # Hats well under the kick: at 0.25 + 0.2 * energy, 17 of 24 round trips kept their tempo
    # (the others read hats as beats); at this level 21 of 24 did.
    hat_gain = 0.1 + 0.05 * energy
    for b in range(n_beats):
        t = b * period
        _add(out, kick, at(t), sr, 1.0 if b % per_bar == 0 else 0.6)
        for s in range(1, subdivisions):
            # Swing only on 8ths: swung 16ths read as triplets (2/3 of the tempo) in 2 of 30
            # round trips.
            swing = 0.12 * looseness * period if subdivisions == 2 else 0.0
            _add(out, hat, at(t + s * period / subdivisions + swing), sr, hat_gain)

    # Harmony: one chord a bar, re-struck on each beat when the energy is high.
    progression = MAJOR_PROGRESSION if v["mode"] == 1 else MINOR_PROGRESSION
    tonic = 60 + int(v["key"])
    bar = per_bar * period
    strikes = per_bar if energy > 0.6 else 1
    note_len = bar / strikes
    for i, start in enumerate(np.arange(0.0, seconds, bar)):
        chord = progression[i % len(progression)]
        for s in range(strikes):
            t0 = at(start + s * note_len)
            gain = 0.5 if s == 0 else 0.3
            for degree in chord:
                _add(out, _note(midi_hz(tonic + degree), note_len, sr, acoustic), t0, sr,
                     gain / 3)
            # The bass is always a near-sine: a saw bass's 5th harmonic is the major third,
            # which turned minor sketches major.
            _add(out, _note(midi_hz(tonic + chord[0] - 24), note_len, sr, 1.0), t0, sr,
                 gain * 0.8)
    if acoustic < 0.5:  # noise floor of distorted / synthetic production
        out += rng.standard_normal(n) * 0.01 * (0.5 - acoustic)
    # Drive: energetic mixes are compressed harder, which is most of what "energy" sounds like.
    # Acoustic sketches are driven less: distortion is what the acousticness estimate hears.
    drive = 1.0 + 2.0 * energy * (1.0 - 0.7 * acoustic)
    out = np.tanh(out * drive) / np.tanh(drive)
    return _normalise(out, sr, v["loudness"]).astype(np.float32)


def _normalise(y: np.ndarray, sr: int, target: float) -> np.ndarray:
    """Scale to ``target`` LUFS, soft-limiting peaks, until within 0.05 LU (at most 12 rounds:
    a quiet, peaky mix pushed to -4 LUFS needed 9)."""
    for _ in range(12):
        current = integrated_loudness(y, sr)
        if not np.isfinite(current):
            return y
        if abs(current - target) < 0.05:
            break
        y = y * 10 ** ((target - current) / 20)
        if np.abs(y).max() > 0.98:
            y = 0.98 * np.tanh(y / 0.98)
    return np.clip(y, -1.0, 1.0)


def _add(out: np.ndarray, sound: np.ndarray, t: float, sr: int, gain: float) -> None:
    start = int(round(max(t, 0.0) * sr))
    end = min(start + len(sound), len(out))
    if end > start:
        out[start:end] += gain * sound[: end - start]


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    freq = 50 + 90 * np.exp(-t / 0.03)  # the pitch drop that makes a kick
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.08)
    # The beater's click: without it a quiet sketch's beat sat in 3 of 64 mel bands and its
    # tempo read 114 instead of 120.
    click = np.sin(2 * np.pi * 3000 * t) * np.exp(-t / 0.003) * 0.5
    return body + click


def _hat(sr: int, rng: np.random.Generator, bright: float) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    noise = rng.standard_normal(len(t))
    if bright > 0.5:  # a bright electronic hat: differenced (high-passed) noise
        noise = np.diff(noise, prepend=0.0)
    else:  # a soft shaker: noise smoothed over 8 samples (low-passed below about 2.7 kHz)
        noise = np.convolve(noise, np.ones(8) / 8 * 2.5, mode="same")
    return noise * np.exp(-t / (0.01 + 0.02 * bright)) * (0.2 + 0.3 * bright)


def _note(freq: float, seconds: float, sr: int, acoustic: float) -> np.ndarray:
    """One note: harmonic amplitudes fall as 1/h^(1 + 2 * acoustic) (saw at 0, near-sine at 1);
    plucked decay when acoustic, sustained with a soft release when not."""
    t = np.arange(int(seconds * sr)) / sr
    tone = np.zeros_like(t)
    for h in range(1, 13):
        if freq * h >= sr / 2 - 500:
            break
        tone += np.sin(2 * np.pi * freq * h * t) / h ** (1.0 + 2.0 * acoustic)
    decay = np.exp(-t / (0.25 + 2.0 * (1 - acoustic)))
    attack = np.minimum(1.0, t / (0.003 + 0.03 * (1 - acoustic)))
    release = np.minimum(1.0, (t[-1] - t) / 0.02) if len(t) else t
    return tone * decay * attack * release


def sketch_for_features(features: Mapping[str, Any], seconds: float = 20.0,
                        sr: int = 22050, seed: int = 0) -> np.ndarray:
    """`sketch` of a features or targets mapping (``tempo`` or ``target_tempo`` keys).

    Returns mono float32 samples, shape (round(seconds * sr),).
    """
    return sketch(features, seconds=seconds, sr=sr, seed=seed)


def sketch_for_track(track: Mapping[str, Any], seconds: float = 20.0, sr: int = 22050) -> \
        np.ndarray:
    """`sketch` of a catalogue record (a dict with the Kaggle audio-feature columns).

    The seed comes from the track id, so a song always sounds the same. Returns mono float32
    samples, shape (round(seconds * sr),).
    """
    features = {k: track.get(k) for k in RANGES}
    if features.get("loudness") is not None:  # the catalogue allows up to +10 dB; sketches stop
        features["loudness"] = float(np.clip(float(features["loudness"]), -40.0, -1.0))
    if features.get("tempo") is not None:
        features["tempo"] = float(np.clip(float(features["tempo"]), 40.0, 250.0))
    seed = int.from_bytes(str(track.get("id", "")).encode()[:8].ljust(8, b"\0"), "little")
    return sketch(features, seconds=seconds, sr=sr, seed=seed % (2**32))


def write_wav(path: str | Path, samples: np.ndarray, sr: int = 22050) -> Path:
    """Write float samples in -1..1, shape (n,) or (n, channels), as 16-bit PCM WAV."""
    sf = require("soundfile")
    path = Path(path)
    sf.write(str(path), np.clip(samples, -1.0, 1.0), sr, subtype="PCM_16")
    return path
