"""Offline quality of recommendations (`labels`, `playlists`, and the `metrics` both use).

Every method recommends the top k songs for the same single-song seeds, with the seed's own
artists and album left out of the candidates (same-artist matches would inflate every score),
and every list is scored by the same code:

- label precision@k: share of recommended songs sharing a label (genre, subgenre) with the seed.
  A song can carry several labels (the 30k file repeats a track once per playlist), so a hit is
  any overlap between the two label sets. Hit rate: share of seeds with at least one hit.
- co-occurrence: the same two figures with playlists as the labels (a hit when the recommended
  song shares a playlist with the seed).
- catalogue coverage: share of the catalogue found in at least one list.
- hubness: skewness of the k-occurrence distribution (how often each song is recommended, over
  the whole catalogue) and the most-recommended song's count; random lists give the reference.
- intra-list diversity: mean pairwise cosine distance inside a list, in one neutral space for
  every method (the standardised audio features), so no method is judged by its own metric.
- artist diversity: distinct (first) artists per list, over the list's length.

Playlist continuation (`split_playlists`, `hold_out_songs`, `playlist_seeds`,
`evaluate_playlists`): playlists are split by playlist id, vectors are learned from the
training part, and every seed drawn from a held-out playlist is scored by hit@k (at least one
other song of that playlist in its top k), P@k and recall@k, over all seeds and over cold-start
seeds (songs in no training playlist). It needs only vectors and a catalogue table, no library.

Prompts (`prompts`): a held-out playlist's title alone, as a prompt to a library built with
the other playlists, against popularity, same-title and title-word baselines.

Baselines run through the same code in the same run: random songs; cosine on the raw, unscaled
audio features; StandardScaler then cosine; our vectors with exact search; and our recommender
(`Library.recommend`: approximate index plus its diversity rules).
"""

from musicrec.evaluate.labels import (
    DEFAULT_SEEDS,
    PLAYLIST_COLUMN,
    Evaluation,
    Method,
    Truth,
    audio_matrix,
    baseline_methods,
    evaluate,
    metric_descriptions,
    random_method,
    read_truth,
    read_truth_for_ids,
    recommender_method,
    resolve_column,
    sample_seeds,
    score_lists,
    sklearn_cosine_method,
    standardised_audio,
    vector_method,
)
from musicrec.evaluate.metrics import (
    RecommendFn,
    artist_diversity,
    cap_per_artist,
    exact_top_k_excluding,
    exclusions,
    intra_list_diversity,
    table_exclusions,
)
from musicrec.evaluate.playlists import (
    DEFAULT_PLAYLIST_METHOD,
    PLAYLIST_METRICS,
    PLAYLIST_RULES,
    PlaylistSeeds,
    SearchSpace,
    evaluate_continuation,
    evaluate_playlists,
    hold_out_songs,
    playlist_evaluation,
    playlist_methods,
    playlist_seeds,
    playlist_split,
    score_playlist_lists,
    split_playlists,
)

__all__ = [
    "DEFAULT_PLAYLIST_METHOD",
    "DEFAULT_SEEDS",
    "Evaluation",
    "Method",
    "PLAYLIST_COLUMN",
    "PLAYLIST_METRICS",
    "PLAYLIST_RULES",
    "PlaylistSeeds",
    "RecommendFn",
    "SearchSpace",
    "Truth",
    "artist_diversity",
    "audio_matrix",
    "baseline_methods",
    "cap_per_artist",
    "evaluate",
    "evaluate_continuation",
    "evaluate_playlists",
    "exact_top_k_excluding",
    "exclusions",
    "hold_out_songs",
    "intra_list_diversity",
    "metric_descriptions",
    "playlist_evaluation",
    "playlist_methods",
    "playlist_seeds",
    "playlist_split",
    "random_method",
    "read_truth",
    "read_truth_for_ids",
    "recommender_method",
    "resolve_column",
    "sample_seeds",
    "score_lists",
    "score_playlist_lists",
    "sklearn_cosine_method",
    "split_playlists",
    "standardised_audio",
    "table_exclusions",
    "vector_method",
]
