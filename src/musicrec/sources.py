"""Several source files as one catalogue: CSV and Parquet files, and folders of either.

Each file is read and validated on its own (`read_catalogue`, `read_parquet`: the same rules for
both formats), then the files are joined in the order given (a folder's files in name order).
A song id already kept from an earlier file is merged like a duplicate within one file: the
first row wins, the later one is reported as `duplicate: same id as row R of FILE, merged` and
counted in `duplicates`. Every rejection names its file, so row numbers stay those of the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from musicrec.catalogue import Catalogue, Rejection, duplicates, read_catalogue, read_parquet
from musicrec.errors import CatalogueError

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class SourceFile:
    """One file to read: its path and the label its rejections carry (the path as given)."""

    path: Path
    label: str

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() in PARQUET_SUFFIXES


def expand_sources(paths: Sequence[str | Path]) -> list[SourceFile]:
    """The files the given paths stand for: files as they are, folders by their CSV and
    Parquet files (subfolders included, as partitioned Parquet datasets are laid out), in
    name order. A file named twice is read once.

    Raises:
        CatalogueError: a path that does not exist, a folder with no CSV or Parquet file, or no
            path at all.
    """
    if not paths:
        raise CatalogueError("no source given: name one or more CSV or Parquet files or folders")
    found: list[SourceFile] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower() in (*CSV_SUFFIXES, *PARQUET_SUFFIXES)
                           and not any(part.startswith((".", "_"))
                                       for part in p.relative_to(path).parts))
            if not files:
                raise CatalogueError(f"{given}: a folder with no .csv or .parquet file")
            members = [SourceFile(p, str(Path(given) / p.relative_to(path))) for p in files]
        elif path.is_file():
            members = [SourceFile(path, str(given))]
        else:
            raise CatalogueError(f"no such file or folder: {given}")
        for member in members:
            key = member.path.resolve()
            if key not in seen:
                seen.add(key)
                found.append(member)
    return found


def read_one(source: SourceFile) -> Catalogue:
    """One file, validated by the reader for its format (Parquet by suffix, else CSV)."""
    catalogue = read_parquet(source.path) if source.is_parquet else read_catalogue(source.path)
    catalogue.rejections = [replace(r, file=source.label) for r in catalogue.rejections]
    return catalogue


def read_sources(paths: Sequence[str | Path]) -> Catalogue:
    """Read, validate and join every file the paths stand for (see `expand_sources`).

    Counts add up over the files: `rows_kept + rows_rejected + duplicates == rows_read`.

    Raises:
        CatalogueError: a path is missing, or a file cannot be read as a catalogue (the message
            names the file).
    """
    return read_files(expand_sources(paths))


def read_files(sources: Sequence[SourceFile]) -> Catalogue:
    """Read, validate and join the given files, in order."""
    parts = [read_one(s) for s in sources]
    if len(parts) == 1:
        return parts[0]
    return merge(parts, [s.label for s in sources])


def describe(sources: Sequence[SourceFile]) -> dict[str, str | int]:
    """The manifest's `source` entry: name, path, sha256 and bytes of the source files.

    One file is described as before; several by their labels, their common folder and one
    checksum over all of them (`fingerprint`).
    """
    sha, size = fingerprint(sources)
    if len(sources) == 1:
        return {"name": sources[0].path.name, "path": str(sources[0].path.resolve()),
                "sha256": sha, "bytes": size}
    labels = ", ".join(s.label for s in sources)
    name = f"{len(sources)} files: {labels if len(labels) <= 300 else labels[:297] + '...'}"
    common = os.path.commonpath([str(s.path.resolve().parent) for s in sources])
    return {"name": name, "path": common, "sha256": sha, "bytes": size}


def merge(parts: list[Catalogue], labels: list[str]) -> Catalogue:
    """Join validated catalogues in order; ids seen in an earlier part are merged into it."""
    table = pa.concat_tables([p.table for p in parts], promote_options="permissive")
    rows = np.concatenate([_row_numbers(p) for p in parts])
    part_of = np.repeat(np.arange(len(parts)), [p.rows_kept for p in parts])
    ids = table.column("id")
    dup, first_of = duplicates(ids, np.ones(table.num_rows, dtype=bool))
    rejections = [r for p in parts for r in p.rejections]
    for i in np.flatnonzero(dup):
        first = first_of[i]
        rejections.append(Rejection(
            int(rows[i]), "id",
            f"duplicate: same id as row {rows[first]} of {labels[part_of[first]]}, merged",
            str(ids[int(i)].as_py())[:200], file=labels[part_of[i]]))
    order = {label: k for k, label in enumerate(labels)}
    rejections.sort(key=lambda r: (order.get(r.file, len(order)), r.row))
    keep = ~dup
    if not keep.all():
        table = table.filter(pa.array(keep))
    missing = [c for c in parts[0].missing_optional
               if all(c in p.missing_optional for p in parts)]
    return Catalogue(table, rejections, rows_read=sum(p.rows_read for p in parts),
                   duplicates=sum(p.duplicates for p in parts) + int(dup.sum()),
                   missing_optional=missing,
                   warnings=[w for p in parts for w in p.warnings],
                   row_numbers=rows[keep])


def _row_numbers(part: Catalogue) -> np.ndarray:
    if part.row_numbers is None:
        raise ValueError("a catalogue without row numbers cannot be merged")
    return part.row_numbers


def fingerprint(sources: Sequence[SourceFile]) -> tuple[str, int]:
    """(sha256, bytes) of the sources: the file's own checksum for one file; for several, the
    checksum of their labels and checksums in order, so any change to any file shows."""
    sums = [(s.label, _sha256(s.path), s.path.stat().st_size) for s in sources]
    if len(sums) == 1:
        return sums[0][1], sums[0][2]
    digest = hashlib.sha256("".join(f"{label}\t{sha}\n" for label, sha, _ in sums).encode())
    return digest.hexdigest(), sum(size for _, _, size in sums)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
