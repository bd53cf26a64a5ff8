"""What the words of playlist titles mean, learned at build time from the playlists' songs.

People title playlists with the words they would ask for ("chill", "90s throwback", "workout
💪"), so the songs of the playlists whose title holds a word say what the word means here:
where it is in the library's space (the mean vector of the songs most of those playlists
hold, which also reaches songs no playlist holds), and how the songs differ from the
catalogue in each audio feature ("chill": lower energy, more acoustic). Which songs a prompt
gets from the playlists themselves is `musicrec.prompts.titles`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from musicrec import schema
from musicrec.errors import LibraryError
from musicrec.features import normalize
from musicrec.filters import numeric_column
from musicrec.learn import Playlists
from musicrec.prompts.words import key, tokens

VOCABULARY_FILE = "vocabulary.npz"
# A word means something once this many titled playlists hold it. One is enough: on the
# validation split, words of a single playlist still found held-out playlists' songs.
MIN_PLAYLISTS = 1
# Songs a word's vector is the mean of: its most shared ones (the vector still reaches every
# song).
TOP_SONGS = 200
# Added to a word's playlist count when its songs' shares are computed: a song in 1 of a rare
# word's 2 playlists is weaker evidence than one in 20 of 40.
SMOOTHING = 1.0
# A feature "clearly" differs for a word when its songs' mean is this many catalogue standard
# deviations away, over at least CLEAR_PLAYLISTS playlists.
CLEAR_SHIFT = 0.4
CLEAR_PLAYLISTS = 5
# Words ranked at once when the vocabulary is learned (bounds the (words, songs) product).
CHUNK = 2000


@dataclass(frozen=True)
class Vocabulary:
    """Learned words, by `musicrec.prompts.words.key`.

    Attributes:
        words: (w,) sorted keys.
        shown: (w,) the most common spelling of each key, for interpretations.
        playlists: int32 (w,) titled playlists holding the word.
        vectors: float32 (w, d) unit rows in the library's vector space.
        features: names of the features of `shifts`.
        shifts: float32 (w, f) the word's songs' mean feature minus the catalogue's, in
            catalogue standard deviations.
    """

    words: np.ndarray
    shown: np.ndarray
    playlists: np.ndarray
    vectors: np.ndarray
    features: tuple[str, ...]
    shifts: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    def find(self, word_key: str) -> int | None:
        """The row of a key, or None."""
        i = int(np.searchsorted(self.words, word_key))
        return i if i < len(self.words) and self.words[i] == word_key else None

    def clear_shifts(self, row: int) -> dict[str, float]:
        """The features this word clearly moves, name -> shift in standard deviations."""
        if self.playlists[row] < CLEAR_PLAYLISTS:
            return {}
        return {name: float(s) for name, s in zip(self.features, self.shifts[row], strict=True)
                if abs(s) >= CLEAR_SHIFT}

    def save(self, folder: Path) -> dict[str, Any]:
        """Write `vocabulary.npz` into a library folder; returns its manifest entry."""
        np.savez(folder / VOCABULARY_FILE, words=self.words, shown=self.shown,
                 playlists=self.playlists, vectors=self.vectors,
                 features=np.array(self.features), shifts=self.shifts)
        return {"file": VOCABULARY_FILE, "words": len(self)}

    @classmethod
    def load(cls, folder: Path, entry: dict[str, Any], dims: int) -> Vocabulary:
        """Read a library's vocabulary (its vectors `dims` wide, as the library's).

        Raises:
            LibraryError: the file is missing or damaged, or of another library.
        """
        path = folder / str(entry.get("file", VOCABULARY_FILE))
        try:
            with np.load(path) as data:
                vocabulary = cls(data["words"], data["shown"], data["playlists"],
                                 data["vectors"], tuple(data["features"].tolist()),
                                 data["shifts"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LibraryError(f"{path} is missing or damaged ({str(exc)[:120]}); rebuild "
                               "the library") from exc
        if vocabulary.vectors.shape != (len(vocabulary.words), dims):
            raise LibraryError(f"{path} does not match the library ({vocabulary.vectors.shape} "
                               f"word vectors for {dims} dimensions); rebuild the library")
        return vocabulary


def _title_words(titles: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(keys x playlists) 0/1 incidence of the words kept, their keys and shown spellings."""
    spellings: dict[str, Counter[str]] = {}
    pairs: list[tuple[str, int]] = []
    for p, title in enumerate(titles):
        seen = set()
        for word in tokens(str(title)):
            k = key(word)
            spellings.setdefault(k, Counter())[word] += 1
            if k not in seen:
                seen.add(k)
                pairs.append((k, p))
    counts = Counter(k for k, _ in pairs)
    words = np.array(sorted(k for k, c in counts.items() if c >= MIN_PLAYLISTS), dtype=str)
    index = {k: i for i, k in enumerate(words.tolist())}
    kept = [(index[k], p) for k, p in pairs if k in index]
    rows = np.array([i for i, _ in kept], dtype=np.int64)
    cols = np.array([p for _, p in kept], dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(kept), np.float32), (rows, cols)),
                           shape=(len(words), len(titles)))
    shown = np.array([spellings[k].most_common(1)[0][0] for k in words.tolist()], dtype=str)
    return matrix, words, shown


def _top_songs(counts: sp.csr_matrix, totals: np.ndarray) -> sp.csr_matrix:
    """Each row's TOP_SONGS largest entries, as shares of the row's smoothed playlist count."""
    counts = counts.tocsr()
    indptr, indices, data = [0], [], []
    for i in range(counts.shape[0]):
        start, end = counts.indptr[i], counts.indptr[i + 1]
        cols, vals = counts.indices[start:end], counts.data[start:end]
        if len(vals) > TOP_SONGS:
            keep = np.argpartition(-vals, TOP_SONGS - 1)[:TOP_SONGS]
            cols, vals = cols[keep], vals[keep]
        indices.append(cols)
        data.append(vals / (totals[i] + SMOOTHING))
        indptr.append(indptr[-1] + len(cols))
    return sp.csr_matrix((np.concatenate(data or [np.empty(0)]).astype(np.float32),
                          np.concatenate(indices or [np.empty(0, np.int32)]), indptr),
                         shape=counts.shape)


def learn_vocabulary(playlists: Playlists, vectors: np.ndarray,
                     table: pa.Table) -> Vocabulary | None:
    """The words of the playlists' titles and what they mean; None without titles.

    Args:
        playlists: read with their titles (`musicrec.learn.read_playlists`).
        vectors: (n, d) float32 the library's final song vectors.
        table: the catalogue (for the feature shifts).
    """
    if playlists.titles is None or not len(playlists):
        return None
    incidence, words, shown = _title_words(playlists.titles)
    if not len(words):
        return None
    totals = np.asarray(incidence.sum(axis=1)).ravel()
    songs = sp.vstack([_top_songs(incidence[i:i + CHUNK] @ playlists.matrix, totals[i:i + CHUNK])
                       for i in range(0, len(words), CHUNK)]).tocsr()
    word_vectors = normalize(np.asarray(songs @ np.asarray(vectors, np.float32)))
    # Shifts are measured against the songs of all the playlists (each as often as playlists
    # hold it), not the catalogue: every playlist's songs are more popular than the catalogue,
    # which says nothing about any one word.
    names = tuple(f.name for f in schema.ASKED if f.name in table.column_names)
    held = np.asarray(playlists.matrix.sum(axis=0)).ravel()
    weight_sums = np.maximum(np.asarray(songs.sum(axis=1)).ravel(), 1e-12)
    shifts = np.zeros((len(words), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        column = numeric_column(table.column(name))
        known = ~np.isnan(column) & (held > 0)
        mean = float(np.average(column[known], weights=held[known])) if known.any() else 0.0
        spread = float(np.sqrt(np.average((column[known] - mean) ** 2, weights=held[known]))
                       ) if known.any() else 1.0
        standard = np.nan_to_num((column - mean) / (spread or 1.0))
        shifts[:, j] = np.asarray(songs @ standard).ravel() / weight_sums
    return Vocabulary(words, shown, totals.astype(np.int32), word_vectors, names, shifts)
