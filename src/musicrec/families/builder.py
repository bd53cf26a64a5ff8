"""Building the families of a catalogue: cluster, describe, name, and place on the map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from musicrec import schema
from musicrec.errors import MusicrecError
from musicrec.families import naming
from musicrec.families.cluster import (
    Clusters,
    cluster_two_levels,
    default_family_count,
    default_subfamily_count,
    members,
    space_weights,
    to_space,
)
from musicrec.families.layout import song_map
from musicrec.families.model import Families, Family

# Features averaged per family; year and popularity describe a family but are not its sound.
MEAN_COLUMNS = (*naming.TRAITS, *(f.name for f in schema.FEATURES if f.profile and not f.traits))
# The label columns that may name each level, where a catalogue has them.
_LABEL_COLUMNS = ("genre", "subgenre")
_MAP_PER_FAMILY = 300
_CENTRAL = 10
_ARTISTS = 10
_NEIGHBOURS = 5


def build_families(vectors: np.ndarray, table: pa.Table, count: int | None = None,
                   seed: int = 0, layout: Literal["pca", "tsne"] = "pca",
                   dims: Sequence[str] | None = None,
                   subcount: int | None = None) -> Families:
    """Cluster songs into named families and sub-families and place them on a 2-D map.

    Args:
        vectors: float32, shape (n, d), unit rows; the songs' vectors.
        table: the catalogue, one row per song in the same order (see `musicrec.catalogue`).
        count: how many families; None picks `default_family_count(n)`.
        seed: seeds the clustering and the samples; equal inputs give equal families.
        layout: the 2-D map: "pca", or "tsne" (neighbour-preserving; needs openTSNE).
        dims: the names of the d dimensions (the manifest's); audio-feature dimensions weigh
            less in the clustering than artist context (`musicrec.families.cluster`).
        subcount: about how many sub-families in all; None picks `default_subfamily_count(n)`.

    Raises:
        MusicrecError: no songs, or a count outside 2..n (one song makes one family).
    """
    n = len(vectors)
    if table.num_rows != n:
        raise ValueError(f"table has {table.num_rows} rows, vectors have {n}")
    weights = space_weights(dims, np.shape(vectors)[1])
    x = to_space(vectors, weights)
    rng = np.random.default_rng(seed)
    if n == 1 and count in (None, 1):
        # One song is one family; clustering and a 2-D map need at least two songs.
        one = np.zeros(1, dtype=np.int16)
        clusters = Clusters(one, one, x, x, np.zeros(1, dtype=np.int64))
        map_xy, map_method = np.zeros((1, 2), dtype=np.float32), "pca"
    else:
        if n < 2:
            raise MusicrecError(f"need at least 2 songs to find sound families, got {n}")
        k = default_family_count(n) if count is None else count
        if not 2 <= k <= n:
            raise MusicrecError(f"cannot make {k} sound families from {n} songs; "
                                f"choose between 2 and {n}")
        # The map comes first because BLAS runs slowly for a moment after faiss, while faiss's
        # idle OpenMP threads still spin.
        map_xy, map_method = song_map(x, rng, seed, layout)
        clusters = cluster_two_levels(
            x, k, max(k, default_subfamily_count(n) if subcount is None else subcount), seed)
    groups = members(clusters.labels, len(clusters.centroids))
    subgroups = members(clusters.sublabels, len(clusters.subcentroids))
    sample_rows = np.sort(np.concatenate(
        [rng.permutation(m)[:_MAP_PER_FAMILY] for m in groups])).astype(np.int64)
    describe = _Describer(x, table, rng)
    families = describe.level(groups, clusters.centroids, None, _LABEL_COLUMNS[0])
    subfamilies = describe.level(subgroups, clusters.subcentroids, clusters.parents,
                                 _label_column(table), taken=[f.name for f in families])
    for sub in subfamilies:
        families[sub.parent].children.append(sub.id)  # type: ignore[index]
    return Families(labels=clusters.labels, sublabels=clusters.sublabels,
                    centroids=clusters.centroids, subcentroids=clusters.subcentroids,
                    weights=weights, families=families, subfamilies=subfamilies,
                    map_xy=map_xy, sample_rows=sample_rows, map_method=map_method)


def _label_column(table: pa.Table) -> str:
    """Sub-families are named by the finer labels where the catalogue has them."""
    return _LABEL_COLUMNS[1] if _LABEL_COLUMNS[1] in table.column_names else _LABEL_COLUMNS[0]


class _Describer:
    """What both levels need about the catalogue, read once."""

    def __init__(self, x: np.ndarray, table: pa.Table, rng: np.random.Generator):
        self.x, self.table = x, table
        self.columns = {name: naming.floats(table, name) for name in MEAN_COLUMNS
                        if name in table.column_names}
        self.ranks = naming.TraitRanks(self.columns, rng)
        self.catalogue = {name: float(np.nanmean(v)) for name, v in self.columns.items()
                          if not np.isnan(v).all()}
        self.years = self.columns.get("year", np.full(len(x), np.nan))
        self.artists = _PrimaryArtists(table)

    def level(self, groups: list[np.ndarray], centroids: np.ndarray,
              parents: np.ndarray | None, label_column: str,
              taken: Sequence[str] = ()) -> list[Family]:
        """The families of one level, named uniquely (also against `taken` names)."""
        k = len(groups)
        spans = [_years(self.years[rows]) for rows in groups]
        profiles = [self.ranks.profile(rows) for rows in groups]
        words = [naming.trait_words(p, self.ranks.medians) for p in profiles]
        labels = naming.dominant_labels(self.table, label_column, groups)
        eras = [naming.era_word(s) for s in spans]
        names = naming.unique_names(words, labels, eras, taken)
        artists = self.artists.top(groups)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -np.inf)
        out = []
        local = np.zeros(k, dtype=np.int64)
        for i, rows in enumerate(groups):
            parent = None if parents is None else int(parents[i])
            if parent is not None:
                local[i] = np.count_nonzero(parents[:i] == parent)
            closeness = self.x[rows] @ centroids[i]
            out.append(Family(
                id=i, key=str(i) if parent is None else f"{parent}.{local[i]}", parent=parent,
                name=names[i], size=len(rows), feature_means=self._means(rows),
                catalogue_means=self.catalogue, years=spans[i],
                central_rows=rows[np.argsort(-closeness, kind="stable")[:_CENTRAL]].tolist(),
                top_artists=artists[i],
                neighbours=np.argsort(-similarity[i], kind="stable")[:min(_NEIGHBOURS, k - 1)]
                .tolist(),
                profile=profiles[i], words=words[i] + labels[i] + eras[i]))
        return out

    def _means(self, rows: np.ndarray) -> dict[str, float]:
        out = {}
        for name, values in self.columns.items():
            known = values[rows][~np.isnan(values[rows])]
            if len(known):
                out[name] = float(known.mean())
        return out


def _years(years: np.ndarray) -> tuple[int, int, int]:
    """10th percentile, median and 90th percentile of the known years; zeros if none."""
    known = years[~np.isnan(years)]
    if not len(known):
        return (0, 0, 0)
    p10, p50, p90 = np.percentile(known, [10, 50, 90])
    return (round(p10), round(p50), round(p90))


class _PrimaryArtists:
    """Each song's primary (first-listed) artist as an integer code, for counting per family."""

    def __init__(self, table: pa.Table):
        artists = table.column("artists").combine_chunks()
        parents = pc.list_parent_indices(artists).to_numpy()
        first = np.r_[True, parents[1:] != parents[:-1]] if len(parents) else np.zeros(0, bool)
        primary = pc.fill_null(pc.list_flatten(artists).filter(pa.array(first)), "")
        # Counting integer codes in numpy is several times faster than grouping strings.
        encoded = pc.dictionary_encode(primary)
        known = pc.not_equal(primary, "").to_numpy(zero_copy_only=False)
        self.code = np.full(table.num_rows, -1, dtype=np.int64)
        self.code[parents[first][known]] = encoded.indices.to_numpy()[known]
        self.names = encoded.dictionary

    def top(self, groups: list[np.ndarray]) -> list[list[tuple[str, int]]]:
        """Each group's most frequent primary artists with their song counts; ties go to the
        artist who appears first in the catalogue."""
        out = []
        for rows in groups:
            codes = self.code[rows]
            found, counts = np.unique(codes[codes >= 0], return_counts=True)
            best = np.lexsort((found, -counts))[:_ARTISTS]
            names = self.names.take(pa.array(found[best])).to_pylist()
            out.append([(name, int(c)) for name, c in zip(names, counts[best], strict=True)])
        return out
