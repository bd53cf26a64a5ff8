"""The plan of a catalogue: how many artists and albums, their styles, names and sizes, and
how they are cut into chunks of whole artists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musicrec.synth.tables import (
    _ARTIST_PREFIXES,
    _BASE62,
    _CHUNK_ROWS,
    _CODAS,
    _EXACT_DUP_SHARE,
    _NA_WORDS,
    _NEAR_DUP_SHARE,
    _NUCLEI,
    _ONSETS,
    _SECOND_STYLE_SHARE,
    _STYLE_WEIGHTS,
    _VOCABULARY_SIZE,
    N_STYLES,
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
