"""Constants that put audio descriptors on Spotify's scales, and how each was derived.

Every table was read from the real Spotify features of
``../shared/data/spotify_30k_songs/spotify_songs.csv`` (28,356 songs after dropping repeated
track ids) with pandas ``quantile`` / ``groupby(...).median()``; re-derive them with
``benchmarks/audio_accuracy.py --calibration``.
"""

from __future__ import annotations

import numpy as np

# Percentiles 0, 5, ..., 100 of each feature in the catalogue. A raw descriptor in 0..1 that is
# read as "this song's percentile among songs" is mapped through these, so estimates have the
# catalogue's spread instead of piling up where an uncalibrated formula happens to land.
PERCENTILES = np.linspace(0.0, 1.0, 21)
DANCEABILITY_QUANTILES = np.array([
    0.0, 0.389, 0.453, 0.498, 0.533, 0.561, 0.586, 0.609, 0.631, 0.651, 0.67,
    0.688, 0.705, 0.722, 0.74, 0.76, 0.781, 0.803, 0.83, 0.868, 0.983])
ACOUSTICNESS_QUANTILES = np.array([
    0.0, 0.0006, 0.002, 0.0046, 0.0086, 0.0144, 0.0222, 0.0317, 0.0445, 0.0601, 0.0797,
    0.103, 0.132, 0.167, 0.207, 0.26, 0.326, 0.41, 0.524, 0.692, 0.994])

# Energy given loudness: the catalogue's median energy among songs of about this loudness
# (12 equal-count loudness bins, plus the sparse tails below -13 dB and above -2 dB).
# Loudness and energy correlate at r = 0.68 there; an estimate from loudness alone therefore
# regresses toward the middle (0.17..0.94) and is reported as an estimate, not a measurement.
ENERGY_BY_LOUDNESS_DB = np.array([
    -21.5, -17.2, -13.0, -10.2, -8.8, -7.9, -7.1, -6.5, -6.0, -5.5, -5.0, -4.4, -3.8, -2.9, -1.7])
ENERGY_AT_LOUDNESS = np.array([
    0.165, 0.266, 0.425, 0.534, 0.587, 0.637, 0.663, 0.708, 0.732, 0.759, 0.792, 0.823, 0.859,
    0.900, 0.938])


def from_percentile(p: float, quantiles: np.ndarray) -> float:
    """Map a percentile ``p`` in 0..1 onto a feature through its quantile table (monotone)."""
    return float(np.interp(np.clip(p, 0.0, 1.0), PERCENTILES, quantiles))


def energy_from_loudness(lufs: float) -> float:
    """The catalogue's median energy at this loudness (dB), clamped at the table's ends."""
    return float(np.interp(lufs, ENERGY_BY_LOUDNESS_DB, ENERGY_AT_LOUDNESS))
