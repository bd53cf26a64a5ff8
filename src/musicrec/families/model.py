"""The saved families of a library: both levels, their files, and finding one by id or name."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicrec.errors import LibraryError, NotFoundError
from musicrec.families.cluster import nearest, to_space
from musicrec.families.layout import MAP_PCA
from musicrec.index import check_queries

FORMAT = "musicrec-families"
FORMAT_VERSION = 2  # 2: two levels, words with evidence, the clustered space's weights
METHOD = "two-level spherical-kmeans"
_ARRAYS = ("labels", "sublabels", "centroids", "subcentroids", "weights", "map_xy",
           "sample_rows")
_MMAPPED = ("labels", "sublabels", "map_xy")  # one value per song: memory-mapped on load


@dataclass
class Family:
    """One sound family or sub-family: its name, size, character and best examples.

    Attributes:
        id: its number in its level, 0 for the largest family; sub-families are numbered
            across all families, grouped by family.
        key: what people type: "3" for family 3, "3.2" for its third sub-family.
        parent: the family a sub-family belongs to; None for a family.
        name: unique across both levels, e.g. "Loud energetic · edm · 2010s".
        size: how many songs belong to it.
        feature_means: raw (unscaled) means of the audio features, year, popularity and share
            of explicit songs; features nobody in it has are left out.
        catalogue_means: the same for the whole catalogue.
        years: 10th percentile, median and 90th percentile of known release years, or zeros.
        central_rows: up to 10 catalogue rows nearest the centroid, nearest first.
        top_artists: up to 10 (primary artist, song count) pairs, most songs first.
        neighbours: up to 5 ids of the same level, most similar centroid first.
        profile: per trait feature, its median and rank (mean catalogue percentile).
        words: the name's words with their evidence (see `musicrec.families.naming`).
        children: a family's sub-family ids; empty for a sub-family.
    """

    id: int
    key: str
    parent: int | None
    name: str
    size: int
    feature_means: dict[str, float]
    catalogue_means: dict[str, float]
    years: tuple[int, int, int]
    central_rows: list[int]
    top_artists: list[tuple[str, int]]
    neighbours: list[int]
    profile: dict[str, dict[str, float]] = field(default_factory=dict)
    words: list[dict[str, Any]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """As stored and as `musicrec families --json` prints it (without catalogue means)."""
        out = asdict(self)
        del out["catalogue_means"]  # identical for every family: stored once
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any], catalogue_means: dict[str, float]) -> Family:
        return cls(**{**record, "catalogue_means": catalogue_means,
                      "years": tuple(record["years"]),
                      "top_artists": [tuple(a) for a in record["top_artists"]]})


@dataclass
class Families:
    """All families and sub-families of a library, largest first.

    Attributes:
        labels: int16 (n,): every song's family.
        sublabels: int16 (n,): every song's sub-family.
        centroids: float32 (k, d), unit rows, in the clustered space.
        subcentroids: float32 (s, d), unit rows, in the clustered space.
        weights: float32 (d,): multipliers taking a song vector into the clustered space.
        families: the k families, ordered by id.
        subfamilies: the s sub-families, ordered by id.
        map_xy: float32 (n, 2): every song's position on the 2-D map.
        sample_rows: int64, ascending: up to 300 rows per family to draw on a map.
        method: the clustering method.
    """

    labels: np.ndarray
    sublabels: np.ndarray
    centroids: np.ndarray
    subcentroids: np.ndarray
    weights: np.ndarray
    families: list[Family]
    subfamilies: list[Family]
    map_xy: np.ndarray
    sample_rows: np.ndarray
    method: str = METHOD
    map_method: str = MAP_PCA

    def save(self, folder: Path) -> None:
        """Write families.json and one .npy file per array into `folder` (created if needed)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "map_method": self.map_method,
            "rows": len(self.labels),
            "dims": int(self.centroids.shape[1]),
            "catalogue_means": self.families[0].catalogue_means,
            "families": [f.record() for f in self.families],
            "subfamilies": [f.record() for f in self.subfamilies],
        }
        (folder / "families.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False),
                                              encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, songs: int) -> Families:
        """Open the families of a library of `songs` songs (saved by `save`); per-song arrays
        are memory-mapped, read-only.

        Raises:
            LibraryError: the folder lacks the files, holds something else, or an old format.
        """
        meta = _read_meta(folder)
        try:
            # Plain ndarray views: indexing a np.memmap wraps each result in a new memmap.
            arrays = {name: np.load(folder / f"{name}.npy",
                                    mmap_mode="r" if name in _MMAPPED else None
                                    ).view(np.ndarray)
                      for name in _ARRAYS}
            levels = {level: [Family.from_record(r, meta["catalogue_means"])
                              for r in meta[level]] for level in ("families", "subfamilies")}
            rows, dims = meta["rows"], meta["dims"]
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise LibraryError(f"sound families in {folder} are incomplete or damaged: {exc}; "
                               "rebuild the library") from exc
        if rows != songs:
            raise LibraryError(f"sound families in {folder} cover {rows} songs, the library has "
                               f"{songs}; rebuild the library")
        expected = {"labels": (rows,), "sublabels": (rows,), "map_xy": (rows, 2),
                    "centroids": (len(levels["families"]), dims),
                    "subcentroids": (len(levels["subfamilies"]), dims), "weights": (dims,)}
        for name, shape in expected.items():
            if arrays[name].shape != shape:
                raise LibraryError(f"{folder / name}.npy has shape {arrays[name].shape}, "
                                   f"families.json expects {shape}; rebuild the library")
        return cls(**levels, method=meta["method"],
                   map_method=str(meta.get("map_method", MAP_PCA)), **arrays)

    def by_name_or_id(self, key: str | int) -> Family:
        """The family or sub-family with this key ("3", "3.2", or an int) or name (any case).

        Raises:
            NotFoundError: nothing has this key or name.
        """
        text = str(key).strip()
        for family in (*self.families, *self.subfamilies):
            if family.key == text or family.name.casefold() == text.casefold():
                return family
        examples = ", ".join(repr(f.name) for f in self.families[:2])
        raise NotFoundError(f"no sound family {key!r}: give a family id from 0 to "
                            f"{len(self.families) - 1}, a sub-family such as '0.0', or a name "
                            f"such as {examples}")

    def related(self, family: Family) -> tuple[list[Family], list[Family]]:
        """A family's (or sub-family's) nearest of the same level and its sub-families."""
        level = self.families if family.parent is None else self.subfamilies
        return [level[i] for i in family.neighbours], [self.subfamilies[i]
                                                       for i in family.children]

    def assign(self, vectors: np.ndarray) -> np.ndarray:
        """The family of each song vector: its sub-family's (see `assign_sub`).

        Args:
            vectors: shape (m, d) or (d,), unit length, same d as the library's vectors.

        Returns:
            int16, shape (m,).

        Raises:
            InvalidQueryError: wrong dimensions or non-finite values.
        """
        parents = np.array([f.parent for f in self.subfamilies], dtype=np.int16)
        return parents[self.assign_sub(vectors)]

    def assign_sub(self, vectors: np.ndarray) -> np.ndarray:
        """The sub-family of each song vector, like `assign`: the nearest sub-family centroid
        by cosine in the clustered space; int16 (m,)."""
        return nearest(self._space(vectors), self.subcentroids)

    def _space(self, vectors: np.ndarray) -> np.ndarray:
        return to_space(check_queries(vectors, self.centroids.shape[1]), self.weights)


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "families.json"
    if not path.is_file():
        raise LibraryError(f"no sound families in {folder} (families.json is missing); "
                           "rebuild the library")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LibraryError(f"{path} is not readable ({str(exc).splitlines()[0][:120]}); "
                           "rebuild the library") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise LibraryError(f"{path} is not a musicrec families file; rebuild the library")
    if meta.get("format_version") != FORMAT_VERSION:
        raise LibraryError(f"{path} has families format version "
                           f"{meta.get('format_version')}, this musicrec reads version "
                           f"{FORMAT_VERSION}; rebuild the library")
    return meta
