"""Prompts scored by playlist titles: a held-out playlist's title alone, as a prompt, should
find its songs (the RecSys Challenge 2018's "title only" task).

Playlists are split by playlist; a library is built with the training part (its vocabulary
learned from their titles), and each held-out playlist with at least MIN_SONGS catalogue songs
is asked for by its title. hit@10: one of its songs in the top 10; R-precision: the share of
its R songs among the top R (R capped at the longest answer, 100). Three baselines read the
same training playlists: the most popular songs, the songs of training playlists with the
same title, and the songs of training playlists sharing a title word.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.build import BuildConfig, build_library
from musicrec.errors import InvalidQueryError, MusicrecError
from musicrec.evaluate.playlists import split_playlists
from musicrec.learn import Playlists, read_playlists
from musicrec.library import Library
from musicrec.prompts.answer import answer_prompt
from musicrec.prompts.words import keys

MIN_SONGS = 5
TEST_SHARE = 0.5
MAX_LIST = 100
K = 10

# A method: a title -> catalogue rows, best first.
Answer = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class TitleSplit:
    """Training playlists, and the held-out ones scored (at least MIN_SONGS catalogue songs)."""

    train: Playlists
    test: Playlists


def split_titles(playlists: Playlists, rng_seed: int = 0, test_share: float = TEST_SHARE
                 ) -> TitleSplit:
    """Split titled playlists by playlist (seeded), keeping the scorable held-out ones.

    Raises:
        MusicrecError: the playlists have no titles.
    """
    if playlists.titles is None:
        raise MusicrecError("these playlists have no titles (MPD 'name', or a CSV "
                            "'playlist_name' column): prompts are scored by titles")
    train, test = split_playlists(playlists.matrix, test_share, rng_seed)
    sizes = playlists.matrix.getnnz(axis=1)
    return TitleSplit(playlists.subset(train), playlists.subset(test[sizes[test] >= MIN_SONGS]))


def write_playlists(playlists: Playlists, track_ids: np.ndarray, path: Path) -> None:
    """A CSV (pid, playlist_name, track_uri) of the playlists' catalogue songs, to build with."""
    coo = playlists.matrix.tocoo()
    titles = playlists.titles if playlists.titles is not None else np.full(len(playlists), "")
    pd.DataFrame({"pid": playlists.pids[coo.row], "playlist_name": titles[coo.row],
                  "track_uri": np.asarray(track_ids, dtype=object)[coo.col]}).to_csv(
        path, index=False)


def baselines(train: Playlists) -> dict[str, Answer]:
    """Popularity, same title, and title-word co-occurrence over the training playlists."""
    matrix = train.matrix.tocsr()
    popularity = np.asarray(matrix.sum(axis=0)).ravel()
    popular = np.argsort(-popularity, kind="stable")[:MAX_LIST]
    titles = [" ".join(keys(str(t))) for t in train.titles]  # type: ignore[union-attr]
    by_title: dict[str, list[int]] = {}
    by_word: dict[str, list[int]] = {}
    for p, title in enumerate(titles):
        by_title.setdefault(title, []).append(p)
        for word in title.split():
            by_word.setdefault(word, []).append(p)

    def ranked(playlist_rows: list[int]) -> np.ndarray:
        counts = np.asarray(matrix[playlist_rows].sum(axis=0)).ravel() if playlist_rows else 0
        return np.argsort(-(counts + popularity * 1e-6), kind="stable")[:MAX_LIST]

    def same_title(title: str) -> np.ndarray:
        return ranked(by_title.get(" ".join(keys(title)), []))

    def title_words(title: str) -> np.ndarray:
        return ranked([p for w in keys(title) for p in by_word.get(w, [])])

    return {"popularity": lambda title: popular, "same title": same_title,
            "title words": title_words}


def library_answer(lib: Library) -> Answer:
    """Our prompts over an opened library; a prompt answered 400 is an empty list."""
    def answer(title: str) -> np.ndarray:
        try:
            tracks = answer_prompt(lib, title, MAX_LIST, columns=["id"]).tracks
        except InvalidQueryError:
            return np.empty(0, np.int64)
        return np.array([t["row"] for t in tracks], dtype=np.int64)
    return answer


def score_titles(answer: Answer, test: Playlists) -> dict[str, float]:
    """hit@10 and R-precision of a method over the held-out playlists' titles."""
    matrix = test.matrix.tocsr()
    hits, precisions, answered = [], [], 0
    for p, title in enumerate(test.titles):  # type: ignore[arg-type]
        truth = matrix.indices[matrix.indptr[p]:matrix.indptr[p + 1]]
        found = np.asarray(answer(str(title)))
        answered += len(found) > 0
        hits.append(np.isin(found[:K], truth).any())
        r = min(len(truth), MAX_LIST)
        precisions.append(np.isin(found[:r], truth).sum() / r)
    return {f"hit@{K}": float(np.mean(hits)), "R-precision": float(np.mean(precisions)),
            "answered": answered / max(len(hits), 1)}


def evaluate_prompts(lib: Library, playlists_path: Path, rng_seed: int = 0) -> dict[str, Any]:
    """Build a library from `lib`'s catalogue with the training half of the playlists, ask it
    each held-out title, and score it beside the baselines.

    Raises:
        MusicrecError: the library's source catalogue is gone, or the playlists have no titles.
    """
    source = Path(lib.manifest.source.path)
    if not source.exists():
        raise MusicrecError(f"the library's source catalogue {source} is gone: evaluating "
                            "prompts builds a library from it with the training playlists")
    ids = lib.table.column("id").to_numpy(zero_copy_only=False)
    split = split_titles(read_playlists(playlists_path, ids), rng_seed)
    with tempfile.TemporaryDirectory(prefix="musicrec-prompts-") as tmp:
        train_file = Path(tmp) / "train.csv"
        write_playlists(split.train, ids, train_file)
        build_library(source, Path(tmp) / "library", BuildConfig(playlists=[train_file]))
        trained = Library.open(Path(tmp) / "library")
        methods = {**baselines(split.train), "prompts": library_answer(trained)}
        scores = {name: score_titles(method, split.test) for name, method in methods.items()}
    return {"train playlists": len(split.train), "held-out playlists": len(split.test),
            "min songs": MIN_SONGS, "rng seed": rng_seed, "methods": scores}
