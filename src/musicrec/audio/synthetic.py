"""Deterministic test signals with known answers: clicks at a tempo, chords in a key, tones.

Used by the tests and ``benchmarks/audio_accuracy.py``; plain NumPy, no optional dependency.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAJOR_PROGRESSION", "MINOR_PROGRESSION", "chord_progression", "click_track",
           "midi_hz", "sine"]

# Scale degrees (semitones above the tonic) of the triads: I-IV-V-I and i-iv-V-i. The minor one
# uses the major dominant (harmonic minor): its leading tone is what tells minor from the
# relative major, which shares every other note.
MAJOR_PROGRESSION = ((0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7))
MINOR_PROGRESSION = ((0, 3, 7), (5, 8, 12), (7, 11, 14), (0, 3, 7))


def midi_hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def sine(freq: float, seconds: float, sr: int = 22050, amplitude: float = 0.5) -> np.ndarray:
    """A sine wave, shape (n,), float32."""
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def click_track(bpm: float, seconds: float, sr: int = 22050, accent_every: int = 4,
                jitter_s: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Short decaying clicks on every beat; the first of each ``accent_every`` is louder.

    Returns shape (n,), float32, peak about 0.8. ``jitter_s`` moves each click by a uniform
    random offset in +-jitter_s (needs ``rng``).
    """
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    length = int(0.03 * sr)
    t = np.arange(length) / sr
    click = (np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.005)).astype(np.float32)
    period = 60.0 / bpm
    for i, start in enumerate(np.arange(0.0, seconds, period)):
        if jitter_s and rng is not None:
            start += rng.uniform(-jitter_s, jitter_s)
        s = int(max(start, 0) * sr)
        e = min(s + length, n)
        gain = 0.8 if i % accent_every == 0 else 0.35
        out[s:e] += gain * click[: e - s]
    return out


def chord_progression(key: int, mode: int, seconds: float, bpm: float = 120.0,
                      sr: int = 22050, octave: int = 4, beats_per_bar: int = 4) -> np.ndarray:
    """Triads of I-IV-V-I (mode 1) or i-iv-V-i (mode 0) in ``key`` (0 = C), one chord a bar.

    Each note has 4 harmonics, so the spectrum looks like an instrument rather than pure
    sines. Returns shape (n,), float32, peak below 1.
    """
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float64)
    bar = int(beats_per_bar * 60.0 / bpm * sr)
    chords = MAJOR_PROGRESSION if mode == 1 else MINOR_PROGRESSION
    tonic = 12 * (octave + 1) + key
    t = np.arange(bar) / sr
    env = np.minimum(1.0, t / 0.01) * np.exp(-t / 1.5)
    for b, start in enumerate(range(0, n, bar)):
        chord = chords[b % len(chords)]
        e = min(start + bar, n)
        tone = np.zeros(bar)
        for degree in chord:
            f = midi_hz(tonic + degree)
            for h in range(1, 5):
                tone += np.sin(2 * np.pi * f * h * t) / h
        bass = np.sin(2 * np.pi * midi_hz(tonic + chord[0] - 12) * t)
        out[start:e] += ((tone / 6 + 0.5 * bass / 2) * env)[: e - start]
    peak = np.abs(out).max()
    return (0.8 * out / peak if peak > 0 else out).astype(np.float32)
