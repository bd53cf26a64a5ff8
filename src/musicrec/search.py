"""Typo-tolerant search over song titles and artist names, in milliseconds on 1.2M songs.

An inverted index from words to rows. A query word matches catalogue words exactly, by prefix
(so results appear while the person is still typing) or by edit similarity (typos). Fuzzy
matching runs over the vocabulary of distinct words sharing the query word's first letter,
which is a few thousand words rather than a million titles. Candidate rows are scored by the
matched words' rarity and the top few are re-ranked on the whole string with rapidfuzz.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from musicrec.errors import LibraryError

_WORD = re.compile(r"[^\W_]+")


def normalize_text(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(plain))


def tokenize(text: str) -> list[str]:
    return normalize_text(text).split()


@dataclass(frozen=True)
class Hit:
    row: int
    score: float


@dataclass(frozen=True)
class Found:
    """The best hits of a search, and how many rows matched it in all."""

    hits: list[Hit]
    total: int


class TextIndex:
    """Words -> rows, saved as three arrays.

    Attributes:
        vocab: sorted unique words, numpy unicode array of shape (w,).
        offsets: int64 (w + 1,): rows of word i are rows[offsets[i]:offsets[i+1]].
        rows: int32 postings, sorted within each word.
    """

    FILES = ("vocab.npy", "offsets.npy", "rows.npy")

    def __init__(self, vocab: np.ndarray, offsets: np.ndarray, rows: np.ndarray, n_docs: int):
        self.vocab = vocab
        self.offsets = offsets
        self.rows = rows
        self.n_docs = n_docs
        self._vocab_list: list[str] = vocab.tolist()
        self._by_letter = _letter_buckets(self._vocab_list)

    @classmethod
    def build(cls, documents: Sequence[str] | pa.Array) -> TextIndex:
        """Index one document (e.g. "title artist") per row.

        Splitting and lower-casing run in Arrow over all rows at once; accents are folded
        in Python only over the distinct words, which are far fewer than the rows.
        """
        docs = pa.array(documents, pa.string()) if not isinstance(documents, pa.Array) else \
            documents
        words = pc.utf8_split_whitespace(
            pc.replace_substring_regex(pc.utf8_lower(docs), r"[^\p{L}\p{N}]+", " "))
        flat = pc.list_flatten(words)
        doc_of = pc.list_parent_indices(words).to_numpy().astype(np.int32)
        encoded = pc.dictionary_encode(flat).combine_chunks() if isinstance(
            flat, pa.ChunkedArray) else pc.dictionary_encode(flat)
        folded = np.array([normalize_text(w) for w in encoded.dictionary.to_pylist()], dtype=str)
        vocab, word_of_raw = np.unique(folded, return_inverse=True)
        word = word_of_raw[encoded.indices.to_numpy()]
        keep = np.char.str_len(vocab)[word] > 0
        pairs = np.sort(word[keep].astype(np.int64) * len(docs) + doc_of[keep])
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]  # a word counts once per row
        word_ids, rows = pairs // len(docs), (pairs % len(docs)).astype(np.int32)
        offsets = np.searchsorted(word_ids, np.arange(len(vocab) + 1)).astype(np.int64)
        return cls(vocab, offsets, rows, len(docs))

    def save(self, folder: Path) -> None:
        for name, arr in zip(self.FILES, (self.vocab, self.offsets, self.rows), strict=True):
            np.save(folder / name, arr)
        np.save(folder / "n_docs.npy", np.array([self.n_docs]))

    @classmethod
    def load(cls, folder: Path) -> TextIndex:
        """Open an index saved by `save`.

        Raises:
            LibraryError: a file is missing or damaged.
        """
        vocab, offsets, rows, n_docs = cls.check(folder)
        n = int(n_docs[0])
        # What a library without checksums (`musicrec.artefacts`) cannot otherwise tell: a
        # damaged word is not text (a SystemError in numpy), a damaged posting no row.
        if len(rows) and not 0 <= int(rows.min()) <= int(rows.max()) < n:
            raise LibraryError(f"search index in {folder} names rows beyond its {n:,} "
                               "documents; rebuild the library")
        try:
            return cls(np.asarray(vocab), offsets, rows, n)
        except (SystemError, ValueError) as exc:
            raise LibraryError(f"search index file {folder / 'vocab.npy'} is damaged ({exc}); "
                               "rebuild the library") from exc

    @classmethod
    def check(cls, folder: Path) -> tuple[np.ndarray, ...]:
        """The index's arrays, memory-mapped and checked against each other (cheap: reads
        only the headers and the last offset).

        Raises:
            LibraryError: a file is missing, truncated or inconsistent with the others.
        """
        arrays = []
        for name in (*cls.FILES, "n_docs.npy"):
            try:
                arrays.append(np.load(folder / name, mmap_mode="r", allow_pickle=False))
            except (OSError, ValueError, EOFError) as exc:
                raise LibraryError(f"search index file {folder / name} is missing or damaged "
                                   f"({exc}); rebuild the library") from exc
        vocab, offsets, rows, n_docs = arrays
        if len(offsets) != len(vocab) + 1 or len(n_docs) != 1 or int(offsets[-1]) != len(rows):
            raise LibraryError(f"search index in {folder} is inconsistent; rebuild the library")
        return vocab, offsets, rows, n_docs

    def _postings(self, word_id: int) -> np.ndarray:
        return self.rows[self.offsets[word_id]:self.offsets[word_id + 1]]

    def _matches(self, token: str, last: bool) -> list[tuple[int, float]]:
        """Vocabulary words matching a query token, with a strength in (0, 1]."""
        found: dict[int, float] = {}
        i = bisect.bisect_left(self._vocab_list, token)
        if i < len(self._vocab_list) and self._vocab_list[i] == token:
            found[i] = 1.0
        if last:  # the person may still be typing this word
            for j in range(i, min(i + 200, len(self._vocab_list))):
                if not self._vocab_list[j].startswith(token):
                    break
                found.setdefault(j, 0.85)
        if len(token) >= 3:
            start, words = self._by_letter.get(token[0], (0, []))
            cutoff = 80 if len(token) > 4 else 75
            for _, score, j in process.extract(token, words, scorer=fuzz.ratio,
                                               score_cutoff=cutoff, limit=20):
                found.setdefault(start + j, 0.7 * score / 100)
        return list(found.items())

    def search(self, query: str, limit: int = 10,
               documents: Sequence[str] | None = None) -> Found:
        """Best rows for a query; `documents` (row -> text) enables whole-string re-ranking."""
        tokens = tokenize(query)
        if not tokens or limit < 1:
            return Found([], 0)
        parts_rows: list[np.ndarray] = []
        parts_score: list[np.ndarray] = []
        for t_i, token in enumerate(tokens):
            rows_t, score_t = [], []
            for word_id, strength in self._matches(token, last=t_i == len(tokens) - 1):
                posting = np.asarray(self._postings(word_id))
                idf = np.log1p(self.n_docs / (1 + len(posting)))
                rows_t.append(posting)
                score_t.append(np.full(len(posting), strength * idf, dtype=np.float32))
            if not rows_t:
                continue
            r = np.concatenate(rows_t)
            s = np.concatenate(score_t)
            # A row counts each query token once, through its best-matching word.
            order = np.lexsort((-s, r))
            r, s = r[order], s[order]
            first = np.r_[True, r[1:] != r[:-1]]
            parts_rows.append(r[first])
            parts_score.append(s[first])
        if not parts_rows:
            return Found([], 0)
        rows = np.concatenate(parts_rows)
        scores = np.concatenate(parts_score)
        uniq, inverse = np.unique(rows, return_inverse=True)
        total = np.bincount(inverse, weights=scores).astype(np.float32)
        top = np.argsort(-total, kind="stable")[: max(limit * 20, 200)]
        hits = [Hit(int(uniq[i]), float(total[i])) for i in top]
        if documents is not None:
            norm_query = normalize_text(query)
            best = max(h.score for h in hits)
            hits = [Hit(h.row, h.score / best + fuzz.token_set_ratio(
                norm_query, normalize_text(documents[h.row])) / 100) for h in hits]
            hits.sort(key=lambda h: -h.score)
        return Found(hits[:limit], len(uniq))


def _letter_buckets(vocab: list[str]) -> dict[str, tuple[int, list[str]]]:
    """First letter -> (start offset, words) over the sorted vocabulary."""
    buckets: dict[str, tuple[int, list[str]]] = {}
    start = 0
    for i in range(1, len(vocab) + 1):
        if i == len(vocab) or vocab[i][:1] != vocab[start][:1]:
            buckets[vocab[start][:1]] = (start, vocab[start:i])
            start = i
    return buckets
