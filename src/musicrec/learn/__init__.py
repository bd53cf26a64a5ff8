"""What is learned from the catalogue's structure and from playlists (`context`, `reading`,
`space`, `store`).

Two signals are added to the audio-feature vectors of `features.FeaturePipeline`:

- **Artist context** (no labels needed): each song's vector gets its artist's mean vector
  appended (album mean and shrinkage of small artists are options; measured, neither helped).
  Songs by the same artist tend to share a genre, so the mean over the artist's songs is a less
  noisy estimate of "what kind of music this is" than one song's features.
- **Playlists**, when given: songs people put in the same playlists get close vectors in a small
  learned space (implicit ALS, or PPMI co-occurrence + SVD). Most songs of a large catalogue
  appear in no playlist, so a mapping learned from the content vector to that space (ridge
  regression on the songs that have both) gives every song a playlist-space vector.

The song vector the index sees is the concatenation of the weighted parts, L2-normalised, so the
index and the recommender need no change. Hooks for the build:

- no playlists: `build_context(table, pipeline.transform(table), ContextConfig(),
  pipeline.dims)` -> `Context.vectors` to index (n, 2 x the pipeline's dims: 32 for the
  Kaggle 1.2M schema, 28 for the 30k file) and `Context.artist_vectors` for
  `related_artists`; then
  `save_learned(folder, context, config, n_content=vectors.shape[1])`.
- with playlists: `read_playlists(paths, track_ids)`, then `learned_vectors(context.vectors,
  playlists, PlaylistConfig())` -> (vectors to index, space, map); `save_learned(folder,
  context, config, n_content, playlists, space, map, playlist_config)`.
- at query time, a seed in no training playlist (`playlist_counts[row] == 0`) queries with
  `cold_query(stored_vector, n_content, artist_playlist[artist rows of the seed], weight)`.
"""

from musicrec.learn.context import (
    DEFAULT_ARTIST_SCALE,
    Context,
    ContextConfig,
    Groups,
    build_context,
    context_vectors,
    related_artists,
    song_context,
)
from musicrec.learn.reading import PLAYLIST_ID_COLUMNS, TRACK_COLUMNS, Playlists, read_playlists
from musicrec.learn.space import (
    ColdStartMap,
    PlaylistConfig,
    PlaylistSpace,
    blend,
    fit_cold_start,
    fit_playlists,
    learned_vectors,
    playlist_part,
    popularity_column,
)
from musicrec.learn.store import (
    ARTIST_PLAYLIST_VECTORS,
    ARTIST_VECTORS,
    COLD_START_MAP,
    LEARN_FORMAT,
    LEARN_MANIFEST,
    PLAYLIST_COUNTS,
    Learned,
    artist_playlist_vectors,
    cold_query,
    load_learned,
    query_vectors,
    save_learned,
    similarity_parts,
)

__all__ = [
    "ARTIST_PLAYLIST_VECTORS",
    "ARTIST_VECTORS",
    "COLD_START_MAP",
    "ColdStartMap",
    "Context",
    "ContextConfig",
    "DEFAULT_ARTIST_SCALE",
    "Groups",
    "LEARN_FORMAT",
    "LEARN_MANIFEST",
    "Learned",
    "PLAYLIST_COUNTS",
    "PLAYLIST_ID_COLUMNS",
    "PlaylistConfig",
    "PlaylistSpace",
    "Playlists",
    "TRACK_COLUMNS",
    "artist_playlist_vectors",
    "blend",
    "build_context",
    "cold_query",
    "context_vectors",
    "fit_cold_start",
    "fit_playlists",
    "learned_vectors",
    "load_learned",
    "playlist_part",
    "popularity_column",
    "query_vectors",
    "read_playlists",
    "related_artists",
    "save_learned",
    "similarity_parts",
    "song_context",
]
