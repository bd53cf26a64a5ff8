"""What was learned, saved beside the library and loaded back; queries made from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec.errors import LibraryError
from musicrec.features import normalize
from musicrec.learn.context import (
    Context,
    ContextConfig,
    Groups,
    group_sum,
)
from musicrec.learn.reading import Playlists
from musicrec.learn.space import (
    ColdStartMap,
    PlaylistConfig,
    PlaylistSpace,
)

LEARN_FORMAT = 1
LEARN_MANIFEST = "learn.json"
ARTIST_VECTORS = "artist_vectors.npy"
COLD_START_MAP = "playlist_map.npz"
ARTIST_PLAYLIST_VECTORS = "artist_playlist_vectors.npy"
PLAYLIST_COUNTS = "playlist_counts.npy"


@dataclass(frozen=True)
class Learned:
    """What `load_learned` returns.

    Attributes:
        entry: the manifest entry (`learn.json`).
        artist_vectors: (m, d_content_base) float32 unit rows, memory-mapped.
        mapping: the cold-start map, or None without playlists.
        artist_playlist: (m, d_playlist) float32, memory-mapped, or None.
        playlist_counts: (n,) int32 training playlists per song, memory-mapped, or None.
    """

    entry: dict[str, object]
    artist_vectors: np.ndarray
    mapping: ColdStartMap | None = None
    artist_playlist: np.ndarray | None = None
    playlist_counts: np.ndarray | None = None


def save_learned(folder: str | Path, context: Context, context_config: ContextConfig,
                 n_content: int, playlists: Playlists | None = None,
                 space: PlaylistSpace | None = None, mapping: ColdStartMap | None = None,
                 playlist_config: PlaylistConfig | None = None,
                 prompts: dict[str, object] | None = None) -> dict[str, object]:
    """Write the learned artefacts into a library folder; returns the manifest entry.

    Files: `artist_vectors.npy` (m, d) float32 (rows as artists.arrow); with playlists also
    `playlist_map.npz` (the cold-start map), `artist_playlist_vectors.npy` (m, d_playlist)
    float32 and `playlist_counts.npy` (n,) int32 (for `cold_query`); `learn.json` holds the
    entry, with the entries of the prompts' files, already written, in it (`vocabulary`: the
    title words, `titles`: the titled playlists; `musicrec.prompts`).

    Args:
        n_content: number of leading vector dimensions that are the content part (the rest,
            if any, is the playlist part).
    """
    folder = Path(folder)
    np.save(folder / ARTIST_VECTORS, np.ascontiguousarray(context.artist_vectors, np.float32))
    entry: dict[str, object] = {
        "format": LEARN_FORMAT, "context": context_config.model_dump(),
        "artist_space": context.artist_space,
        "content_dims": n_content, "dims": context.dims, "artist_vectors": ARTIST_VECTORS,
        "artists": int(len(context.artist_vectors)), "playlists": None}
    if (playlists is not None and space is not None and mapping is not None
            and playlist_config is not None):
        np.savez(folder / COLD_START_MAP, coef=mapping.coef, intercept=mapping.intercept,
                 shift=mapping.shift, scale=mapping.scale)
        groups_pl = artist_playlist_vectors(context.groups, space)
        np.save(folder / ARTIST_PLAYLIST_VECTORS, groups_pl)
        np.save(folder / PLAYLIST_COUNTS, space.counts.astype(np.int32))
        entry["playlists"] = {"config": playlist_config.model_dump(),
                              "read": playlists.summary(), "dims": int(space.vectors.shape[1]),
                              "map": COLD_START_MAP, "artist_playlist": ARTIST_PLAYLIST_VECTORS,
                              "counts": PLAYLIST_COUNTS, **(prompts or {})}
    (folder / LEARN_MANIFEST).write_text(json.dumps(entry, indent=2))
    return entry


def load_learned(folder: str | Path) -> Learned:
    """The learned artefacts of a library folder, arrays memory-mapped.

    Raises:
        LibraryError: missing, damaged or from another format version.
    """
    folder = Path(folder)
    try:
        entry = json.loads((folder / LEARN_MANIFEST).read_text())
        if entry.get("format") != LEARN_FORMAT:
            raise LibraryError(f"{folder / LEARN_MANIFEST} has format {entry.get('format')}, "
                               f"this version reads {LEARN_FORMAT}: rebuild the library")
        learned = Learned(entry, np.load(folder / ARTIST_VECTORS, mmap_mode="r"))
        if entry.get("playlists"):
            with np.load(folder / COLD_START_MAP) as data:
                mapping = ColdStartMap(data["coef"], data["intercept"], data["shift"],
                                       data["scale"])
            learned = Learned(entry, learned.artist_vectors, mapping,
                              np.load(folder / ARTIST_PLAYLIST_VECTORS, mmap_mode="r"),
                              np.load(folder / PLAYLIST_COUNTS, mmap_mode="r"))
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise LibraryError(f"learned artefacts ({LEARN_MANIFEST}, {ARTIST_VECTORS}) in {folder} "
                           f"are missing or damaged ({str(exc).splitlines()[0][:120]}); "
                           "rebuild the library") from exc
    for name, array in (("artist vectors", learned.artist_vectors),
                        ("artist playlist vectors", learned.artist_playlist)):
        if array is not None and (array.ndim != 2 or array.dtype != np.float32):
            raise LibraryError(f"{folder}: {name} should be a 2-D float32 matrix, got "
                               f"{array.dtype} {array.shape}; rebuild the library")
    return learned


def artist_playlist_vectors(groups: Groups, space: PlaylistSpace) -> np.ndarray:
    """(m, d_playlist) float32: each artist's mean learned playlist vector, unit rows.

    The mean runs over the artist's songs that are in training playlists; artists with none
    get a zero row. People put an artist's songs in the same playlists, so for a song in no
    playlist this says more than its audio does (see `query_vectors`).
    """
    warm = space.seen[groups.song_of_pair]
    sums = np.zeros((groups.n_artists, space.vectors.shape[1]), dtype=np.float64)
    group_sum(sums, space.vectors, groups.song_of_pair[warm], groups.artist_of_pair[warm])
    return normalize(sums.astype(np.float32))


def cold_query(vector: np.ndarray, n_content: int, artist_rows: np.ndarray,
               weight: float) -> np.ndarray:
    """The query for a seed song in no training playlist (float32 unit (d,)).

    Its stored vector's playlist part is the ridge mapping from its audio, which finds songs
    like it but not the songs people play with it; the query replaces that part with the mean
    playlist vector of its artists (`artist_playlist_vectors` rows of the song's artists), or
    leaves it out when none of them is in a playlist. A popularity dimension after the
    playlist part keeps its stored value (`popularity_column`).

    Args:
        vector: (d,) the seed's stored vector (`learned_vectors`).
        n_content: leading dimensions that are the content part.
        artist_rows: (a, d_playlist) the seed's artists' rows of the artist playlist matrix.
        weight: `PlaylistConfig.weight`.
    """
    vector = np.asarray(vector, np.float32)
    scale = max(float(np.linalg.norm(vector[:n_content])), 1e-12)
    end = n_content + np.shape(artist_rows)[-1]
    part = np.asarray(artist_rows, np.float32).reshape(-1, end - n_content).sum(axis=0)
    norm = float(np.linalg.norm(part))
    part = part / norm * weight if norm > 0 else np.zeros_like(part)
    return normalize(np.concatenate([vector[:n_content] / scale, part,
                                     vector[end:] / scale])[None, :])[0]


def query_vectors(vectors: np.ndarray, space: PlaylistSpace, groups: Groups, n_content: int,
                  weight: float) -> np.ndarray:
    """`cold_query` for every song in no training playlist; other songs query as stored.

    Validation on the MPD sample (10% of playlist songs held out, seed's artist and album
    excluded): cold seeds querying as stored found hit@10 0.006, with their content part alone
    0.053 (= content-only vectors), with content + their artists' playlist vector 0.229; all
    seeds 0.406 -> 0.435; continuation from 5 seeds 0.629 -> 0.653. Storing the artists'
    playlist vector for cold songs instead (not only querying with it) cost the warm seeds
    0.406 -> 0.271: songs no playlist holds then crowd the lists.

    Returns:
        (n, d) float32 unit rows (for evaluation; the recommender calls `cold_query` per seed).
    """
    out = np.array(vectors, dtype=np.float32)
    artist_pl = artist_playlist_vectors(groups, space)
    cold = ~space.seen
    end = n_content + artist_pl.shape[1]
    sums = np.zeros((len(out), artist_pl.shape[1]), dtype=np.float64)
    group_sum(sums, artist_pl[groups.artist_of_pair], np.arange(len(groups.song_of_pair)),
              groups.song_of_pair)
    part = normalize(sums.astype(np.float32)) * weight
    scale = np.maximum(np.linalg.norm(out[:, :n_content], axis=1, keepdims=True), 1e-12)
    out[cold] = normalize(np.hstack([out[cold, :n_content] / scale[cold], part[cold],
                                     out[cold, end:] / scale[cold]]))
    return out


def similarity_parts(a: np.ndarray, b: np.ndarray, n_content: int) -> tuple[float, float]:
    """How much of the cosine between two final song vectors comes from each part.

    Returns (content part, playlist part); they sum to the cosine. The explanation says
    "people put these together" when the playlist part carries most of it and both songs were
    in training playlists, "similar sound" otherwise.
    """
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return float(a[:n_content] @ b[:n_content]), float(a[n_content:] @ b[n_content:])
