"""The songs for a prompt: every part of its reading scored together over one pool.

Seeds (artists, songs, genres, or a sound made of the feature words' targets) become queries
as in any recommendation (`musicrec.recommend.Recommender.queries`, moved to the targets and
inside the filters); each learned word adds its vector as a query. A candidate's score is its
mean similarity to the queries, NAMED more for the songs the prompt names, minus NEGATIVE x
its similarity to the nearest negative seed, less the target and hub penalties of any
recommendation. With titled playlists, songs are then taken one at a time by that score plus
PLAYLISTS x the weight of the playlists titled like the prompt that hold them and are not yet
served (`musicrec.prompts.titles`; POPULAR when no title is like it); the per-artist cap
applies as always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from musicrec.filters import Where
from musicrec.prompts.parse import Reading, read_prompt
from musicrec.recommend import Pool, Ranked
from musicrec.request import MAX_SEEDS, RecommendRequest

if TYPE_CHECKING:
    from musicrec.library import Library

# Weight of the share of the (weighted) playlists titled like the prompt that hold a song,
# next to its similarity to the queries (tuned on a validation split of the training
# playlists: benchmarks/prompt_quality.py --tune) ...
PLAYLISTS = 16.0
# ... and when no title is like the prompt ("like Norah Jones"), so the weights are only the
# prior, how many playlists hold each song: among songs about as like the prompt, the most
# played first.
POPULAR = 0.3
# Added to the songs a prompt names, and to the named artists' and genres' songs: "Jolene",
# "Mariah Carey" or "#rap" as a prompt wants them first (the per-artist cap still applies),
# then songs like them.
NAMED = 1.0
# Added to the songs whose titles hold a word known nowhere else (a guess at its meaning).
TITLED = 0.5
# Similarity to a negative seed subtracted, times this.
NEGATIVE = 1.0
# Nearest songs searched per query.
POOL = 200
# Songs held by the most weight of titled playlists added to the candidates.
PLAYLIST_SONGS = 500
# Songs chosen one at a time by the playlists they serve, per song asked for (the per-artist
# cap may pass over some); the rest follow by score.
CHOSEN = 2


@dataclass(frozen=True)
class PromptAnswer:
    """Songs for a prompt, best first (catalogue records with `row`), and how it was read."""

    tracks: list[dict[str, Any]]
    reading: Reading


def answer_prompt(lib: Library, prompt: str, limit: int = 10,
                  columns: list[str] | None = None) -> PromptAnswer:
    """Read a prompt and recommend songs for it.

    Args:
        columns: the catalogue columns each record holds (default all).

    Raises:
        InvalidQueryError: an empty, too long or meaningless prompt, or targets or filters the
            library has no data for.
    """
    reading = read_prompt(lib, prompt)
    request = _request(reading, limit)
    rec = lib.recommender()
    rec.check_columns(request)
    queries = rec.queries(rec.resolve_seeds(request), request)
    queries = queries[np.linalg.norm(queries, axis=1) > 0]
    vocabulary = lib.vocabulary
    if reading.words and vocabulary is not None:
        queries = np.vstack([queries, vocabulary.vectors[reading.words]])
    mask = rec.filter_mask(request)
    named = _named_rows(lib, reading)
    titled = lib.titled_playlists
    weights = None if titled is None else titled.weights(reading.alike)
    served = (np.empty(0, np.int64) if titled is None or weights is None
              else titled.popular(weights, PLAYLIST_SONGS))
    rows = _candidates(lib, reading, queries, mask, request, np.concatenate([named, served]))
    scores = _scores(lib, reading, queries, rows, named)
    (ranked,) = rec.ranked([Pool(rows, scores.astype(np.float32))], request)
    if titled is not None and weights is not None:
        weight = POPULAR if reading.alike is None else PLAYLISTS
        order, chosen = titled.cover(ranked.rows, ranked.scores, weights, weight,
                                     CHOSEN * limit)
        ranked = Ranked(ranked.rows[order], ranked.sims[order], chosen)
    picks = rec.take([ranked], request)
    records = lib.tracks([p.row for p in picks], columns)
    return PromptAnswer(records, reading)


def _request(reading: Reading, limit: int) -> RecommendRequest:
    """The request a reading makes: its seeds, or without any a sound made of its targets
    (no targets: a sound of unknown features, which pulls nowhere), with its targets and
    filters, validated as every request is."""
    sound = [] if reading.seeds else [dict(reading.target)]
    return RecommendRequest.parse(
        seed_tracks=reading.seed_tracks, seed_artists=reading.seed_artists,
        seed_genres=reading.seed_genres, seed_features=sound, limit=limit,
        target=reading.target, min=reading.min, max=reading.max)


def _candidates(lib: Library, reading: Reading, queries: np.ndarray, mask: np.ndarray | None,
                request: RecommendRequest, wanted: np.ndarray) -> np.ndarray:
    """The queries' nearest allowed songs and the `wanted` ones (the named seeds' own songs,
    the songs the most weight of playlists hold), without the negative seeds' own songs."""
    found = [np.empty(0, np.int64)]
    if len(queries):
        ids, _ = lib.index.search(queries, POOL, allowed=mask, where=Where.of(request))
        found.append(ids[ids >= 0].astype(np.int64))
    found.append(wanted)
    found += reading.titled
    rows = np.unique(np.concatenate(found))
    if mask is not None:
        rows = rows[mask[rows]]
    left_out = _own_rows(lib, reading.negative_tracks, reading.negative_artists)
    return rows[~np.isin(rows, left_out)]


def _named_rows(lib: Library, reading: Reading) -> np.ndarray:
    """The songs a prompt names: its songs, its artists' songs, and the songs standing for its
    genres (`Library.genre_seed`: a genre label's songs, a family's most typical ones)."""
    genres = [lib.genre_seed(genre)[0] for genre in reading.seed_genres]
    return np.concatenate([_own_rows(lib, reading.seed_tracks, reading.seed_artists), *genres])


def _own_rows(lib: Library, tracks: list[str], artists: list[str]) -> np.ndarray:
    rows = [r for r in lib.rows_of(tracks) if r is not None]
    parts = [np.asarray(rows, np.int64)]
    for artist in artists:
        artist_row = lib.artist_row_of(artist)
        if artist_row is not None:
            parts.append(lib.rows_of_artist(artist_row))
    return np.concatenate(parts)


def _scores(lib: Library, reading: Reading, queries: np.ndarray, rows: np.ndarray,
            named: np.ndarray) -> np.ndarray:
    """float64 (len(rows),): mean similarity to the queries, plus NAMED and TITLED, minus the
    similarity to the nearest negative seed."""
    vectors = np.asarray(lib.vectors[rows], dtype=np.float32)
    scores = np.zeros(len(rows)) if not len(queries) else (vectors @ queries.T).mean(axis=1)
    scores += NAMED * np.isin(rows, named)
    for titled in reading.titled:
        scores += TITLED * np.isin(rows, titled) / len(reading.titled)
    negatives = _negative_queries(lib, reading)
    if len(negatives):
        scores -= NEGATIVE * np.maximum(vectors @ negatives.T, 0.0).max(axis=1)
    return scores


def _negative_queries(lib: Library, reading: Reading) -> np.ndarray:
    """(m, d) float32: a query for each negative seed and negative word."""
    out = []
    if reading.negative_tracks or reading.negative_artists:
        tracks = reading.negative_tracks[:MAX_SEEDS]
        request = RecommendRequest.parse(
            seed_tracks=tracks, seed_artists=reading.negative_artists[:MAX_SEEDS - len(tracks)])
        rec = lib.recommender()
        out.append(rec.queries(rec.resolve_seeds(request), request))
    if reading.negative_words and lib.vocabulary is not None:
        out.append(lib.vocabulary.vectors[reading.negative_words])
    return np.vstack(out) if out else np.empty((0, lib.vectors.shape[1]), np.float32)
