"""Sound families: clusters of similar-sounding songs, named automatically, with a 2-D map.

Songs are clustered by spherical k-means (faiss, k-means++ seeding, trained on a sample), which
suits unit vectors compared by cosine and makes a family exactly the songs nearest its centroid.
Measured by `benchmarks/families_quality.py` on the real 30k songs, 24 families, 3 seeds, against
playlist genre / subgenre: NMI 0.152 / 0.171, purity 0.45 / 0.19, level with MiniBatchKMeans and
Ward, far above random groups (0.001 / 0.003) and k-means on raw features (0.025 / 0.043). A
full-covariance Gaussian mixture scored a little higher on these vectors (0.163 / 0.185) but lower
on plain standardised features, and took 13 s or more for 28k songs; HDBSCAN called most songs
noise and found 2-4 groups. On 1.2M x 16 (2 cores) the whole build takes about 1 s and 180 MB
above the input; MiniBatchKMeans alone takes 12 s.

A family is named after the raw audio features that set it apart from the whole catalogue
(z-scores of its mean against the catalogue's mean and spread) plus the decade of its median
release year, e.g. "Quiet acoustic instrumental · 1950s".

The map is a PCA projection fitted on a sample of songs (`layout="pca"`, the default), or a
neighbour-preserving layout (`layout="tsne"`): t-SNE (openTSNE, FFT gradients) fitted on up to
5,000 songs, every other song placed at the similarity-weighted mean of its 5 nearest fitted
songs. On the real 30k songs, silhouette of the family labels in 2-D is 0.124 for t-SNE against
0.019 for PCA (full 16-d vectors: 0.146), and trustworthiness at 10 neighbours 0.984 against
0.880 (3,000 songs scored; `benchmarks/flows_quality.py --part map`). Fitting on 10k or 20k songs
kept the families apart no better (0.109, 0.111) and took 2x and 3x as long. t-SNE is not yet
the default: on the shared machine (load average 7 to 14 on 2 cores) the 30k map took 92 s, the
whole map of 1.2M synthetic songs 196 s, and placing 200k songs 13 s with 2 faiss threads but
6 s with one; even at a quarter of that on an idle machine it would not fit the 90 s build
beside the 35-60 s it already takes. Fewer fitted songs and a cheaper placement come first.
UMAP (umap-learn) was slower still there: its first run compiles with numba (47 s to import,
163 s for 20k songs on one thread).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.cluster import kmeans_plusplus
from sklearn.decomposition import PCA

from musicrec import schema
from musicrec.errors import LibraryError, MusicrecError, NotFoundError
from musicrec.index import check_queries

FORMAT = "musicrec-families"
FORMAT_VERSION = 1
METHOD = "spherical-kmeans"

# Feature -> (word when a family is above the catalogue, word when below), in the order that
# breaks ties between equally distinctive features.
TRAITS: dict[str, tuple[str, str]] = {
    f.name: f.traits for f in schema.TRAITS}  # type: ignore[misc]
# Features averaged per family; year and popularity describe a family but are not its sound.
MEAN_COLUMNS = (*TRAITS, *(f.name for f in schema.FEATURES if f.profile and not f.traits))
_NAME_TRAITS = 3  # at most this many traits in a name, unless needed to tell families apart
_DISTINCT = 0.5  # a trait enters a name only if the family mean is this many stds off
_PLAIN = "Middle-of-the-road"  # the name of a family with no distinctive trait
_TRAIN_PER_FAMILY = 1000  # k-means trains on a sample of this many songs per family
_MAP_FIT_ROWS = 50_000
# The t-SNE map: songs fitted, fewest songs for it, neighbours placing every other song, and
# how sharply the nearest of them wins (cosine units).
_TSNE_ROWS = 5_000
_TSNE_MIN = 500
_PLACE_NEIGHBOURS = 5
_PLACE_SHARPNESS = 0.02
MAP_TSNE = "tsne-openTSNE-5k-landmarks"
MAP_PCA = "pca"
_MAP_PER_FAMILY = 300
_CENTRAL = 10
_ARTISTS = 10
_NEIGHBOURS = 5
_ARRAYS = ("labels", "centroids", "map_xy", "sample_rows")
_MMAPPED = ("labels", "map_xy")  # one value per song: memory-mapped on load


@dataclass
class Family:
    """One sound family: its name, size, character and best examples.

    Attributes:
        id: the family's number, 0 for the largest.
        name: unique within the library, e.g. "Quiet acoustic instrumental · 1950s".
        size: how many songs belong to it.
        feature_means: raw (unscaled) means of the family's audio features, year, popularity
            and share of explicit songs; features nobody in the family has are left out.
        catalogue_means: the same for the whole catalogue.
        years: 10th percentile, median and 90th percentile of known release years, or zeros.
        central_rows: up to 10 catalogue rows nearest the centroid, nearest first.
        top_artists: up to 10 (primary artist, song count) pairs, most songs first.
        neighbours: up to 5 other family ids, most similar centroid first.
    """

    id: int
    name: str
    size: int
    feature_means: dict[str, float]
    catalogue_means: dict[str, float]
    years: tuple[int, int, int]
    central_rows: list[int]
    top_artists: list[tuple[str, int]]
    neighbours: list[int]


@dataclass
class Families:
    """All families of a library; family `i` is `families[i]`, largest first.

    Attributes:
        labels: int16, shape (n,): the family id of every song.
        centroids: float32, shape (k, d), unit length.
        families: the k families, ordered by id.
        map_xy: float32, shape (n, 2): every song's position on the 2-D map.
        sample_rows: int64, ascending: up to 300 rows per family to draw on a map.
        method: the clustering method.
    """

    labels: np.ndarray
    centroids: np.ndarray
    families: list[Family]
    map_xy: np.ndarray
    sample_rows: np.ndarray
    method: str
    map_method: str = MAP_PCA

    def save(self, folder: Path) -> None:
        """Write families.json and one .npy file per array into `folder` (created if needed)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        records = [asdict(f) for f in self.families]
        for record in records:
            del record["catalogue_means"]  # identical for every family: stored once
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "map_method": self.map_method,
            "rows": len(self.labels),
            "dims": int(self.centroids.shape[1]),
            "catalogue_means": self.families[0].catalogue_means,
            "families": records,
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
        try:
            # Plain ndarray views: indexing a np.memmap wraps each result in a new memmap.
            arrays = {name: np.load(folder / f"{name}.npy",
                                    mmap_mode="r" if name in _MMAPPED else None
                                    ).view(np.ndarray)
                      for name in _ARRAYS}
            families = [Family(**{**r, "catalogue_means": meta["catalogue_means"],
                                  "years": tuple(r["years"]),
                                  "top_artists": [tuple(a) for a in r["top_artists"]]})
                        for r in meta["families"]]
            rows, dims = meta["rows"], meta["dims"]
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise LibraryError(f"sound families in {folder} are incomplete or damaged: {exc}; "
                               "rebuild the library") from exc
        if rows != songs:
            raise LibraryError(f"sound families in {folder} cover {rows} songs, the library has "
                               f"{songs}; rebuild the library")
        expected = {"labels": (rows,), "centroids": (len(families), dims), "map_xy": (rows, 2)}
        for name, shape in expected.items():
            if arrays[name].shape != shape:
                raise LibraryError(f"{folder / name}.npy has shape {arrays[name].shape}, "
                                   f"families.json expects {shape}; rebuild the library")
        return cls(families=families, method=meta["method"],
                   map_method=str(meta.get("map_method", MAP_PCA)), **arrays)

    def by_name_or_id(self, key: str | int) -> Family:
        """The family with this id (an int or a string of digits) or name (any letter case).

        Raises:
            NotFoundError: no family has this id or name.
        """
        text = str(key).strip()
        # isdigit() alone admits "²", which int() refuses; int() also refuses 4,300+ digits.
        if text.isascii() and text.isdigit() and len(text) < 10 and int(text) < len(self.families):
            return self.families[int(text)]
        for family in self.families:
            if family.name.casefold() == text.casefold():
                return family
        examples = ", ".join(repr(f.name) for f in self.families[:3])
        raise NotFoundError(f"no sound family {key!r}: give an id from 0 to "
                            f"{len(self.families) - 1} or a name such as {examples}")

    def assign(self, vectors: np.ndarray) -> np.ndarray:
        """The family of each vector: its nearest centroid by cosine.

        Args:
            vectors: shape (m, d) or (d,), unit length, same d as the centroids.

        Returns:
            int16, shape (m,).

        Raises:
            InvalidQueryError: wrong dimensions or non-finite values.
        """
        return _nearest(check_queries(vectors, self.centroids.shape[1]), self.centroids)


def default_family_count(n: int) -> int:
    """How many families to make from n songs: about 24 for 30k songs, 60 for 1.2M.

    Grows slowly with n, so families stay big enough to have a character, and never exceeds
    n / 50 songs (but is at least 2).
    """
    return max(2, min(round(1.8 * n**0.25), n // 50))


def build_families(vectors: np.ndarray, table: pa.Table, count: int | None = None,
                   seed: int = 0, layout: Literal["pca", "tsne"] = "pca") -> Families:
    """Cluster songs into named families and place them on a 2-D map.

    Args:
        vectors: float32, shape (n, d), unit rows; the songs' vectors.
        table: the catalogue, one row per song in the same order (see `musicrec.catalogue`).
        count: how many families; None picks `default_family_count(n)`.
        seed: seeds the clustering and the samples; equal inputs give equal families.
        layout: the 2-D map: "pca", or "tsne" (neighbour-preserving; needs openTSNE).

    Raises:
        MusicrecError: no songs, or a count outside 2..n (one song makes one family).
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    if table.num_rows != n:
        raise ValueError(f"table has {table.num_rows} rows, vectors have {n}")
    if n == 1 and count in (None, 1):
        # One song is one family; clustering and a 2-D map need at least two songs.
        centroids = _unit(x)
        labels = np.zeros(1, dtype=np.int16)
        return Families(labels=labels, centroids=centroids,
                        families=_describe(x, table, labels, centroids, [np.arange(1)]),
                        map_xy=np.zeros((1, 2), dtype=np.float32),
                        sample_rows=np.arange(1, dtype=np.int64), method=METHOD)
    if n < 2:
        raise MusicrecError(f"need at least 2 songs to find sound families, got {n}")
    k = default_family_count(n) if count is None else count
    if not 2 <= k <= n:
        raise MusicrecError(f"cannot make {k} sound families from {n} songs; "
                            f"choose between 2 and {n}")
    rng = np.random.default_rng(seed)
    # The map comes first because BLAS runs slowly for a moment after faiss, while faiss's idle
    # OpenMP threads still spin.
    map_xy, map_method = _map(x, rng, seed, layout)
    centroids = _cluster(x, k, rng, seed)
    # Number families largest first, dropping any that attracted no song; assigning again to
    # the final centroids keeps `labels` exactly what `assign` returns.
    sizes = np.bincount(_nearest(x, centroids), minlength=k)
    centroids = centroids[np.argsort(-sizes, kind="stable")[:np.count_nonzero(sizes)]]
    labels = _nearest(x, centroids)
    members = _members(labels, len(centroids))
    sample_rows = np.sort(np.concatenate(
        [rng.permutation(m)[:_MAP_PER_FAMILY] for m in members])).astype(np.int64)
    return Families(labels=labels, centroids=centroids,
                    families=_describe(x, table, labels, centroids, members),
                    map_xy=map_xy, sample_rows=sample_rows, method=METHOD,
                    map_method=map_method)


def _cluster(x: np.ndarray, k: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    """Spherical k-means centroids, float32 (k, d), trained on a sample of the rows."""
    train = x[np.sort(rng.choice(len(x), min(len(x), k * _TRAIN_PER_FAMILY), replace=False))]
    # k-means++ seeding: faiss's random seeding alone can merge two well-separated clusters.
    start, _ = kmeans_plusplus(train, k, random_state=seed)
    kmeans = faiss.Kmeans(x.shape[1], k, niter=25, seed=seed, spherical=True,
                          max_points_per_centroid=_TRAIN_PER_FAMILY)
    kmeans.train(train, init_centroids=_unit(start))
    return _unit(kmeans.centroids)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(norms > 0, norms, 1), dtype=np.float32)


def _nearest(x: np.ndarray, centroids: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Index of the most similar centroid per row, int16; in chunks to bound memory."""
    out = np.empty(len(x), dtype=np.int16)
    for start in range(0, len(x), chunk):
        out[start:start + chunk] = np.argmax(x[start:start + chunk] @ centroids.T, axis=1)
    return out


def _members(labels: np.ndarray, k: int) -> list[np.ndarray]:
    """Rows of each family, ascending."""
    order = np.argsort(labels, kind="stable")
    return np.split(order, np.cumsum(np.bincount(labels, minlength=k))[:-1])


def _map(x: np.ndarray, rng: np.random.Generator, seed: int = 0,
         layout: str = "pca") -> tuple[np.ndarray, str]:
    """2-D map coordinates, float32 (n, 2), and the layout's name: PCA, or t-SNE on a sample
    with the other songs placed by their nearest sampled songs (PCA under 500 songs)."""
    if layout != "tsne" or len(x) < _TSNE_MIN:
        fit_rows = np.sort(rng.choice(len(x), min(len(x), _MAP_FIT_ROWS), replace=False))
        pca = PCA(n_components=2, svd_solver="covariance_eigh").fit(x[fit_rows])
        return pca.transform(x).astype(np.float32), MAP_PCA
    fit_rows = np.sort(rng.choice(len(x), min(len(x), _TSNE_ROWS), replace=False))
    return place_by_neighbours(x, x[fit_rows], tsne_layout(x[fit_rows], seed)), MAP_TSNE


def tsne_layout(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE coordinates float32 (m, 2) of m unit vectors: PCA start, perplexity 30, 250
    early-exaggeration steps then 250 plain ones (openTSNE's FFT gradients, 2 threads)."""
    try:
        from openTSNE import TSNEEmbedding, affinity, initialization
    except ImportError as exc:
        raise MusicrecError("the t-SNE map needs openTSNE: pip install 'openTSNE>=1.0.4'") \
            from exc
    aff = affinity.PerplexityBasedNN(x, perplexity=min(30.0, (len(x) - 1) / 3), n_jobs=2,
                                     random_state=seed, method="annoy")
    emb = TSNEEmbedding(initialization.pca(x, random_state=seed), aff, n_jobs=2,
                        random_state=seed)
    emb = emb.optimize(n_iter=250, exaggeration=12).optimize(n_iter=250)
    return np.asarray(emb, dtype=np.float32)


def place_by_neighbours(x: np.ndarray, fitted: np.ndarray, xy: np.ndarray,
                        chunk: int = 65_536) -> np.ndarray:
    """Positions float32 (n, 2) for every row of x: the mean position of its nearest fitted
    vectors, weighted by exp(similarity / 0.02) relative to the nearest, so a song sits by its
    closest fitted song unless several are about as close."""
    index = faiss.IndexFlatIP(fitted.shape[1])
    index.add(np.ascontiguousarray(fitted, dtype=np.float32))
    k = min(_PLACE_NEIGHBOURS, len(fitted))
    out = np.empty((len(x), 2), dtype=np.float32)
    for start in range(0, len(x), chunk):
        sims, ids = index.search(np.ascontiguousarray(x[start:start + chunk],
                                                      dtype=np.float32), k)
        weights = np.exp((sims - sims[:, :1]) / _PLACE_SHARPNESS)
        out[start:start + chunk] = (xy[ids] * weights[..., None]).sum(axis=1) / \
            weights.sum(axis=1, keepdims=True)
    return out


def _describe(x: np.ndarray, table: pa.Table, labels: np.ndarray, centroids: np.ndarray,
              members: list[np.ndarray]) -> list[Family]:
    k = len(centroids)
    catalogue: dict[str, float] = {}
    means: list[dict[str, float]] = [{} for _ in range(k)]
    zscores: list[dict[str, float]] = [{} for _ in range(k)]
    for name in MEAN_COLUMNS:
        if name not in table.column_names:
            continue
        values = _floats(table, name)
        known = ~np.isnan(values)
        if not known.any():
            continue
        catalogue[name] = float(values[known].mean())
        std = float(values[known].std())
        sums = np.bincount(labels[known], weights=values[known], minlength=k)
        counts = np.bincount(labels[known], minlength=k)
        for i in np.flatnonzero(counts):
            means[i][name] = float(sums[i] / counts[i])
            if name in TRAITS and std > 0:
                zscores[i][name] = (means[i][name] - catalogue[name]) / std
    years = _floats(table, "year") if "year" in table.column_names else np.full(len(x), np.nan)
    spans = [_years(years[rows]) for rows in members]
    names = _names(zscores, [f"{s[1] // 10 * 10}s" if s[1] else "" for s in spans])
    artists = _top_artists(table, labels, k)
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -np.inf)
    families = []
    for i, rows in enumerate(members):
        closeness = x[rows] @ centroids[i]
        families.append(Family(
            id=i, name=names[i], size=len(rows), feature_means=means[i],
            catalogue_means=catalogue, years=spans[i],
            central_rows=rows[np.argsort(-closeness, kind="stable")[:_CENTRAL]].tolist(),
            top_artists=artists[i],
            neighbours=np.argsort(-similarity[i], kind="stable")[:min(_NEIGHBOURS, k - 1)]
            .tolist()))
    return families


def _floats(table: pa.Table, name: str) -> np.ndarray:
    """A column as float64, NaN where null (and where a year is 0, which means unknown)."""
    values = table.column(name).cast(pa.float64()).to_numpy()
    return np.where(values > 0, values, np.nan) if name == "year" else values


def _years(years: np.ndarray) -> tuple[int, int, int]:
    """10th percentile, median and 90th percentile of the known years; zeros if none."""
    known = years[~np.isnan(years)]
    if not len(known):
        return (0, 0, 0)
    p10, p50, p90 = np.percentile(known, [10, 50, 90])
    return (round(p10), round(p50), round(p90))


def _names(zscores: list[dict[str, float]], eras: list[str]) -> list[str]:
    """Unique names from the most distinctive traits of each family, plus its era.

    Families that would share a name take their next most distinctive trait, in turn, until
    the names differ or the traits run out; any still alike get roman numerals in id order.
    """
    order = {f: i for i, f in enumerate(TRAITS)}
    ranked = [sorted((f for f in z if z[f] != 0), key=lambda f, z=z: (-abs(z[f]), order[f]))
              for z in zscores]
    depth = [sum(abs(z[f]) >= _DISTINCT for f in r[:_NAME_TRAITS])
             for z, r in zip(zscores, ranked, strict=True)]

    def name(i: int) -> str:
        words = [TRAITS[f][zscores[i][f] < 0] for f in ranked[i][:depth[i]]]
        text = " ".join(words).capitalize() if words else _PLAIN
        return f"{text} · {eras[i]}" if eras[i] else text

    while True:
        names = [name(i) for i in range(len(zscores))]
        clashing = [i for i, s in enumerate(names) if names.count(s) > 1]
        deeper = [i for i in clashing if depth[i] < len(ranked[i])]
        if not deeper:
            break
        for i in deeper:
            depth[i] += 1
    seen: dict[str, int] = {}
    for i in clashing:
        seen[names[i]] = seen.get(names[i], 0) + 1
        names[i] = f"{names[i]} {_roman(seen[names[i]])}"
    return names


def _roman(number: int) -> str:
    out = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                           (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                           (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        out += letters * count
    return out


def _top_artists(table: pa.Table, labels: np.ndarray, k: int) -> list[list[tuple[str, int]]]:
    """Each family's most frequent primary (first-listed) artists with their song counts.

    Ties go to the artist who appears first in the catalogue.
    """
    artists = table.column("artists").combine_chunks()
    parents = pc.list_parent_indices(artists).to_numpy()
    first = np.r_[True, parents[1:] != parents[:-1]] if len(parents) else np.zeros(0, bool)
    primary = pc.fill_null(pc.list_flatten(artists).filter(pa.array(first)), "")
    # Counting integer codes in numpy is several times faster than grouping strings in arrow.
    encoded = pc.dictionary_encode(primary)
    known = pc.not_equal(primary, "").to_numpy(zero_copy_only=False)
    width = len(encoded.dictionary)
    keys, counts = np.unique(labels[parents[first][known]].astype(np.int64) * width
                             + encoded.indices.to_numpy()[known], return_counts=True)
    family, code = np.divmod(keys, width)
    order = np.lexsort((code, -counts, family))
    family, code, counts = family[order], code[order], counts[order]
    top = np.flatnonzero(np.arange(len(family)) - np.searchsorted(family, family) < _ARTISTS)
    names = encoded.dictionary.take(pa.array(code[top])).to_pylist()
    out: list[list[tuple[str, int]]] = [[] for _ in range(k)]
    for i, name in zip(top, names, strict=True):
        out[family[i]].append((name, int(counts[i])))
    return out
