"""Build and open a library: one folder of self-describing artefacts from one catalogue.

A library is written to a temporary folder beside its destination and renamed into place only
when complete, so a build that fails or is interrupted leaves the previous library intact.
Opening a library memory-maps its big arrays and never reads the source CSV again.

Files:
    manifest.json      format version, source checksum, counts, features, index parameters
    catalogue.arrow    the catalogue table (Arrow IPC, memory-mapped: zero-copy to open)
    vectors.npy        float32 (n, d) unit vectors, memory-mapped
    features.json      the fitted feature pipeline
    index.faiss        the HNSW graph
    track_keys.npy     sorted track ids, and track_order.npy, for id -> row lookups
    artists.arrow      one row per artist: id, name, tracks; artist_rows.npy / artist_offsets.npy
    primary_artist.npy int32 (n,): artist row of each song's first artist
    version_key.npy    int64 (n,): hash of (title, first artist), to spot other versions
    text/, artist_text/  word indexes for search
    families/          sound families and the 2-D map
    rejected.csv       every source row not kept, with row number, column and reason
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from musicrec import __version__
from musicrec.catalog import Catalog, one_chunk, read_catalog
from musicrec.errors import LibraryError, NotFoundError
from musicrec.families import Families, build_families
from musicrec.features import FeatureConfig, FeaturePipeline
from musicrec.index import ExactIndex, HNSWIndex
from musicrec.recommend import Recommendations, Recommender
from musicrec.search import TextIndex

FORMAT_VERSION = 1


class BuildConfig(BaseModel):
    """Everything a build can be told; saved in the manifest."""

    model_config = ConfigDict(extra="forbid")

    features: FeatureConfig = FeatureConfig()
    hnsw_m: int = 16
    hnsw_ef_construction: int = 40
    # recall@10 0.992 against exact search on 1.2M synthetic songs (benchmarks/run.py).
    hnsw_ef_search: int = 64
    family_count: int | None = None


class BuildProgress:
    """Receives build progress; this base ignores it. The CLI draws Rich bars."""

    def start(self, stage: str, total: int) -> None:
        """A stage begins; `total` is its amount of work in its own units."""

    def advance(self, stage: str, amount: int) -> None:
        """`amount` more units of the stage are done."""


@dataclass
class BuildReport:
    path: Path
    rows_read: int
    rows_kept: int
    rejected: dict[str, int]
    duplicates: int
    missing_optional: list[str]
    stage_seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _stage(times: dict[str, float], progress: BuildProgress, name: str,
           total: int = 1) -> Iterator[None]:
    progress.start(name, total)
    t0 = time.perf_counter()
    yield
    times[name] = round(time.perf_counter() - t0, 2)


def build_library(source: str | Path, dest: str | Path, config: BuildConfig | None = None,
                  progress: BuildProgress | None = None) -> BuildReport:
    """Read a CSV and write a complete library at `dest`, replacing any library there."""
    config = config or BuildConfig()
    progress = progress or BuildProgress()
    _return_freed_memory()
    source, dest = Path(source), Path(dest)
    if dest.exists() and not (dest / "manifest.json").exists() and any(dest.iterdir()):
        raise LibraryError(f"{dest} exists and is not a musicrec library; not replacing it")
    times: dict[str, float] = {}
    with _stage(times, progress, "read"):
        catalog = read_catalog(source)
        progress.advance("read", 1)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        manifest = _write_artefacts(catalog, source, tmp, config, progress, times)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        _swap_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(dest, catalog.rows_read, catalog.rows_kept,
                       dict(catalog.rejected_by_reason()), catalog.duplicates,
                       catalog.missing_optional, times)


def _return_freed_memory() -> None:
    """Make Arrow hand freed memory back to the system at once.

    Ingest makes large short-lived string arrays. Arrow's default allocator keeps freed
    memory for reuse, which on 1.2M songs held the build at 1.5 GB resident after reading;
    jemalloc with no decay delay brought the read's peak to 1.2 GB and its aftermath to 0.6 GB.
    """
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # a pyarrow built without jemalloc: keep its default
        pass


def _write_artefacts(catalog: Catalog, source: Path, folder: Path, config: BuildConfig,
                     progress: BuildProgress, times: dict[str, float]) -> dict[str, Any]:
    table = catalog.table
    n = table.num_rows
    with _stage(times, progress, "features"):
        pipeline = FeaturePipeline.fit(table, config.features)
        vectors = pipeline.transform(table)
        np.save(folder / "vectors.npy", vectors)
        pipeline.save(folder / "features.json")
        progress.advance("features", 1)
    with _stage(times, progress, "index"):
        # One add call: adding in chunks gave a worse graph (recall@10 0.978 against 0.992).
        index = HNSWIndex.build(vectors, config.hnsw_m, config.hnsw_ef_construction,
                                config.hnsw_ef_search)
        progress.advance("index", 1)
        index_params = index.save(folder)
        del index  # the graph is on disk now; later stages need its memory more
    with _stage(times, progress, "lookups"):
        _write_lookups(table, folder)
        progress.advance("lookups", 1)
    with _stage(times, progress, "families"):
        families = build_families(vectors, table, config.family_count)
        (folder / "families").mkdir()
        families.save(folder / "families")
        progress.advance("families", 1)
    with _stage(times, progress, "write"):
        with pa.OSFile(str(folder / "catalogue.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            # One record batch: taking rows from a multi-chunk column copies the whole column.
            writer.write_table(table.combine_chunks())
        catalog.rejections_frame().to_csv(folder / "rejected.csv", index=False)
        checksum = _sha256(source)
        progress.advance("write", 1)
    return {
        "format_version": FORMAT_VERSION,
        "musicrec_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": {"name": source.name, "path": str(source.resolve()),
                   "sha256": checksum, "bytes": source.stat().st_size},
        "counts": {"rows_read": catalog.rows_read, "rows_kept": n,
                   "rejected": sum(catalog.rejected_by_reason().values()),
                   "duplicates": catalog.duplicates,
                   "rejected_by_reason": dict(catalog.rejected_by_reason())},
        "columns": table.column_names,
        "missing_optional": catalog.missing_optional,
        "features": {"dims": pipeline.dims, "weights": {f.name: f.weight
                                                        for f in pipeline.features}},
        "index": index_params,
        "families": {"count": len(families.families), "method": families.method},
        "build_config": config.model_dump(),
        "stage_seconds": times,
    }


def _write_lookups(table: pa.Table, folder: Path) -> None:
    """Track id and artist lookups, and the keys used for diversity."""
    _save_sorted_keys(folder, "track", table.column("id").to_numpy(zero_copy_only=False))

    artist_ids = table.column("artist_ids").combine_chunks()
    artist_names = table.column("artists").combine_chunks()
    flat_ids = pc.list_flatten(artist_ids).to_numpy(zero_copy_only=False)
    flat_names = pc.list_flatten(artist_names).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(artist_ids).to_numpy()
    codes, uniques = pd.factorize(flat_ids)
    first_pos = np.full(len(uniques), -1, dtype=np.int64)
    # np.minimum.at keeps the earliest mention of each artist, whose spelling we show.
    first_pos[:] = len(codes)
    np.minimum.at(first_pos, codes, np.arange(len(codes)))
    by_artist = np.lexsort((parents, codes))
    counts = np.bincount(codes, minlength=len(uniques))
    offsets = np.zeros(len(uniques) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    np.save(folder / "artist_rows.npy", parents[by_artist].astype(np.int32))
    np.save(folder / "artist_offsets.npy", offsets)
    artists = pa.table({"id": pa.array(uniques.astype(str)),
                        "name": pa.array(flat_names[first_pos].astype(str)),
                        "tracks": pa.array(counts.astype(np.int32))})
    with pa.OSFile(str(folder / "artists.arrow"), "wb") as sink, \
            pa.ipc.new_file(sink, artists.schema) as writer:
        writer.write_table(artists)
    _save_sorted_keys(folder, "artist", uniques)

    first_of_row = np.searchsorted(parents, np.arange(table.num_rows))
    primary = codes[first_of_row].astype(np.int32)
    np.save(folder / "primary_artist.npy", primary)
    titles = pc.utf8_trim_whitespace(pc.replace_substring_regex(
        pc.utf8_lower(table.column("name")), r"[^\p{L}\p{N}]+", " "))
    title_codes = pc.dictionary_encode(titles).combine_chunks().indices.to_numpy()
    np.save(folder / "version_key.npy", title_codes.astype(np.int64) * (len(uniques) + 1) + primary)

    docs = pc.binary_join_element_wise(table.column("name").combine_chunks(),
                                       pa.array(flat_names[first_of_row]), " ")
    for sub, index_docs in (("text", docs), ("artist_text", artists.column("name"))):
        (folder / sub).mkdir()
        TextIndex.build(one_chunk(index_docs)).save(folder / sub)


def _save_sorted_keys(folder: Path, name: str, keys: np.ndarray) -> None:
    """Sorted UTF-8 keys and their rows, for id -> row lookups by binary search."""
    encoded = np.char.encode(keys.astype(str), "utf-8")
    order = np.argsort(encoded, kind="stable")
    np.save(folder / f"{name}_keys.npy", encoded[order])
    np.save(folder / f"{name}_order.npy", order.astype(np.int64))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _swap_into_place(tmp: Path, dest: Path) -> None:
    """Replace dest by tmp with two renames; the old library is removed only afterwards."""
    old = dest.parent / f".{dest.name}.old-{os.getpid()}"
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def rebuild_families(path: str | Path, count: int | None = None) -> Families:
    """Re-cluster an existing library's songs into `count` families, in place.

    The new families are written beside the old ones and swapped in, and the manifest is
    rewritten through a temporary file, so an interruption leaves the old families usable.
    """
    lib = Library.open(path)
    families = build_families(np.asarray(lib.vectors), lib.table, count)
    tmp = lib.path / f".families.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        families.save(tmp)
        _swap_into_place(tmp, lib.path / "families")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest = dict(lib.manifest, families={"count": len(families.families),
                                            "method": families.method})
    manifest["build_config"]["family_count"] = count
    tmp_manifest = lib.path / "manifest.json.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2))
    tmp_manifest.replace(lib.path / "manifest.json")
    return families


def _read_arrow(path: Path) -> pa.Table:
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()


class Library:
    """An opened library: catalogue, vectors, index, lookups and families.

    Example:
        >>> lib = Library.open("~/music-lib")
        >>> lib.recommend(seed_tracks=["4uLU6hMCjMI75M1A2tKUQC"], limit=10, target={"energy": 0.8})
    """

    def __init__(self, path: Path, manifest: dict[str, Any]):
        self.path = path
        self.manifest = manifest
        self.table = _read_arrow(path / "catalogue.arrow")
        self.vectors: np.ndarray = np.load(path / "vectors.npy", mmap_mode="r")
        self.pipeline = FeaturePipeline.load(path / "features.json")
        self.index = HNSWIndex.load(path, self.vectors, manifest["index"])
        self.exact = ExactIndex(self.vectors)
        self.artists = _read_arrow(path / "artists.arrow")
        self._arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in (
            "track_keys", "track_order", "artist_keys", "artist_order", "artist_rows",
            "artist_offsets", "primary_artist", "version_key")}
        self.families = Families.load(path / "families")
        self._numeric: dict[str, np.ndarray] = {}

    @classmethod
    def open(cls, path: str | Path) -> Library:
        """Open a library folder, failing clearly if it is missing or from another version."""
        path = Path(path).expanduser()
        manifest_path = path / "manifest.json"
        if not manifest_path.is_file():
            raise LibraryError(
                f"no library at {path}: build one with `musicrec build FILE.csv` "
                "or `musicrec demo`")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise LibraryError(f"{manifest_path} is not valid JSON: {exc}") from exc
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise LibraryError(
                f"library at {path} has format version {version} (written by musicrec "
                f"{manifest.get('musicrec_version', 'unknown')}); this musicrec "
                f"{__version__} reads format {FORMAT_VERSION}: rebuild it with "
                "`musicrec build`")
        return cls(path, manifest)

    def __len__(self) -> int:
        return self.table.num_rows

    @cached_property
    def text(self) -> TextIndex:
        return TextIndex.load(self.path / "text")

    @cached_property
    def artist_text(self) -> TextIndex:
        return TextIndex.load(self.path / "artist_text")

    @property
    def primary_artist(self) -> np.ndarray:
        return self._arrays["primary_artist"]

    @property
    def version_key(self) -> np.ndarray:
        return self._arrays["version_key"]

    def has_column(self, name: str) -> bool:
        return name in self.table.column_names

    def numeric(self, name: str) -> np.ndarray:
        """A numeric column as float32 (n,), NaN where unknown; cached after first use.

        float32 is exact for every stored value (the catalogue keeps features as float32 and
        integers below 2**24) at half the memory of float64.
        """
        if name not in self._numeric:
            if not self.has_column(name):
                raise NotFoundError(f"this library has no {name!r} column")
            col = self.table.column(name)
            self._numeric[name] = np.asarray(col.to_pandas(), dtype=np.float32)
        return self._numeric[name]

    def row_of(self, track_id: str) -> int | None:
        """Row of a track id, or None."""
        return _lookup(self._arrays["track_keys"], self._arrays["track_order"], track_id)

    def artist_row_of(self, artist_id: str) -> int | None:
        return _lookup(self._arrays["artist_keys"], self._arrays["artist_order"], artist_id)

    def rows_of_artist(self, artist_row: int) -> np.ndarray:
        """Rows of every song the artist appears on."""
        off = self._arrays["artist_offsets"]
        return np.asarray(self._arrays["artist_rows"][off[artist_row]:off[artist_row + 1]])

    def label(self, row: int) -> str:
        """ "Title — Artist, Artist" for one song, without reading its other columns."""
        artists = self.table.column("artists")[row].as_py()
        return f"{self.table.column('name')[row].as_py()} — {', '.join(artists)}"

    def artist(self, artist_row: int) -> dict[str, Any]:
        return self.artists.slice(artist_row, 1).to_pylist()[0]

    def tracks(self, rows: np.ndarray | list[int]) -> list[dict[str, Any]]:
        """Catalogue records for rows, in the given order, with `row` and `family` added."""
        rows = np.asarray(rows, dtype=np.int64)
        records = self.table.take(pa.array(rows)).to_pylist()
        for row, rec in zip(rows, records, strict=True):
            rec["row"] = int(row)
            rec["family"] = int(self.families.labels[row])
            rec["family_name"] = self.families.families[rec["family"]].name
        return records

    def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Songs matching a title and/or artist query, best first, with a `match` score."""
        documents = _Documents(self)
        hits = self.text.search(query, limit, documents=documents)
        records = self.tracks([h.row for h in hits])
        for rec, hit in zip(records, hits, strict=True):
            rec["match"] = round(hit.score, 3)
        return records

    def search_artists(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        names = self.artists.column("name")
        hits = self.artist_text.search(query, limit, documents=_ColumnDocs(names))
        return [dict(self.artist(h.row), match=round(h.score, 3)) for h in hits]

    @cached_property
    def recommender(self) -> Recommender:
        return Recommender(self)

    def recommend(self, **kwargs: Any) -> Recommendations:
        """Recommend songs; parameters are those of `musicrec.recommend.RecommendRequest`."""
        return self.recommender.recommend(**kwargs)

    def info(self) -> dict[str, Any]:
        """The manifest plus size on disk."""
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return {**self.manifest, "path": str(self.path), "bytes_on_disk": size}


class _Documents:
    """Row -> "title artist" text, read from the table only for the rows asked."""

    def __init__(self, lib: Library):
        self.lib = lib

    def __getitem__(self, row: int) -> str:
        rec = self.lib.table.slice(row, 1).select(["name", "artists"]).to_pylist()[0]
        return f"{rec['name']} {' '.join(rec['artists'][:1])}"

    def __len__(self) -> int:
        return len(self.lib)


class _ColumnDocs:
    def __init__(self, column: pa.ChunkedArray):
        self.column = column

    def __getitem__(self, row: int) -> str:
        return str(self.column[row].as_py())

    def __len__(self) -> int:
        return len(self.column)


def _lookup(keys: np.ndarray, order: np.ndarray, key: str) -> int | None:
    k = key.encode()
    if len(k) > keys.dtype.itemsize:
        return None
    i = int(np.searchsorted(keys, k))
    if i < len(keys) and keys[i] == k:
        return int(order[i])
    return None
