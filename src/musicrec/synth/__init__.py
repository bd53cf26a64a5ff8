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
from pathlib import Path

import pandas as pd

from musicrec.schema import KAGGLE_HEADER
from musicrec.synth.plan import _plan
from musicrec.synth.songs import _chunk
from musicrec.synth.tables import N_STYLES

__all__ = ["N_STYLES", "synthesize", "write_catalogue"]


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
