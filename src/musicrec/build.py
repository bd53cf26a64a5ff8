"""Build a library: one folder of self-describing artefacts from one catalogue.

A library is written to a temporary folder beside its destination and renamed into place only
when complete, so a build that fails or is interrupted leaves the previous library intact.
The files are listed in `musicrec.artefacts.FILES`:

    manifest.json      format version, source checksum, counts, features, index parameters,
                       the size and SHA-256 of every other file (`musicrec.artefacts.FileSum`)
    catalogue.arrow    the catalogue table (Arrow IPC, memory-mapped: zero-copy to open)
    vectors.npy        float32 (n, d) unit vectors, memory-mapped
    features.json      the fitted feature pipeline
    index.faiss        the HNSW graph
    track_keys.npy     sorted track ids, and track_order.npy, for id -> row lookups
    artists.arrow      one row per artist: id, name, tracks; artist_rows.npy / artist_offsets.npy
    primary_artist.npy int32 (n,): artist row of each song's first artist
    version_key.npy    int64 (n,): (core title, first artist), to spot other versions
    hub_penalty.npy    float32 (n,): similarity the recommender subtracts from each song
                       (`musicrec.hubs`); not with a hub weight of 0 or Milvus
    text/, artist_text/  word indexes for search
    families/          sound families and the 2-D map
    rejected.csv       every source row not kept and every cell made unknown: row number,
                       column, reason, value and action (rejected / cell_unknown)
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from musicrec import __version__
from musicrec.artefacts import (
    FILES,
    FORMAT_VERSION,
    Artefacts,
    FamilyInfo,
    LearnInfo,
    Manifest,
    file_sums,
)
from musicrec.catalogue import Catalogue, one_chunk
from musicrec.errors import LibraryError
from musicrec.families import Families, build_families
from musicrec.features import FeatureConfig, FeaturePipeline
from musicrec.filters import FAMILY, scalar_columns
from musicrec.folders import build_lock, new_build_folder, publish, recover
from musicrec.hubs import DEFAULT_WEIGHT as DEFAULT_HUB_WEIGHT
from musicrec.hubs import graph_links, save_hub_penalty
from musicrec.index import HNSWIndex, Partition, load_index
from musicrec.index_milvus import MilvusIndex
from musicrec.learn import (
    ContextConfig,
    PlaylistConfig,
    Playlists,
    build_context,
    learned_vectors,
    read_playlists,
    save_learned,
)
from musicrec.library import key_hashes
from musicrec.prompts.titles import TitledPlaylists
from musicrec.prompts.vocabulary import learn_vocabulary
from musicrec.search import TextIndex
from musicrec.sources import SourceFile, describe, expand_sources, read_files
from musicrec.versions import version_keys


class BuildConfig(BaseModel):
    """Everything a build can be told; saved in the manifest."""

    model_config = ConfigDict(extra="forbid")

    features: FeatureConfig = FeatureConfig()
    context: ContextConfig = ContextConfig()
    playlist: PlaylistConfig = PlaylistConfig()
    # Playlist files or folders (MPD JSON, CSV) to learn from; none: content and context only.
    playlists: list[Path] = []
    hnsw_m: int = 16
    hnsw_ef_construction: int = 40
    # Large enough for a 1-seed recommendation's recall@10 above 0.98 against exact search at
    # 1.2M songs, hub correction on (docs/performance.md, "efSearch").
    hnsw_ef_search: int = 192
    family_count: int | None = None
    # "hnsw": a faiss graph in the library; "milvus": a Milvus collection (musicrec.index_milvus)
    # in a Milvus Lite folder inside the library, or on the server at `milvus_uri`.
    index: Literal["hnsw", "milvus"] = "hnsw"
    milvus_uri: str | None = None
    # The token stays in this file; the manifest records only the file's path.
    milvus_token_file: str | None = None
    # The sound map: "pca", or "tsne" (neighbour-preserving, needs openTSNE; see families.py).
    map_layout: Literal["pca", "tsne"] = "pca"
    # Where the source was downloaded from (`musicrec.get`), recorded in the manifest's source.
    origin: str | None = None
    # "local": this process; "ray": Ray Data batches (musicrec.engines.ray_build).
    engine: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    # Hub correction (musicrec.hubs): the recommender ranks candidates by similarity minus
    # this times the song's mean similarity to its 10 nearest songs of other artists. None:
    # `hubs.DEFAULT_WEIGHT` with the HNSW index (the penalty is read from its graph), off
    # with Milvus or playlists (docs/quality.md, "Why the defaults are what they are"). 0
    # turns it off.
    hub_weight: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _options_fit(self) -> BuildConfig:
        if self.index != "milvus" and (self.milvus_uri or self.milvus_token_file):
            raise ValueError("--milvus-uri and --milvus-token-file need --index milvus")
        if self.engine != "ray" and self.ray_address:
            raise ValueError("--ray-address needs --engine ray")
        if self.hub_weight and self.index != "hnsw":
            raise ValueError("the hub correction reads the HNSW graph: it needs --index hnsw")
        return self

    @property
    def hub(self) -> float:
        """The hub correction's weight this build uses (see `hub_weight`)."""
        if self.hub_weight is not None:
            return self.hub_weight
        return DEFAULT_HUB_WEIGHT if self.index == "hnsw" and not self.playlists else 0.0


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
    unknown_cells: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    learned: LearnInfo | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _learn_prompts(folder: Path, playlists: Playlists, vectors: np.ndarray,
                   table: pa.Table) -> dict[str, object]:
    """What prompts read (`musicrec.prompts`), written into the library: the words of the
    playlists' titles and the titled playlists (both None without titles)."""
    vocabulary = learn_vocabulary(playlists, vectors, table)
    titled = TitledPlaylists.learn(playlists)
    return {"vocabulary": vocabulary.save(folder) if vocabulary else None,
            "titles": titled.save(folder) if titled else None}


@contextmanager
def _stage(times: dict[str, float], progress: BuildProgress, name: str,
           total: int = 1) -> Iterator[None]:
    progress.start(name, total)
    t0 = time.perf_counter()
    yield
    times[name] = round(time.perf_counter() - t0, 2)


def build_library(source: str | Path | Sequence[str | Path], dest: str | Path,
                  config: BuildConfig | None = None,
                  progress: BuildProgress | None = None) -> BuildReport:
    """Read a catalogue and write a complete library at `dest`, replacing any library there.

    `source` is a CSV or Parquet file, a folder of them, or a list of these, read as one
    catalogue (`musicrec.sources`).

    The new library replaces the old one atomically (`musicrec.folders`); a build that fails
    or is killed leaves the old one in place.

    Raises:
        CatalogueError: the source cannot be read as a catalogue.
        LibraryError: `dest` is something else than a library, cannot be written, or is
            being built by another process.
    """
    config = config or BuildConfig()
    progress = progress or BuildProgress()
    _return_freed_memory()
    dest = Path(dest).expanduser()
    _check_destination(dest)
    sources = expand_sources([source] if isinstance(source, str | Path) else list(source))
    times: dict[str, float] = {}
    with _stage(times, progress, "read"):
        if config.engine == "ray":
            from musicrec.engines import ray_build

            catalogue = ray_build.read(sources, config.ray_address)
        else:
            catalogue = read_files(sources)
        progress.advance("read", 1)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(f"cannot create the folder for {dest}: "
                           f"{exc.strerror or exc}") from exc
    with build_lock(dest):
        recover(dest)
        tmp = new_build_folder(dest)
        try:
            manifest = _write_artefacts(catalogue, sources, tmp, config, progress, times)
            (tmp / FILES["manifest"]).write_text(manifest.model_dump_json(indent=2))
            publish(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return BuildReport(dest, catalogue.rows_read, catalogue.rows_kept,
                       dict(catalogue.rejected_by_reason()), catalogue.duplicates,
                       catalogue.missing_optional, dict(catalogue.unknown_cells_by_reason()),
                       catalogue.warnings, manifest.learn, times)


def _check_destination(dest: Path) -> None:
    """Refuse a destination that holds something else than a library, before any work."""
    if dest.is_symlink() or not dest.exists():
        return
    if not dest.is_dir():
        raise LibraryError(f"{dest} is a file, not a library folder; choose another --library")
    if not (dest / FILES["manifest"]).exists() and any(dest.iterdir()):
        raise LibraryError(f"{dest} exists and is not a musicrec library; not replacing it")
    if not os.access(dest.parent, os.W_OK):
        raise LibraryError(f"cannot write beside {dest}: permission denied")


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


def _write_artefacts(catalogue: Catalogue, sources: list[SourceFile], folder: Path,
                     config: BuildConfig,
                     progress: BuildProgress, times: dict[str, float]) -> Manifest:
    table = catalogue.table
    n = table.num_rows
    with _stage(times, progress, "features"):
        if config.engine == "ray":
            from musicrec.engines import ray_build

            pipeline, base = ray_build.features(table, config.features, config.ray_address)
        else:
            pipeline = FeaturePipeline.fit(table, config.features)
            base = pipeline.transform(table)
        context = build_context(table, base, config.context, pipeline.dims)
        del base
        pipeline.save(folder / FILES["features"])
        progress.advance("features", 1)
    vectors, dims = context.vectors, context.dims
    if config.playlists:
        with _stage(times, progress, "playlists"):
            playlists = read_playlists(config.playlists,
                                       table.column("id").to_numpy(zero_copy_only=False))
            vectors, space, mapping = learned_vectors(vectors, playlists, config.playlist)
            dims = dims + [f"playlist_{i}" for i in range(space.vectors.shape[1])]
            dims += ["playlist_popularity"] * (vectors.shape[1] - len(dims))
            learned = save_learned(folder, context, config.context, len(context.dims),
                                   playlists, space, mapping, config.playlist,
                                   _learn_prompts(folder, playlists, vectors, table))
            progress.advance("playlists", 1)
    else:
        learned = save_learned(folder, context, config.context, len(context.dims))
    np.save(folder / FILES["vectors"], vectors)
    # Families before the index: a Milvus collection stores each song's family to filter on.
    with _stage(times, progress, "families"):
        families = build_families(vectors, table, config.family_count,
                                  layout=config.map_layout, dims=dims)
        families.save(folder / FILES["families"])
        progress.advance("families", 1)
    with _stage(times, progress, "index"):
        index_params, links = _build_index(vectors, folder, config, table, families.labels)
        progress.advance("index", 1)
    if links is not None:
        with _stage(times, progress, "hubs"):
            learned = {**learned, "hub_penalty": save_hub_penalty(
                folder, vectors, context.groups.primary, links, config.hub)}
            del links
            progress.advance("hubs", 1)
    with _stage(times, progress, "lookups"):
        _write_lookups(table, folder)
        progress.advance("lookups", 1)
    with _stage(times, progress, "write"):
        with pa.OSFile(str(folder / FILES["catalogue"]), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            # One record batch: taking rows from a multi-chunk column copies the whole column.
            writer.write_table(table.combine_chunks())
        catalogue.rejections_frame(with_file=True).to_csv(folder / FILES["rejected"],
                                                        index=False)
        source_info = {**describe(sources), "origin": config.origin}
        progress.advance("write", 1)
    with _stage(times, progress, "checksums"):  # 1.2M songs, 975 MB: 0.6 s
        files = file_sums(folder, skip=index_params.get("lite"))
        progress.advance("checksums", 1)
    return Manifest.model_validate({
        "format_version": FORMAT_VERSION,
        "musicrec_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_info,
        "counts": {"rows_read": catalogue.rows_read, "rows_kept": n,
                   "rejected": sum(catalogue.rejected_by_reason().values()),
                   "duplicates": catalogue.duplicates,
                   "rejected_by_reason": dict(catalogue.rejected_by_reason()),
                   "unknown_cells_by_reason": dict(catalogue.unknown_cells_by_reason())},
        "warnings": catalogue.warnings,
        "columns": table.column_names,
        "missing_optional": catalogue.missing_optional,
        "features": {"dims": dims, "weights": {f.name: f.weight for f in pipeline.features}},
        "learn": learned,
        "index": index_params,
        "families": {"count": len(families.families), "method": families.method},
        "build_config": config.model_dump(),
        "stage_seconds": times,
        "files": files,
    })


def _build_index(vectors: np.ndarray, folder: Path, config: BuildConfig, table: pa.Table,
                 family_labels: np.ndarray) -> tuple[dict[str, Any], np.ndarray | None]:
    """Build the index the config asks for, save it into `folder`; its manifest entry, and
    with a hub weight the HNSW graph's links (`musicrec.hubs.graph_links`)."""
    if config.index == "milvus":
        index = MilvusIndex.build(
            vectors, scalars=scalar_columns(table, family_labels), folder=folder,
            uri=config.milvus_uri,
            token_file=(str(Path(config.milvus_token_file).expanduser().resolve())
                        if config.milvus_token_file else None),
            m=config.hnsw_m, ef_construction=config.hnsw_ef_construction,
            ef_search=config.hnsw_ef_search)
        params = index.save(folder)
        index.close()  # Milvus Lite's folder is renamed with the library: nothing may hold it
        return params, None
    # One add call: adding in chunks gave a worse graph (recall@10 0.978 against 0.992).
    graph = HNSWIndex.build(vectors, config.hnsw_m, config.hnsw_ef_construction,
                            config.hnsw_ef_search)
    links = graph_links(graph.index) if config.hub > 0 else None
    if Partition.useful(len(vectors)):  # for filters in the middle range (see Partition)
        graph.partition = Partition.build(vectors)
    return graph.save(folder), links  # the graph is dropped here; later stages need its memory


def _write_lookups(table: pa.Table, folder: Path) -> None:
    """Track id and artist lookups, and the keys used for diversity."""
    _save_sorted_keys(folder, "track", table.column("id").combine_chunks())

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
    np.save(folder / FILES["artist_rows"], parents[by_artist].astype(np.int32))
    np.save(folder / FILES["artist_offsets"], offsets)
    artists = pa.table({"id": pa.array(uniques, pa.string()),
                        "name": pa.array(flat_names[first_pos], pa.string()),
                        "tracks": pa.array(counts.astype(np.int32))})
    with pa.OSFile(str(folder / FILES["artists"]), "wb") as sink, \
            pa.ipc.new_file(sink, artists.schema) as writer:
        writer.write_table(artists)
    _save_sorted_keys(folder, "artist", uniques)

    first_of_row = np.searchsorted(parents, np.arange(table.num_rows))
    primary = codes[first_of_row].astype(np.int32)
    np.save(folder / FILES["primary_artist"], primary)
    np.save(folder / FILES["version_key"],
            version_keys(table.column("name"), primary, len(uniques)))

    docs = pc.binary_join_element_wise(table.column("name").combine_chunks(),
                                       pa.array(flat_names[first_of_row]), " ")
    for role, index_docs in (("text", docs), ("artist_text", artists.column("name"))):
        (folder / FILES[role]).mkdir()
        TextIndex.build(one_chunk(index_docs)).save(folder / FILES[role])


def _save_sorted_keys(folder: Path, name: str, keys: pa.Array | np.ndarray) -> None:
    """Sorted 64-bit hashes of the keys and their rows, for id -> row lookups by binary search.

    Hashes keep 16 bytes a song whatever the ids look like: fixed-width strings cost every row
    the longest id's width (one 100 kB id in 6,000 rows exhausted memory).
    """
    hashes = key_hashes(keys)
    order = np.argsort(hashes, kind="stable")
    np.save(folder / FILES[f"{name}_keys"], hashes[order])
    np.save(folder / FILES[f"{name}_order"], order.astype(np.int64))


def rebuild_families(path: str | Path, count: int | None = None) -> Families:
    """Re-cluster an existing library's songs into `count` families, in place.

    The new families are written beside the old ones and swapped in, and the manifest is
    rewritten through a temporary file, so an interruption leaves the old families usable.
    The library is read without its families, so families of an older format can be rebuilt.
    """
    root = Path(path).expanduser()
    files = Artefacts(root)
    manifest = files.manifest()
    vectors = files.array("vectors")
    families = build_families(np.asarray(vectors), files.table("catalogue"), count,
                              dims=manifest.features.dims)
    tmp = root / f".families.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        families.save(tmp)
        old = root / f".families.old-{os.getpid()}"
        (root / FILES["families"]).rename(old)
        tmp.rename(root / FILES["families"])
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index = load_index(root, vectors, manifest.index)
    if isinstance(index, MilvusIndex) and FAMILY in index.scalars:
        index.update_scalar(FAMILY, families.labels)  # what family filters read there
        index.close()
    manifest = manifest.model_copy(deep=True)
    manifest.families = FamilyInfo(count=len(families.families), method=families.method)
    manifest.build_config["family_count"] = count
    if manifest.files is not None:
        within = FILES["families"]
        manifest.files = {**{k: v for k, v in manifest.files.items()
                             if not k.startswith(f"{within}/")},
                          **file_sums(root, within=within)}
    tmp_manifest = root / (FILES["manifest"] + ".tmp")
    tmp_manifest.write_text(manifest.model_dump_json(indent=2))
    tmp_manifest.replace(root / FILES["manifest"])
    return families
