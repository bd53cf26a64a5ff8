"""Synthetic song catalogues in the Kaggle "Spotify 1.2M+ Songs" schema.

The catalogues are realistic enough to build, benchmark and test a library on, and fully
deterministic for a given ``(rows, seed)``: the same pair always gives the same bytes.

How a catalogue is made:

* Every song has an 11-dimensional latent vector (the ten audio features of ``_LATENT`` and the
  release year) in normal-score space. Each latent coordinate becomes a value through the
  empirical quantile function of the real 30k-song development set
  (``../shared/data/spotify_30k_songs``), so marginal distributions, point masses
  (instrumentalness is exactly 0 for a third of songs) and skews match real songs.
* Songs belong to one of 16 hidden styles: the components of a Gaussian mixture with a tied
  covariance fitted to the normal scores of that set (scikit-learn ``GaussianMixture``,
  ``random_state=0``, ``n_init=5``; components ordered by era). The tied covariance carries the
  real correlations (energy with loudness, acousticness against both, ...). The styles are
  sharpened (see ``_SHARPNESS``) so that tests can recover them.
* The latent vector adds an artist offset, an album offset and a track offset, so songs by one
  artist and on one album sound alike. Artists have one or two styles and several albums;
  albums are singles, EPs, LPs and multi-disc sets.
* On purpose: ~0.5% of rows are re-releases (compilation albums repeating an artist's songs
  with the same name and artists, a new id and album and slightly different features) and
  ~0.05% of rows repeat another row exactly (same id).

Generation runs in chunks of whole artists; each chunk has its own random stream derived from
the seed and the chunk number, so writing a catalogue chunk by chunk gives exactly the rows of
``synthesize``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.schema import KAGGLE_HEADER

__all__ = ["N_STYLES", "synthesize", "write_catalogue"]

# Order of the latent dimensions; every table below follows it.
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


@dataclass(frozen=True)
class _Plan:
    """Catalogue structure shared by all chunks: artists, album sizes and chunk boundaries.

    Albums are sorted by artist, an artist's compilations after their original albums; chunk
    ``k`` holds artists ``artist_bounds[k]:artist_bounds[k + 1]`` and the matching albums.
    """

    seed: int
    words: np.ndarray  # (V,) object: the name vocabulary
    artist_styles: np.ndarray  # (A, 2) int: main style, second style or -1
    artist_names: np.ndarray  # (A,) object
    artist_name_reprs: np.ndarray  # (A,) object: Python literals, for the list columns
    artist_id_reprs: np.ndarray  # (A,) object
    artists_by_style: np.ndarray  # (A,) artist numbers sorted by main style
    style_starts: np.ndarray  # (N_STYLES + 1,) offsets into artists_by_style
    album_artist: np.ndarray  # (B,) int
    album_size: np.ndarray  # (B,) int
    album_is_compilation: np.ndarray  # (B,) bool
    artist_bounds: np.ndarray  # (C + 1,) int
    album_bounds: np.ndarray  # (C + 1,) int
    chunk_exact_dups: np.ndarray  # (C,) int: rows each chunk repeats exactly


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random 22-character base62 ids, object array of str (collisions ~1e-27)."""
    codes = _BASE62[rng.integers(0, 62, (n, 22))]
    return codes.view("S22").ravel().astype(str).astype(object)


def _vocabulary(rng: np.random.Generator) -> np.ndarray:
    """Pronounceable invented words, some with an apostrophe, object array of str."""
    # Open syllables with a closing consonant only at the end keep the words sayable.
    syllables = [onset + nucleus for onset in _ONSETS for nucleus in _NUCLEI]
    lengths = rng.choice((1, 2, 3), _VOCABULARY_SIZE, p=(0.3, 0.55, 0.15))
    picks = rng.integers(0, len(syllables), (_VOCABULARY_SIZE, 3))
    codas = rng.integers(0, len(_CODAS), _VOCABULARY_SIZE)
    marks = rng.random(_VOCABULARY_SIZE)
    words: dict[str, None] = {}  # a dict, not a set: its order is deterministic
    for length, pick, coda, mark in zip(lengths, picks, codas, marks, strict=True):
        word = ("".join(syllables[i] for i in pick[:length]) + _CODAS[coda]).capitalize()
        if word.lower() in _NA_WORDS:
            continue
        if mark < 0.03:
            word += "'s"
        elif mark < 0.04:
            word = "O'" + word
        words[word] = None
    return np.array(list(words), dtype=object)


def _pick(rng: np.random.Generator, words: np.ndarray, n: int) -> np.ndarray:
    return words[rng.integers(0, len(words), n)]


def _sizes_summing_to(
    rng: np.random.Generator, total: int, draw: Callable[[np.random.Generator, int], np.ndarray]
) -> np.ndarray:
    """Draw sizes (each >= 1) in batches until they reach ``total``; trim the last to fit."""
    batches: list[np.ndarray] = []
    drawn = 0
    while drawn < total:
        batch = draw(rng, (total - drawn) // 4 + 8)
        batches.append(batch)
        drawn += int(batch.sum())
    return _trim_to_total(np.concatenate(batches) if batches else np.zeros(0, np.int64), total)


def _trim_to_total(sizes: np.ndarray, total: int) -> np.ndarray:
    """The shortest prefix of ``sizes`` reaching ``total``, its last size cut to hit it exactly.

    ``sizes`` must be positive and sum to at least ``total``.
    """
    if total == 0:
        return sizes[:0]
    cut = int(np.searchsorted(np.cumsum(sizes), total))
    trimmed = sizes[: cut + 1].copy()
    trimmed[-1] -= trimmed.sum() - total
    return trimmed


def _album_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Singles, EPs, LPs and long sets; about 10.7 tracks on average."""
    kind = rng.choice(4, n, p=(0.2, 0.15, 0.55, 0.1))
    return rng.integers(np.array((1, 4, 8, 17))[kind], np.array((3, 7, 16, 40))[kind] + 1)


def _artist_album_counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Long-tailed albums per artist: median 2, mean ~2.7, a few with dozens."""
    return 1 + np.minimum(np.floor(rng.lognormal(0.3, 1.0, n)), 39).astype(np.int64)


def _artist_names(rng: np.random.Generator, words: np.ndarray, n: int) -> np.ndarray:
    first, second = _pick(rng, words, n), _pick(rng, words, n)
    prefix = _ARTIST_PREFIXES[rng.integers(0, len(_ARTIST_PREFIXES), n)]
    kind = rng.choice(5, n, p=(0.35, 0.4, 0.1, 0.05, 0.1))
    return np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [first, first + " " + second, "The " + first, first + " & The " + second],
        prefix + first,
    )


def _plan(rows: int, seed: int) -> _Plan:
    if rows < 0 or seed < 0:
        raise ValueError(f"rows and seed must be >= 0, got rows={rows}, seed={seed}")
    rng = np.random.default_rng([seed, 0])
    words = _vocabulary(rng)
    n_exact = round(rows * _EXACT_DUP_SHARE)
    n_near = round(rows * _NEAR_DUP_SHARE)
    n_original = rows - n_exact - n_near

    sizes = _sizes_summing_to(rng, n_original, _album_sizes)
    album_counts = _sizes_summing_to(rng, len(sizes), _artist_album_counts)
    n_artists = len(album_counts)
    album_artist = np.repeat(np.arange(n_artists), album_counts)

    # A compilation re-releases songs of one artist, so it cannot outgrow the artist's
    # catalogue. With about one artist per 29 rows the wanted sizes sum to ~20% of the rows,
    # far above the 0.5% near-duplicate budget they are trimmed to.
    artist_tracks = np.bincount(album_artist, weights=sizes, minlength=n_artists).astype(np.int64)
    candidates = rng.permutation(n_artists)
    wanted = np.minimum(rng.integers(6, 17, n_artists), artist_tracks[candidates])
    compilation_sizes = _trim_to_total(wanted, n_near)
    compilation_artist = candidates[: len(compilation_sizes)]

    artist = np.concatenate([album_artist, compilation_artist])
    is_compilation = np.concatenate(
        [np.zeros(len(sizes), bool), np.ones(len(compilation_sizes), bool)]
    )
    order = np.lexsort((is_compilation, artist))
    artist, is_compilation = artist[order], is_compilation[order]
    album_size = np.concatenate([sizes, compilation_sizes])[order]

    artist_rows = np.cumsum(np.bincount(artist, weights=album_size, minlength=n_artists))
    ends = np.unique(np.searchsorted(artist_rows, np.arange(_CHUNK_ROWS, rows, _CHUNK_ROWS)) + 1)
    artist_bounds = np.concatenate([[0], ends[ends < n_artists], [n_artists]]).astype(np.int64)
    album_bounds = np.searchsorted(artist, artist_bounds)
    chunk_row_ends = artist_rows[artist_bounds[1:] - 1] if n_artists else np.zeros(1)
    repeated = rng.choice(n_original + n_near, n_exact, replace=False)
    chunk_exact_dups = np.bincount(
        np.searchsorted(chunk_row_ends, repeated, side="right"), minlength=len(artist_bounds) - 1
    )

    main_style = rng.choice(N_STYLES, n_artists, p=_STYLE_WEIGHTS / _STYLE_WEIGHTS.sum())
    second_style = rng.choice(N_STYLES, n_artists, p=_STYLE_WEIGHTS / _STYLE_WEIGHTS.sum())
    has_second = (rng.random(n_artists) < _SECOND_STYLE_SHARE) & (second_style != main_style)
    names = _artist_names(rng, words, n_artists)
    artist_ids = _ids(rng, n_artists)
    by_style = np.argsort(main_style, kind="stable")
    return _Plan(
        seed=seed,
        words=words,
        artist_styles=np.stack([main_style, np.where(has_second, second_style, -1)], axis=1),
        artist_names=names,
        # repr() gives Python's quoting rules: a name with an apostrophe gets double quotes.
        artist_name_reprs=np.array([repr(name) for name in names], dtype=object),
        artist_id_reprs="'" + artist_ids + "'",
        artists_by_style=by_style,
        style_starts=np.searchsorted(main_style[by_style], np.arange(N_STYLES + 1)),
        album_artist=artist,
        album_size=album_size,
        album_is_compilation=is_compilation,
        artist_bounds=artist_bounds,
        album_bounds=album_bounds,
        chunk_exact_dups=chunk_exact_dups,
    )


def _offsets(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Correlated latent offsets (n, 11) carrying ``share`` of the within-style covariance."""
    return rng.standard_normal((n, len(_LATENT))) @ (np.sqrt(share) * _WITHIN_CHOLESKY.T)


def _to_values(latent: np.ndarray) -> np.ndarray:
    """Map latent scores (n, k) through the first k quantile tables."""
    return np.stack(
        [np.interp(latent[:, j], _Z_GRID, _QUANTILES[j]) for j in range(latent.shape[1])], axis=1
    )


def _round_significant(x: np.ndarray, digits: int = 3) -> np.ndarray:
    """Round non-negative values to ``digits`` significant digits, as Spotify reports them."""
    magnitude = np.floor(np.log10(np.where(x > 0, x, 1.0)))
    scale = 10.0 ** (digits - 1 - magnitude)
    # Dividing by an exact power of ten gives the double nearest the decimal, so the CSV shows
    # 0.0727 rather than 0.07270000000000001.
    return np.round(x * scale) / scale


def _release_dates(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` strings; ``0000`` for unknown years."""
    n = len(years)
    month = rng.integers(1, 13, n)
    day = 1 + np.floor(rng.random(n) * _DAYS_IN_MONTH[month - 1]).astype(np.int64)
    year_only = np.interp(years, _PRECISION_YEARS, _YEAR_ONLY_PROB)
    month_only = np.interp(years, _PRECISION_YEARS, _MONTH_ONLY_PROB)
    draw = rng.random(n)
    text_year = _YEAR_TEXT[years]
    with_month = text_year + "-" + _TWO_DIGITS[month]
    with_day = with_month + "-" + _TWO_DIGITS[day]
    return np.where(
        (years == 0) | (draw < year_only),
        text_year,
        np.where(draw < year_only + month_only, with_month, with_day),
    )


@dataclass
class _Albums:
    """One chunk's albums: their artist, size, whether a compilation, style, latent centre and
    year (0: unknown)."""

    artist: np.ndarray
    size: np.ndarray
    compilation: np.ndarray
    style: np.ndarray
    centre: np.ndarray
    years: np.ndarray


@dataclass
class _Songs:
    """One chunk's original songs (not re-releases), with everything a re-release keeps."""

    rows: np.ndarray  # their row in the chunk
    album: np.ndarray
    style: np.ndarray
    artist: np.ndarray
    latent: np.ndarray
    values: np.ndarray
    key: np.ndarray
    mode: np.ndarray
    explicit: np.ndarray
    meter: np.ndarray
    silent: np.ndarray


def _chunk(plan: _Plan, k: int) -> pd.DataFrame:
    """Rows of chunk ``k``: the 24 Kaggle columns and ``style``.

    The steps draw from one generator in a fixed order, so a chunk depends only on the plan's
    seed and ``k``.
    """
    rng = np.random.default_rng([plan.seed, k + 1])
    albums = _draw_albums(plan, k, rng)
    n = int(albums.size.sum())
    row_album = np.repeat(np.arange(len(albums.size)), albums.size)
    album_start = np.cumsum(albums.size) - albums.size
    position = np.arange(n) - np.repeat(album_start, albums.size)
    discs = np.where((albums.size >= 20) & (rng.random(len(albums.size)) < 0.5),
                     np.where(albums.size >= 32, 3, 2), 1)
    per_disc = -(-albums.size // discs)
    songs = _draw_songs(rng, albums, row_album)
    artists, artist_ids, guest = _credits(plan, rng, songs)
    title = _titles(plan, rng, len(songs.rows), guest)
    source = _sources(rng, albums, album_start, songs)
    feature = _features(rng, songs, source, albums.compilation[row_album])
    album_name = _album_names(plan, rng, albums, songs, title)
    ids, album_ids = _ids(rng, n), _ids(rng, len(albums.size))[row_album]
    per_row = {
        "id": ids, "name": title[source], "album": album_name[row_album], "album_id": album_ids,
        "artists": artists[source], "artist_ids": artist_ids[source],
        "track_number": position % per_disc[row_album] + 1,
        "disc_number": position // per_disc[row_album] + 1,
        "explicit": songs.explicit[source], "key": songs.key[source],
        "mode": songs.mode[source], "time_signature": songs.meter[source],
        "year": albums.years[row_album],
        "release_date": _release_dates(rng, albums.years)[row_album],
        **{name: _as_spotify_writes(name, values) for name, values in feature.items()},
    }
    columns = {**{name: per_row[name] for name in KAGGLE_HEADER}, "style": songs.style[source]}
    # Exact repeats land at random later places in the chunk, not next to their original.
    repeated = rng.choice(n, plan.chunk_exact_dups[k], replace=False)
    keys = np.concatenate([np.arange(n), repeated + rng.random(len(repeated)) * (n - repeated)])
    order = np.concatenate([np.arange(n), repeated])[np.argsort(keys, kind="stable")]
    return pd.DataFrame({name: column[order] for name, column in columns.items()})


def _as_spotify_writes(name: str, values: np.ndarray) -> np.ndarray:
    """A feature rounded as Spotify's exports show it: 3 significant digits for the 0..1
    features, 3 decimals for loudness and tempo, whole milliseconds."""
    if name == "duration_ms":
        return np.rint(values).astype(np.int64)
    if name in ("loudness", "tempo"):
        return np.round(values, 3)
    return _round_significant(values)


def _draw_albums(plan: _Plan, k: int, rng: np.random.Generator) -> _Albums:
    """Chunk ``k``'s albums: style, latent centre and year."""
    a0, a1 = plan.artist_bounds[k], plan.artist_bounds[k + 1]
    b0, b1 = plan.album_bounds[k], plan.album_bounds[k + 1]
    album_artist = plan.album_artist[b0:b1]
    n_albums = b1 - b0
    styles = plan.artist_styles[album_artist]
    use_second = (styles[:, 1] >= 0) & (rng.random(n_albums) >= _MAIN_STYLE_ALBUMS)
    album_style = np.where(use_second, styles[:, 1], styles[:, 0])
    artist_offset = _offsets(rng, a1 - a0, _ARTIST_SHARE)[album_artist - a0]
    album_offset = _offsets(rng, n_albums, _ALBUM_SHARE)
    album_centre = _STYLE_MEANS[album_style] + artist_offset + album_offset
    # Years carry no track-level part, so the shared parts are scaled up to the full spread.
    year_score = _STYLE_MEANS[album_style, _YEAR] + (
        artist_offset[:, _YEAR] + album_offset[:, _YEAR]
    ) / np.sqrt(_ARTIST_SHARE + _ALBUM_SHARE)
    years = np.rint(np.interp(year_score, _Z_GRID, _QUANTILES[_YEAR])).astype(np.int64)
    years = np.where(rng.random(n_albums) < _YEAR_UNKNOWN_SHARE, 0, np.minimum(years, _LAST_YEAR))
    return _Albums(album_artist, plan.album_size[b0:b1], plan.album_is_compilation[b0:b1],
                   album_style, album_centre, years)


def _draw_songs(rng: np.random.Generator, albums: _Albums, row_album: np.ndarray) -> _Songs:
    """The original songs: latent scores, feature values, key, mode, explicit and meter."""
    original = np.flatnonzero(~albums.compilation[row_album])
    n_orig = len(original)
    orig_album = row_album[original]
    orig_style = albums.style[orig_album]
    latent = albums.centre[orig_album, :_YEAR] + _offsets(rng, n_orig, _TRACK_SHARE)[:, :_YEAR]
    values = _to_values(latent)
    key = rng.choice(12, n_orig, p=_KEY_PROB / _KEY_PROB.sum())
    mode = (rng.random(n_orig) < _STYLE_MAJOR[orig_style]).astype(np.int64)
    explicit_logit = _EXPLICIT_INTERCEPT + _EXPLICIT_SLOPE * latent[:, _SPEECH]
    explicit = rng.random(n_orig) < 1 / (1 + np.exp(-explicit_logit))
    odd_meter = rng.random(n_orig) < _ODD_METER_SLOPE * (
        1 - values[:, _LATENT.index("danceability")]
    )
    meter = np.where(odd_meter, rng.choice(_ODD_METERS, n_orig, p=_ODD_METER_PROB), 4)
    silent = rng.random(n_orig) < _SILENT_SHARE
    meter = np.where(silent, 0, meter)
    return _Songs(original, orig_album, orig_style, albums.artist[orig_album], latent, values,
                  key, mode, explicit, meter, silent)


def _credits(plan: _Plan, rng: np.random.Generator, songs: _Songs
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(artists, artist_ids, first guest or -1) per original song. Guests come from the
    album's style; a draw that repeats an artist is dropped."""
    n_orig = len(songs.rows)
    n_guests = rng.choice(3, n_orig, p=(0.85, 0.11, 0.04))
    style_count = np.diff(plan.style_starts)[songs.style]
    guests = []
    for _ in range(2):
        slot = plan.style_starts[songs.style] + (rng.random(n_orig) * style_count).astype(np.int64)
        guests.append(plan.artists_by_style[np.minimum(slot, len(plan.artists_by_style) - 1)])
    guest1 = np.where((n_guests >= 1) & (guests[0] != songs.artist), guests[0], -1)
    guest2 = np.where(
        (n_guests >= 2) & (guest1 >= 0) & (guests[1] != songs.artist) & (guests[1] != guest1),
        guests[1],
        -1,
    )
    artists = "[" + plan.artist_name_reprs[songs.artist]
    artist_ids = "[" + plan.artist_id_reprs[songs.artist]
    for guest in (guest1, guest2):
        artists = np.where(guest >= 0, artists + ", " + plan.artist_name_reprs[guest], artists)
        artist_ids = np.where(
            guest >= 0, artist_ids + ", " + plan.artist_id_reprs[guest], artist_ids
        )
    return artists + "]", artist_ids + "]", guest1


def _titles(plan: _Plan, rng: np.random.Generator, n_orig: int, guest1: np.ndarray
            ) -> np.ndarray:
    """Song titles: one to four words, now and then quoted, a suffix, a featured guest."""
    words = [_pick(rng, plan.words, n_orig) for _ in range(4)]
    n_words = rng.choice((1, 2, 3, 4), n_orig, p=(0.35, 0.4, 0.18, 0.07))
    separator = np.where(rng.random(n_orig) < 0.04, ", ", " ")
    title = words[0]
    title = np.where(n_words >= 2, title + separator + words[1], title)
    title = np.where(n_words >= 3, title + " " + words[2], title)
    title = np.where(n_words >= 4, title + " " + words[3], title)
    quoted = (n_words >= 2) & (rng.random(n_orig) < 0.006)
    title = np.where(quoted, words[0] + ' "' + words[1] + '"', title)
    suffix = np.array(_TRACK_SUFFIXES, dtype=object)[
        rng.choice(len(_TRACK_SUFFIXES), n_orig, p=_TRACK_SUFFIX_PROB)
    ]
    title = title + suffix
    featuring = (guest1 >= 0) & (rng.random(n_orig) < 0.4)
    return np.where(
        featuring, title + " (feat. " + plan.artist_names[np.maximum(guest1, 0)] + ")", title
    )


def _sources(rng: np.random.Generator, albums: _Albums, album_start: np.ndarray,
             songs: _Songs) -> np.ndarray:
    """Each row's original song. Re-releases copy songs of the same artist (the artist's
    originals sit together), and a compilation's year follows the artist's last release."""
    source = np.empty(int(albums.size.sum()), np.int64)
    source[songs.rows] = np.arange(len(songs.rows))
    for album in np.flatnonzero(albums.compilation):
        lo = np.searchsorted(songs.artist, albums.artist[album], side="left")
        hi = np.searchsorted(songs.artist, albums.artist[album], side="right")
        start, size = album_start[album], albums.size[album]
        source[start : start + size] = lo + rng.choice(hi - lo, size, replace=False)
        released = albums.years[(albums.artist == albums.artist[album]) & ~albums.compilation]
        known = released[released > 0]
        albums.years[album] = (
            min(_LAST_YEAR, int(known.max()) + int(rng.integers(1, 15))) if known.size else 0
        )
    return source


def _features(rng: np.random.Generator, songs: _Songs, source: np.ndarray,
              is_copy: np.ndarray) -> dict[str, np.ndarray]:
    """Every row's feature values: a re-release's are its original's, slightly moved."""
    copies = np.flatnonzero(is_copy)
    all_values = songs.values[source]
    all_values[copies] = _to_values(
        songs.latent[source[copies]]
        + _NEAR_DUP_NOISE * rng.standard_normal((len(copies), _YEAR))
    )
    feature = {name: all_values[:, j] for j, name in enumerate(_LATENT[:_YEAR])}
    feature["danceability"][songs.silent[source]] = 0.0
    feature["tempo"][songs.silent[source]] = 0.0
    return feature


def _album_names(plan: _Plan, rng: np.random.Generator, albums: _Albums, songs: _Songs,
                 title: np.ndarray) -> np.ndarray:
    """Album names: singles are named after their first song, compilations by a stock title."""
    n_albums = len(albums.size)
    album_words = [_pick(rng, plan.words, n_albums) for _ in range(3)]
    n_album_words = rng.choice((1, 2, 3), n_albums, p=(0.4, 0.4, 0.2))
    album_name = album_words[0]
    album_name = np.where(n_album_words >= 2, album_name + " " + album_words[1], album_name)
    album_name = np.where(n_album_words >= 3, album_name + " " + album_words[2], album_name)
    album_name = np.where(rng.random(n_albums) < 0.04, album_name + " (Deluxe Edition)", album_name)
    album_name = np.where(
        (albums.size >= 4) & (albums.size <= 7) & (rng.random(n_albums) < 0.3),
        album_name + " EP",
        album_name,
    )
    first_song = np.searchsorted(songs.album, np.arange(n_albums))
    album_name = np.where(
        (albums.size <= 2) & ~albums.compilation,
        title[np.minimum(first_song, len(songs.rows) - 1)],
        album_name,
    )
    best_of = "The Best Of " + plan.artist_names[albums.artist]
    stock = _COMPILATION_TITLES[rng.integers(0, len(_COMPILATION_TITLES), n_albums)]
    return np.where(
        albums.compilation, np.where(rng.random(n_albums) < 0.3, best_of, stock), album_name
    )


def synthesize(rows: int, seed: int = 0) -> pd.DataFrame:
    """Generate a synthetic catalogue in memory.

    Args:
        rows: Number of rows, duplicates included (>= 0).
        seed: Non-negative seed; the same ``(rows, seed)`` always gives the same frame.

    Returns:
        ``rows`` songs with the 24 ``KAGGLE_HEADER`` in order, typed as pandas reads them back
        from the CSV (strings; ``explicit`` bool; int64 counts, key, mode, ``duration_ms``,
        ``time_signature`` and ``year``; float64 features), plus a last column ``style``
        (int64 in ``0..N_STYLES - 1``, the hidden style of the song), never written to CSV.
        Read it as ``frame["style"]``: ``frame.style`` is pandas' Styler.

    Raises:
        ValueError: If ``rows`` or ``seed`` is negative.
    """
    plan = _plan(rows, seed)
    frames = [_chunk(plan, k) for k in range(len(plan.artist_bounds) - 1)]
    return pd.concat(frames, ignore_index=True)


def write_catalogue(
    path: str | os.PathLike[str],
    rows: int,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write a synthetic catalogue as a CSV in the Kaggle ``tracks_features.csv`` schema.

    The rows are those of ``synthesize(rows, seed)`` without ``style``. They are generated and
    written in chunks of about 100,000 rows, so memory stays modest at any size. The file
    appears under ``path`` only when complete (written beside it, then renamed).

    Args:
        path: Destination file; replaced if it exists.
        rows: Number of rows, duplicates included (>= 0).
        seed: Non-negative seed; the same ``(rows, seed)`` always gives the same bytes.
        progress: Called after each chunk with the number of rows written so far.

    Raises:
        ValueError: If ``rows`` or ``seed`` is negative.
    """
    plan = _plan(rows, seed)
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    written = 0
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            out.write(",".join(KAGGLE_HEADER) + "\n")
            for k in range(len(plan.artist_bounds) - 1):
                frame = _chunk(plan, k)
                columns = list(KAGGLE_HEADER)
                frame.to_csv(out, columns=columns, header=False, index=False, lineterminator="\n")
                written += len(frame)
                if progress is not None:
                    progress(written)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
