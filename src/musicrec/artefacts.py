"""The files of a library folder: their names in one table, one loader, a typed manifest.

Every artefact is opened through `Artefacts`, which turns a missing, truncated or garbled file
into a `LibraryError` naming the file and saying to rebuild, never a traceback from numpy,
Arrow or json.

**Checksums.** The build records the size and SHA-256 of every file in the manifest (`files`).
At open every recorded file's size is compared, and the files up to `OPEN_CHECK_BYTES` (all
JSON, the small arrays; everything in a library of a few thousand songs) are hashed;
`musicrec info --verify` hashes them all. What is and is not protected:

- A damaged or truncated file at open: one line naming it, when its size differs or it is
  small enough to hash. A bit flip in a big file (at 1.2M songs: the catalogue, vectors,
  graph, partition, id lookups) passes the open and is found by `musicrec info --verify`.
  The word indexes are hashed whole, whatever their size, when first loaded (a server loads
  them before it serves; `musicrec.library.Library.text`): a flip there crashed the
  interpreter.
- A file truncated in place *after* open, while mapped: reading a page past its new end is a
  SIGBUS, which no process survives (a handler cannot resume the read). `LiveLibrary` notices
  the changed size within 0.5 s in the API (`musicrec.api.deps.RECHECK_S`) and answers 503
  from then on; a request that touches the missing pages first kills its worker, which
  `musicrec serve` replaces when it runs several (`musicrec.api.server.Prefork`), and the
  replacement answers 503. With `--workers 1` there is no supervisor: the server ends (with
  a Python stack on stderr) and must be restarted by whatever runs it, whereupon the size
  check refuses the library in one line. Builds never do this: they rename a new folder into
  place (`musicrec.folders`), so open files keep their old contents.
- Libraries built before checksums (no `files` in the manifest) open as before: their files
  are checked only by their own headers and the cross-checks of row counts.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from musicrec.errors import LibraryError
from musicrec.folders import recover

# 2: track and artist id lookups are sorted 64-bit hashes; version keys see through version
#    suffixes; the manifest counts unknown cells and carries the build's warnings; vectors
#    carry the artist context (and a playlist part when built with playlists).
FORMAT_VERSION = 2

# Every file of a library, by role. Arrays are memory-mapped; the text indexes and the
# families keep their own file lists (musicrec.search, musicrec.families).
FILES = {
    "manifest": "manifest.json",
    "catalogue": "catalogue.arrow",
    "vectors": "vectors.npy",
    "features": "features.json",
    "artists": "artists.arrow",
    "track_keys": "track_keys.npy",
    "track_order": "track_order.npy",
    "artist_keys": "artist_keys.npy",
    "artist_order": "artist_order.npy",
    "artist_rows": "artist_rows.npy",
    "artist_offsets": "artist_offsets.npy",
    "primary_artist": "primary_artist.npy",
    "version_key": "version_key.npy",
    "text": "text",
    "artist_text": "artist_text",
    "families": "families",
    "rejected": "rejected.csv",
    "learned": "learn.json",
    "hub_penalty": "hub_penalty.npy",
}
# Arrays with one entry per song, cross-checked against the catalogue's row count at open.
PER_SONG = ("vectors", "track_order", "primary_artist", "version_key")
# The same, present only in some libraries (the manifest's `learn` entry names them).
OPTIONAL_PER_SONG = ("hub_penalty",)
# Files up to this size are hashed at every open: at 1.2M songs 19 of the 31 files, 9 MB, in
# 7 ms of an open of 44 ms; the other 12 hold 966 MB (0.6 s: `musicrec info --verify`).
OPEN_CHECK_BYTES = 4 << 20


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceInfo(_Model):
    name: str
    path: str
    sha256: str
    bytes: int
    origin: str | None = None  # where `musicrec get` downloaded it from ("kaggle:owner/set/file")


class Counts(_Model):
    rows_read: int
    rows_kept: int
    rejected: int
    duplicates: int
    rejected_by_reason: dict[str, int]
    unknown_cells_by_reason: dict[str, int]


class FeatureInfo(_Model):
    dims: list[str]
    weights: dict[str, float]


class FamilyInfo(_Model):
    count: int
    method: str


class FileSum(_Model):
    """A file's size and SHA-256 as the build wrote it.

    SHA-256 over BLAKE2b: 1,570 against 880 MB/s here (a CPU with SHA extensions); hashing a
    1.2M-song library (975 MB) adds 0.6-0.8 s to its 60-150 s build.
    """

    bytes: int
    sha256: str


class PlaylistInfo(_Model):
    """What was learned from playlists: the `PlaylistConfig`, what was read, the space's files."""

    config: dict[str, Any]
    read: dict[str, int]
    dims: int
    map: str
    artist_playlist: str
    counts: str
    # What the words of the playlists' titles mean (`musicrec.prompts.vocabulary`): its file
    # and size; None for playlists without titles and for libraries built before prompts.
    vocabulary: dict[str, Any] | None = None
    # The titled playlists prompts are answered from (`musicrec.prompts.titles`): its file and
    # size; None as for the vocabulary.
    titles: dict[str, Any] | None = None

    @property
    def cold_queries(self) -> bool:
        return bool(self.config.get("cold_queries", True))

    @property
    def weight(self) -> float:
        return float(self.config["weight"])


class HubInfo(_Model):
    """The hub correction (`musicrec.hubs`): its file, weight and how it was measured."""

    file: str
    weight: float
    k: int
    neighbours: str


class LearnInfo(_Model):
    """The manifest's `learn` entry (also `learn.json`): how the song vectors were put together.

    A vector is [content part, playlist part, popularity column]: the content part (the first
    `content_dims` numbers: audio features, then the artist context made as `context` says) and,
    when the library learned from playlists, the playlist part and one popularity number.
    """

    format: int
    context: dict[str, Any]  # the `ContextConfig` the artist part was made with
    artist_space: Literal["learned", "features"] = "features"  # format 2 knew only features
    content_dims: int
    dims: list[str]
    artist_vectors: str
    artists: int
    playlists: PlaylistInfo | None = None
    hub_penalty: HubInfo | None = None

    def content(self, vectors: np.ndarray) -> np.ndarray:
        """The content part of (n, d) vectors: (n, content_dims)."""
        return vectors[:, :self.content_dims]

    @model_serializer(mode="wrap")
    def _no_hub_entry_without_hubs(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A library built without the hub correction has no `hub_penalty` entry, as before."""
        data = handler(self)
        if self.hub_penalty is None:
            data.pop("hub_penalty", None)
        return data


class Manifest(_Model):
    """manifest.json: what a library holds and how it was built."""

    format_version: int
    musicrec_version: str
    created: str
    source: SourceInfo
    counts: Counts
    columns: list[str]
    missing_optional: list[str]
    warnings: list[str]
    features: FeatureInfo
    learn: LearnInfo
    index: dict[str, Any]  # the index backend's own parameters, `kind` first
    families: FamilyInfo
    build_config: dict[str, Any]
    stage_seconds: dict[str, float]
    # Every file but the manifest, by its path inside the library (`file_sums`); None in a
    # library built before they were recorded.
    files: dict[str, FileSum] | None = None


class Artefacts:
    """Opens the files of one library folder, each failure a one-line `LibraryError`."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, role: str) -> Path:
        return self.folder / FILES[role]

    def damaged(self, role: str, why: object) -> LibraryError:
        return self.damaged_at(FILES[role], why)

    def damaged_at(self, name: str, why: object) -> LibraryError:
        """The error for the file at `name` inside the library."""
        return LibraryError(f"library file {self.folder / name} is missing or damaged ({why}); "
                            "rebuild the library with `musicrec build`")

    def check(self, sums: dict[str, FileSum] | None, hash_up_to: float,
              under: str | None = None) -> None:
        """Compare the recorded files (those in the folder `under`, else all) with their
        records: every size, and the checksum of those up to `hash_up_to` bytes. Nothing to
        compare in a library without records.

        Raises:
            LibraryError: the first file that differs.
        """
        for name, record in (sums or {}).items():
            if under is None or name.startswith(f"{under}/"):
                why = _difference(self.folder / name, record, hash_up_to)
                if why is not None:
                    raise self.damaged_at(name, why)

    def verify(self) -> tuple[list[LibraryError], int]:
        """Every recorded file hashed against its record: one error per damaged file, and how
        many files were checked.

        Raises:
            LibraryError: the manifest is unreadable or records no checksums.
        """
        sums = self.manifest().files
        if sums is None:
            raise LibraryError(f"library at {self.folder} was built before musicrec recorded "
                               "checksums: nothing to verify against; rebuild it with "
                               "`musicrec build`")
        errors = [self.damaged_at(name, why) for name, record in sums.items()
                  if (why := _difference(self.folder / name, record, float("inf")))]
        return errors, len(sums)

    def manifest(self) -> Manifest:
        """The manifest, checked for this musicrec's format version.

        Raises:
            LibraryError: no library here, an unreadable manifest, or another format version.
        """
        recover(self.folder)
        path = self.path("manifest")
        if not path.is_file():
            raise LibraryError(f"no library at {self.folder} (no {FILES['manifest']}): build "
                               "one with `musicrec build FILE.csv` or `musicrec demo`")
        data = self.json("manifest")
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            written_by = data.get("musicrec_version", "unknown") if isinstance(data, dict) \
                else "unknown"
            raise LibraryError(
                f"library at {self.folder} has format version {version} (written by musicrec "
                f"{written_by}); this musicrec reads format {FORMAT_VERSION}: rebuild it "
                "with `musicrec build`")
        try:
            return Manifest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise self.damaged("manifest", f"{where}: {first['msg']}") from exc

    def json(self, role: str) -> Any:
        try:
            return json.loads(self.path(role).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.damaged(role, _short(exc)) from exc

    def array(self, role: str) -> np.ndarray:
        """A .npy file, memory-mapped read-only, as a plain ndarray view: indexing a
        `np.memmap` wraps every result in a new memmap, which cost 3% of a server's time."""
        try:
            return np.load(self.path(role), mmap_mode="r", allow_pickle=False).view(np.ndarray)
        except (OSError, ValueError, EOFError) as exc:
            raise self.damaged(role, _short(exc)) from exc

    def table(self, role: str) -> pa.Table:
        """An Arrow IPC file, memory-mapped (zero-copy)."""
        try:
            return pa.ipc.open_file(pa.memory_map(str(self.path(role)), "r")).read_all()
        except (OSError, pa.ArrowException) as exc:
            raise self.damaged(role, _short(exc)) from exc


def file_sums(folder: Path, skip: str | None = None, within: str = "") -> dict[str, FileSum]:
    """Size and SHA-256 of every file under `folder` (or its sub-folder `within`) but the
    manifest and the sub-folder `skip` (Milvus Lite's database, which Milvus writes to while it
    runs), by path inside `folder`."""
    out = {}
    for path in sorted(p for p in (folder / within).rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name != FILES["manifest"] and not (skip and name.startswith(f"{skip}/")):
            out[name] = FileSum(bytes=path.stat().st_size, sha256=_sha256(path))
    return out


def _difference(path: Path, record: FileSum, hash_up_to: float) -> str | None:
    """How the file differs from its record, or None: its size, then (for a file up to
    `hash_up_to` bytes) its checksum."""
    try:
        size = path.stat().st_size
        if size != record.bytes:
            return f"{size:,} bytes, the manifest records {record.bytes:,}"
        if size <= hash_up_to and _sha256(path) != record.sha256:
            return "its SHA-256 differs from the one the build recorded"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]
