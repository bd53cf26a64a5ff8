"""The training playlists by title: which ones a prompt looks like, and songs that serve them.

A prompt is read as a playlist title would be. The training playlists whose titles look like
it (character n-grams of their words, so "chill vibes", "chillin" and "CHILL 🌴" meet) are
weighted by how alike they are, and every playlist gets a small share too, more of it when few
titles look like the prompt. `cover` then takes songs one at a time: each time the song held
by the most weight of playlists not yet served, and each playlist a song serves counts less
from then on. Ten songs that each fit another kind of "party" playlist find more playlists
than the ten songs of the commonest kind: on the MPD sample's held-out titles, hit@10 0.47
where ranking by the same weights found 0.43 (`docs/quality.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from musicrec.errors import LibraryError
from musicrec.learn import Playlists
from musicrec.prompts.words import keys

TITLES_FILE = "titled_playlists.npz"
# Character n-grams of a title's words (`musicrec.prompts.words.keys`), hashed: nothing but
# their idf is stored to read a new prompt.
NGRAMS = (2, 4)
HASHED = 2**18
# The weights below were tuned on validation splits of the MPD sample's training playlists
# (`benchmarks/prompt_quality.py --tune`).
# A training title counts when its cosine similarity to the prompt is over this ...
MIN_SIMILARITY = 0.1
# ... with that similarity raised to this power: closer titles count much more.
SHARPNESS = 2.0
# Prior weight, in units of one identical title, spread over every playlist: a prompt like
# one title leans on the commonest songs; one like a hundred titles hardly does.
PRIOR = 20.0
# A playlist's weight is multiplied by this for each chosen song it holds.
SERVED = 0.8

_HASHER = HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=HASHED,
                            alternate_sign=False, norm=None)


@dataclass(frozen=True)
class TitledPlaylists:
    """The training playlists with titles, to answer prompts from.

    Attributes:
        names: (p,) the titles as written.
        titles: (p, HASHED) float32 CSR, each title's unit tf-idf vector.
        idf: float32 (HASHED,) each n-gram's inverse document frequency over the titles.
        songs: (p, n) float32 CSR 0/1, the catalogue songs each playlist holds.
    """

    names: np.ndarray
    titles: sp.csr_matrix
    idf: np.ndarray
    songs: sp.csr_matrix

    def __len__(self) -> int:
        return self.songs.shape[0]

    @classmethod
    def learn(cls, playlists: Playlists) -> TitledPlaylists | None:
        """From playlists read with their titles; None when none has a title."""
        if playlists.titles is None:
            return None
        titled = np.flatnonzero([bool(keys(str(t))) for t in playlists.titles])
        if not len(titled):
            return None
        counts = _counts(playlists.titles[titled])
        found = np.bincount(counts.indices, minlength=HASHED)
        idf = (np.log((1 + len(titled)) / (1 + found)) + 1).astype(np.float32)
        songs = playlists.matrix[titled].astype(np.float32).tocsr()
        songs.data[:] = 1.0
        names = np.asarray(playlists.titles[titled]).astype(str)
        return cls(names, _unit(counts, idf), idf, songs)

    def alike(self, text: str) -> np.ndarray:
        """float64 (p,) how alike each title is to `text`: over MIN_SIMILARITY, sharpened;
        0 for the others."""
        query = _unit(_counts(np.array([text])), self.idf)
        similarity = np.asarray((self.titles @ query.T).todense()).ravel()
        return np.where(similarity > MIN_SIMILARITY, similarity, 0.0) ** SHARPNESS

    def weights(self, alike: np.ndarray | None) -> np.ndarray:
        """float64 (p,) each playlist's weight for a prompt its titles are `alike` (None: no
        title is): those values with PRIOR spread over all playlists, summing to 1."""
        alike = np.zeros(len(self)) if alike is None else alike
        return (alike + PRIOR / len(self)) / (float(alike.sum()) + PRIOR)

    def cover(self, rows: np.ndarray, static: np.ndarray, weights: np.ndarray, weight: float,
              picks: int) -> tuple[np.ndarray, np.ndarray]:
        """The order to offer candidates in (indices into `rows`), with the score each had
        when it was taken.

        The first `picks` are chosen one by one by `static` plus `weight` x the weight of the
        playlists holding them (out of 1, all playlists' weight), each playlist's weight
        multiplied by SERVED for every chosen song it holds; the rest follow by their score
        after those picks.

        Args:
            rows: (c,) distinct candidate rows.
            static: (c,) each candidate's score from everything else.
            weights: (p,) `weights` of the prompt.
        """
        held = self._by_song[:, rows]
        by_playlist = held.tocsr()
        weights = weights.copy()
        served = np.asarray(held.T @ weights).ravel()
        order, taken = [], []
        left = np.ones(len(rows), dtype=bool)
        for _ in range(min(picks, len(rows))):
            scores = np.where(left, static + weight * served, -np.inf)
            i = int(np.argmax(scores))
            order.append(i)
            taken.append(scores[i])
            left[i] = False
            playlists = held.indices[held.indptr[i]:held.indptr[i + 1]]
            change = weights[playlists] * (SERVED - 1.0)
            weights[playlists] += change
            songs, counts = _row_entries(by_playlist, playlists)
            served += np.bincount(songs, weights=np.repeat(change, counts),
                                  minlength=len(rows))
        rest = np.flatnonzero(left)
        scores = static[rest] + weight * served[rest]
        rest_order = np.argsort(-scores, kind="stable")
        return (np.concatenate([order, rest[rest_order]]).astype(np.int64),
                np.concatenate([taken, scores[rest_order]]))

    @cached_property
    def _by_song(self) -> sp.csc_matrix:
        return self.songs.tocsc()

    @cached_property
    def _held(self) -> tuple[np.ndarray, sp.csr_matrix]:
        """The songs some playlist holds, and their columns transposed (songs x playlists):
        a catalogue of 1.2M songs need not be scored for the few thousand playlists hold."""
        rows = np.unique(self.songs.indices).astype(np.int64)
        return rows, self._by_song[:, rows].T.tocsr()

    def popular(self, weights: np.ndarray, count: int) -> np.ndarray:
        """The `count` songs held by the most weight of playlists (candidates for `cover`)."""
        rows, held = self._held
        served = held @ weights
        count = min(count, len(rows))
        return rows[np.argpartition(-served, count - 1)[:count]] if count else rows

    def save(self, folder: Path) -> dict[str, Any]:
        """Write `titled_playlists.npz` into a library folder; returns its manifest entry."""
        np.savez(folder / TITLES_FILE, names=self.names, title_indptr=self.titles.indptr,
                 title_indices=self.titles.indices, title_data=self.titles.data, idf=self.idf,
                 song_indptr=self.songs.indptr, song_indices=self.songs.indices,
                 shape=np.array(self.songs.shape))
        return {"file": TITLES_FILE, "playlists": len(self)}

    @classmethod
    def load(cls, folder: Path, entry: dict[str, Any], n_songs: int) -> TitledPlaylists:
        """Read a library's titled playlists.

        Raises:
            LibraryError: the file is missing, damaged or of another catalogue.
        """
        path = folder / str(entry.get("file", TITLES_FILE))
        try:
            with np.load(path) as data:
                p, n = (int(x) for x in data["shape"])
                titles = sp.csr_matrix((data["title_data"], data["title_indices"],
                                        data["title_indptr"]), shape=(p, HASHED))
                indices = data["song_indices"]
                songs = sp.csr_matrix((np.ones(len(indices), np.float32), indices,
                                       data["song_indptr"]), shape=(p, n))
                idf, names = data["idf"], data["names"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LibraryError(f"{path} is missing or damaged ({str(exc)[:120]}); rebuild "
                               "the library") from exc
        if n != n_songs or len(idf) != HASHED or len(names) != p:
            raise LibraryError(f"{path} does not match the library ({n} songs for "
                               f"{n_songs}); rebuild the library")
        return cls(names, titles, idf, songs)


def _row_entries(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The column of every entry of `rows` of a CSR matrix, row after row, and how many each
    row has: its slices gathered without building a matrix (`cover` does this per song
    taken, where a scipy row slice cost ten times as much)."""
    ends = matrix.indptr[rows + 1]
    counts = ends - matrix.indptr[rows]
    total = counts.cumsum()
    positions = np.repeat(ends - total, counts) + np.arange(total[-1] if len(total) else 0)
    return matrix.indices[positions], counts


def _counts(titles: np.ndarray) -> sp.csr_matrix:
    """(t, HASHED) sublinear n-gram counts of titles, read as their word keys."""
    counts = _HASHER.transform([" ".join(keys(str(t))) for t in titles]).tocsr()
    counts.data = 1.0 + np.log(counts.data)
    return counts


def _unit(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """tf-idf rows of unit length (an empty row stays empty)."""
    weighted = (counts @ sp.diags(idf)).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return (sp.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted).astype(np.float32).tocsr()
