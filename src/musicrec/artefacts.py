"""The files of a library folder: their names in one table, one loader, a typed manifest.

Every artefact is opened through `Artefacts`, which turns a missing, truncated or garbled file
into a `LibraryError` naming the file and saying to rebuild, never a traceback from numpy,
Arrow or json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationError

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
    learn: dict[str, Any]  # what `musicrec.learn` added to the vectors (learn.json)
    index: dict[str, Any]  # the index backend's own parameters, `kind` first
    families: FamilyInfo
    build_config: dict[str, Any]
    stage_seconds: dict[str, float]


class Artefacts:
    """Opens the files of one library folder, each failure a one-line `LibraryError`."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, role: str) -> Path:
        return self.folder / FILES[role]

    def damaged(self, role: str, why: object) -> LibraryError:
        return LibraryError(f"library file {self.path(role)} is missing or damaged ({why}); "
                            "rebuild the library with `musicrec build`")

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


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]
