"""The numbers the synthetic catalogues are drawn from: quantiles and a style model fitted to
the real 30k-song development set, and the shares, probabilities and words of the generator."""

from __future__ import annotations

import numpy as np

_LATENT = (
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
    "year",
)
_YEAR = _LATENT.index("year")
_SPEECH = _LATENT.index("speechiness")

# Quantiles of the 28,356 unique tracks of the 30k development set at the normal probabilities
# of _Z_GRID (z = -3.5, -3.25, ..., 3.5), year taken from the album release date.
_Z_GRID = np.linspace(-3.5, 3.5, 29)
# fmt: off
_QUANTILES = np.array(
    [
        (0.133, 0.154, 0.175, 0.207, 0.242, 0.279, 0.322, 0.368, 0.414, 0.459, 0.505, 0.548,
         0.59, 0.631, 0.67, 0.704, 0.737, 0.769, 0.799, 0.826, 0.853, 0.878, 0.9, 0.921, 0.937,
         0.951, 0.963, 0.971, 0.975),
        (0.0313, 0.0529, 0.0766, 0.115, 0.164, 0.215, 0.279, 0.335, 0.395, 0.45, 0.505, 0.562,
         0.62, 0.673, 0.722, 0.771, 0.816, 0.855, 0.888, 0.917, 0.94, 0.958, 0.971, 0.98, 0.988,
         0.992, 0.995, 0.997, 0.999),
        (-28.81, -24.19, -21.33, -19.22, -17.24, -15.66, -14.3, -13.06, -11.9, -10.7, -9.62,
         -8.59, -7.71, -6.96, -6.26, -5.64, -5.06, -4.57, -4.08, -3.64, -3.22, -2.86, -2.44,
         -2.06, -1.7, -1.3, -0.9, -0.48, -0.06),
        (0.0229, 0.0234, 0.024, 0.0247, 0.0256, 0.0265, 0.0277, 0.0291, 0.0308, 0.0329, 0.0358,
         0.0396, 0.0448, 0.0519, 0.0626, 0.0795, 0.107, 0.147, 0.203, 0.261, 0.309, 0.355, 0.4,
         0.442, 0.487, 0.545, 0.61, 0.731, 0.854),
        (2.28e-06, 4.23e-06, 8.23e-06, 1.46e-05, 3.22e-05, 6.89e-05, 0.000164, 0.000384,
         0.000943, 0.00223, 0.0052, 0.0114, 0.0237, 0.0449, 0.0797, 0.131, 0.2, 0.289, 0.395,
         0.508, 0.63, 0.734, 0.82, 0.885, 0.926, 0.952, 0.969, 0.979, 0.985),
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5e-06, 2.06e-05,
         0.000186, 0.00154, 0.0117, 0.0881, 0.37, 0.699, 0.833, 0.885, 0.915, 0.932, 0.947,
         0.961, 0.969, 0.976),
        (0.0157, 0.0185, 0.0222, 0.0266, 0.0312, 0.0377, 0.0445, 0.0521, 0.0603, 0.0693, 0.0794,
         0.0894, 0.1, 0.111, 0.127, 0.156, 0.205, 0.27, 0.327, 0.368, 0.442, 0.572, 0.671,
         0.771, 0.872, 0.941, 0.968, 0.984, 0.99),
        (0.012, 0.0286, 0.0349, 0.0373, 0.0394, 0.0578, 0.0823, 0.115, 0.153, 0.195, 0.246,
         0.309, 0.371, 0.439, 0.512, 0.58, 0.65, 0.713, 0.772, 0.824, 0.871, 0.908, 0.935,
         0.961, 0.964, 0.968, 0.973, 0.976, 0.98),
        (49.35, 58.36, 62.45, 66.96, 71.92, 74.98, 76.89, 79.98, 83.19, 89.0, 93.01, 97.93,
         104.74, 114.25, 121.99, 126.06, 128.68, 137.38, 146.22, 158.02, 169.92, 175.98, 180.39,
         189.86, 198.03, 202.08, 205.67, 208.41, 214.0),
        (33839, 51120, 66908, 78910, 96593, 114943, 129606, 141846, 153600, 163631, 174102,
         184800, 194987, 205601, 216933, 229501, 243552, 260200, 278684, 299671, 324251, 353015,
         386268, 424356, 460534, 487078, 503067, 510711, 515689),
        (1961, 1964, 1966, 1968, 1970, 1973, 1976, 1982, 1989, 1995, 2001, 2007, 2011, 2014,
         2016, 2017, 2018, 2019, 2019, 2019, 2019, 2019, 2019, 2020, 2020, 2020, 2020, 2020,
         2020),
    ]
)

# The fitted mixture: weights, means in normal-score space (comment: the three strongest
# traits), Cholesky factor of the tied covariance, and the share of major-mode songs per style.
_STYLE_WEIGHTS = np.array(
    (0.056, 0.053, 0.059, 0.042, 0.038, 0.064, 0.081, 0.032, 0.058, 0.093, 0.087, 0.114, 0.073,
     0.063, 0.017, 0.071)
)
_STYLE_MEANS_FITTED = np.array(
    [
        (-0.31, 0.37, -0.57, -0.72, -0.02, 0.31, 0.55, 0.83, 0.11, 0.27, -1.25),  # old, happy
        (0.22, -0.03, -0.77, -0.67, -0.16, 0.39, -1.00, 1.03, -0.08, 0.71, -1.08),  # old, happy
        (1.17, -0.37, -0.36, 0.87, -0.05, -0.35, 0.18, 0.41, -0.72, 0.52, -0.69),  # danceable
        (-1.07, -1.32, -0.96, -0.95, 1.18, 0.01, -0.10, -0.67, 0.87, 0.48, -0.57),  # acoustic
        (-0.95, -1.24, -0.91, -1.19, 1.09, 0.03, -0.06, -0.60, -1.39, 0.37, -0.57),  # slow, calm
        (-1.22, 0.94, 0.60, -0.04, -1.30, 0.28, 0.32, -0.26, 0.79, 0.18, -0.16),  # loud, hard
        (-0.35, -0.23, -0.04, 0.92, 0.33, -0.52, 0.09, 0.13, -1.33, -0.02, 0.10),  # slow, wordy
        (0.38, 0.52, -0.22, -0.19, -0.95, 1.43, -0.57, -0.86, 0.20, 1.47, 0.12),  # long, instr.
        (0.60, 0.37, 0.65, 0.09, -0.08, -0.05, -0.95, 0.63, -0.31, -0.12, 0.15),  # studio, happy
        (-0.19, -0.12, 0.12, 0.90, 0.24, -0.52, -0.00, 0.29, 1.44, -0.03, 0.19),  # fast, wordy
        (0.34, 0.42, 0.63, -0.06, 0.10, -0.33, 0.48, 0.51, -0.33, -0.20, 0.24),  # loud, happy
        (-0.20, -0.01, 0.36, -0.67, -0.10, -0.57, 0.04, -0.30, 0.08, -0.12, 0.30),  # sung pop
        (-0.16, 1.32, 0.86, 0.08, -0.86, 0.99, 0.46, -0.83, 0.31, -0.51, 0.51),  # energetic edm
        (0.23, -0.42, -0.38, -0.54, 0.35, 0.50, -0.08, -0.50, -0.13, -0.33, 0.58),  # new, moody
        (-0.06, -1.72, -1.54, 0.40, 1.61, 1.73, -0.08, -0.27, -1.07, -1.92, 0.63),  # ambient
        (1.21, -0.54, -0.23, 0.78, 0.10, -0.40, -0.13, -0.24, 0.19, -0.64, 0.64),  # new, rap
    ]
)
_WITHIN_CHOLESKY_FITTED = np.zeros((11, 11))
for _row, _values in enumerate(
    (
        (0.754,),
        (-0.124, 0.731),
        (-0.023, 0.497, 0.648),
        (0.089, 0.105, -0.056, 0.725),
        (0.118, -0.225, 0.030, 0.084, 0.750),
        (-0.002, -0.023, -0.153, -0.095, -0.088, 0.790),
        (-0.102, 0.048, -0.029, 0.051, 0.017, -0.010, 0.897),
        (0.290, 0.176, -0.032, -0.067, 0.079, -0.072, -0.006, 0.754),
        (-0.061, 0.059, -0.014, 0.045, -0.007, 0.045, -0.008, 0.046, 0.651),
        (-0.055, -0.003, -0.044, -0.064, -0.046, 0.035, 0.019, -0.064, -0.029, 0.852),
        (0.066, -0.032, 0.081, 0.046, 0.052, 0.040, 0.004, -0.071, -0.002, -0.230, 0.788),
    )
):
    _WITHIN_CHOLESKY_FITTED[_row, : len(_values)] = _values
_STYLE_MAJOR = np.array(
    (0.65, 0.6, 0.53, 0.67, 0.67, 0.59, 0.51, 0.56, 0.55, 0.52, 0.55, 0.58, 0.53, 0.55, 0.52, 0.56)
)
_KEY_PROB = np.array(
    (0.106, 0.121, 0.087, 0.028, 0.068, 0.081, 0.08, 0.103, 0.073, 0.093, 0.07, 0.091)
)
# fmt: on
N_STYLES: int = len(_STYLE_WEIGHTS)  # hidden styles, numbered 0..N_STYLES - 1

# Real styles overlap: even the exact mixture classifier finds only ~2/3 of the songs' styles.
# Shrinking the within-style spread to 0.8 (and stretching the style means so each feature
# keeps unit variance, hence the real marginals) lets a 10-nearest-neighbour classifier on
# standardised values find ~85%: tests get known answers while the catalogue still looks real.
_SHARPNESS = 0.8


def _style_model() -> tuple[np.ndarray, np.ndarray]:
    """Sharpened style means (16, 11) and within-style Cholesky factor (11, 11)."""
    weights = _STYLE_WEIGHTS / _STYLE_WEIGHTS.sum()
    centre = weights @ _STYLE_MEANS_FITTED
    spread = _STYLE_MEANS_FITTED - centre
    between = (spread.T * weights) @ spread
    within = _WITHIN_CHOLESKY_FITTED @ _WITHIN_CHOLESKY_FITTED.T
    gain = np.sqrt((np.trace(between) + (1 - _SHARPNESS**2) * np.trace(within)) / np.trace(between))
    scale = np.sqrt(np.diag(gain**2 * between + _SHARPNESS**2 * within))
    means = (centre + gain * spread) / scale
    return means, _SHARPNESS * _WITHIN_CHOLESKY_FITTED / scale[:, None]


_STYLE_MEANS, _WITHIN_CHOLESKY = _style_model()

# How the within-style variance splits between artist, album and track; artists are the largest
# shared part, as in the development set where artist means explain much of it.
_ARTIST_SHARE, _ALBUM_SHARE, _TRACK_SHARE = 0.25, 0.15, 0.60
_SECOND_STYLE_SHARE = 0.35  # artists with a second style
_MAIN_STYLE_ALBUMS = 0.75  # albums in the main style when an artist has two
_NEAR_DUP_SHARE = 0.005
_EXACT_DUP_SHARE = 0.0005
_YEAR_UNKNOWN_SHARE = 0.001
_SILENT_SHARE = 0.0005  # Spotify reports tempo 0 and time signature 0 for these
_NEAR_DUP_NOISE = 0.05  # latent standard deviation between a song and its re-release
# P(explicit) = logistic(a + b * speechiness score): about 7% explicit, mostly wordy songs.
_EXPLICIT_INTERCEPT, _EXPLICIT_SLOPE = -3.15, 1.2
# Songs off 4/4 are rarely danceable: P(not 4/4) = 0.39 * (1 - danceability), ~13% overall.
_ODD_METER_SLOPE = 0.39
_ODD_METERS, _ODD_METER_PROB = np.array((3, 5, 1)), np.array((0.72, 0.16, 0.12))
_LAST_YEAR = 2020
# Share of year-only and month-only release dates by year (from the development set, where
# old albums often lack a day); month-only is floored at 1% so every catalogue has some.
_PRECISION_YEARS = (1965, 1975, 1985, 1995, 2005, 2015)
_YEAR_ONLY_PROB = (0.2, 0.31, 0.26, 0.19, 0.116, 0.0084)
_MONTH_ONLY_PROB = (0.035, 0.02, 0.01, 0.01, 0.01, 0.01)
_DAYS_IN_MONTH = np.array((31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31))
_YEAR_TEXT = np.array([f"{year:04d}" for year in range(_LAST_YEAR + 1)], dtype=object)
_TWO_DIGITS = np.array([f"{number:02d}" for number in range(32)], dtype=object)

_CHUNK_ROWS = 100_000
_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)

_ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "pl",
           "r", "s", "sh", "st", "t", "tr", "v", "z", "")  # fmt: skip
_NUCLEI = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ou")
_CODAS = ("", "", "", "l", "m", "n", "r", "s", "x", "nd", "rk")
_VOCABULARY_SIZE = 8192
# Single-word names that pandas.read_csv would turn into NaN by default.
_NA_WORDS = frozenset({"na", "nan", "none", "null", "n/a"})
_TRACK_SUFFIXES = ("", " - Live", " - Remastered", " - Radio Edit", " - Acoustic Version",
                   ", Pt. 2", " - Interlude")  # fmt: skip
_TRACK_SUFFIX_PROB = (0.885, 0.03, 0.03, 0.02, 0.01, 0.015, 0.01)
_ARTIST_PREFIXES = np.array(("DJ ", "Lil ", "MC ", "Young "), dtype=object)
_COMPILATION_TITLES = np.array(
    ("Greatest Hits", "Anthology", "Gold", "Essentials", "The Collection", "Hits Remastered"),
    dtype=object,
)
