"""Read a Spotify-features CSV into a validated, normalised catalogue table.

Every row that cannot be used is reported with its row number, the column and the reason;
nothing is dropped or coerced silently. Rows are numbered as a spreadsheet shows them: the
header is row 1, the first song is row 2.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from musicrec.errors import CatalogError

# Canonical column -> accepted header names (compared case-insensitively).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "track_id", "spotify_id"),
    "name": ("name", "track_name", "title", "song_name"),
    "artists": ("artists", "track_artist", "artist_name", "artist", "artist_names"),
    "artist_ids": ("artist_ids", "artist_id"),
    "album": ("album", "track_album_name", "album_name"),
    "album_id": ("album_id", "track_album_id"),
    "release_date": ("release_date", "track_album_release_date", "album_release_date"),
    "year": ("year", "release_year"),
    "popularity": ("popularity", "track_popularity"),
    "genre": ("genre", "playlist_genre", "track_genre"),
    "subgenre": ("subgenre", "playlist_subgenre"),
    "explicit": ("explicit",),
    "track_number": ("track_number",),
    "disc_number": ("disc_number",),
    "time_signature": ("time_signature",),
    "danceability": ("danceability",),
    "energy": ("energy",),
    "key": ("key",),
    "loudness": ("loudness",),
    "mode": ("mode",),
    "speechiness": ("speechiness",),
    "acousticness": ("acousticness",),
    "instrumentalness": ("instrumentalness",),
    "liveness": ("liveness",),
    "valence": ("valence",),
    "tempo": ("tempo",),
    "duration_ms": ("duration_ms",),
}

UNIT_FEATURES = (
    "danceability",
    "energy",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
)
AUDIO_FEATURES = (*UNIT_FEATURES, "key", "loudness", "mode", "tempo", "duration_ms")
REQUIRED = ("id", "name", "artists", *AUDIO_FEATURES)
OPTIONAL_NUMERIC = ("time_signature", "year", "popularity", "track_number", "disc_number")
OPTIONAL_TEXT = ("album", "album_id", "artist_ids", "release_date", "genre", "subgenre")

# Inclusive valid ranges. Values outside are rejected, never clipped.
RANGES: dict[str, tuple[float, float]] = {
    **{f: (0.0, 1.0) for f in UNIT_FEATURES},
    "key": (-1, 11),
    "loudness": (-70.0, 10.0),
    "mode": (0, 1),
    "tempo": (0.0, 300.0),
    "duration_ms": (1.0, 10_800_000.0),
    "time_signature": (0, 7),
    "year": (0, 2100),
    "popularity": (0, 100),
    "track_number": (0, 10_000),
    "disc_number": (0, 1_000),
}
INTEGER_COLUMNS = ("key", "mode", "time_signature", "year", "popularity", "track_number",
                   "disc_number")

NOTE_NAMES = {
    "C": 0, "B#": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4, "F": 5,
    "E#": 5, "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10, "BB": 10, "B": 11,
    "CB": 11,
}
MODE_NAMES = {"MAJOR": 1, "MINOR": 0}
BOOL_NAMES = {"TRUE": True, "FALSE": False, "1": True, "0": False, "YES": True, "NO": False}

_LIST_ITEM = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)\"""")


@dataclass(frozen=True)
class Rejection:
    """One problem with one source row."""

    row: int
    column: str
    reason: str
    value: str


@dataclass
class Catalog:
    """A validated catalogue: one row per unique track id, in source order.

    Attributes:
        table: the normalised columns (see `build_table` for the schema).
        rejections: every row that was not kept, and why (duplicates included).
        rows_read: data rows in the source file, malformed ones included.
        duplicates: rows merged into an earlier row with the same track id.
        missing_optional: optional columns the source does not have.
    """

    table: pa.Table
    rejections: list[Rejection]
    rows_read: int
    duplicates: int
    missing_optional: list[str] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        return self.table.num_rows

    def rejected_by_reason(self) -> Counter[str]:
        """Rejected rows (duplicates excluded) counted by their first reason."""
        seen: set[int] = set()
        counts: Counter[str] = Counter()
        for r in self.rejections:
            if r.row not in seen and not r.reason.startswith("duplicate"):
                seen.add(r.row)
                counts[f"{r.column}: {_reason_kind(r.reason)}"] += 1
        return counts

    def rejections_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(r.row, r.column, r.reason, r.value) for r in self.rejections],
            columns=["row", "column", "reason", "value"],
        )


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0]


def read_catalog(path: str | Path) -> Catalog:
    """Read and validate a Spotify-features CSV.

    Raises:
        CatalogError: the file is missing, empty, not CSV, or lacks a required column.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path} is empty")
    raw, malformed = _read_strings(path)
    columns = _resolve_columns(raw.column_names, path)
    rejections = list(malformed)
    frame = {canon: raw.column(src) for canon, src in columns.items()}
    n = raw.num_rows
    # Row numbers as a spreadsheet shows them, skipping the malformed lines pyarrow dropped.
    row_numbers = _row_numbers(n, [r.row for r in malformed])
    bad = np.zeros(n, dtype=bool)
    values: dict[str, np.ndarray] = {}
    for col in (*AUDIO_FEATURES, *OPTIONAL_NUMERIC):
        if col not in frame:
            continue
        parsed, problems = _parse_numeric(col, frame[col], required=col in REQUIRED)
        values[col] = parsed
        for i, reason in problems:
            rejections.append(Rejection(int(row_numbers[i]), col, reason, _cell(frame[col], i)))
            bad[i] = True
    texts: dict[str, np.ndarray] = {}
    for col in ("id", "name", "artists", *OPTIONAL_TEXT):
        if col not in frame:
            continue
        arr = frame[col].to_numpy(zero_copy_only=False).astype(object)
        arr = np.where(pd.isna(arr), "", arr).astype(str)
        arr = np.char.strip(arr) if col != "name" else arr
        if col in REQUIRED:
            # R and spreadsheet exports write a missing value as NA.
            missing = np.isin(np.char.strip(arr), ("", "NA", "N/A"))
            for i in np.flatnonzero(missing):
                rejections.append(Rejection(int(row_numbers[i]), col, "empty: required",
                                            arr[i]))
                bad[i] = True
        texts[col] = arr
    if "explicit" in frame:
        explicit, problems = _parse_bool(frame["explicit"])
        values["explicit"] = explicit
        for i, reason in problems:
            rejections.append(Rejection(int(row_numbers[i]), "explicit", reason,
                                        _cell(frame["explicit"], i)))
            bad[i] = True
    keep = ~bad
    ids = texts["id"]
    dup = np.zeros(n, dtype=bool)
    first_row: dict[str, int] = {}
    kept_ids = pd.Series(ids[keep])
    dup_mask = kept_ids.duplicated(keep="first").to_numpy()
    if dup_mask.any():
        kept_idx = np.flatnonzero(keep)
        firsts = kept_ids[~dup_mask]
        first_row = dict(zip(firsts.to_numpy(), kept_idx[~dup_mask], strict=True))
        for i in kept_idx[dup_mask]:
            rejections.append(Rejection(int(row_numbers[i]), "id",
                                        f"duplicate: same id as row {row_numbers[first_row[ids[i]]]}"
                                        ", merged", ids[i]))
            dup[i] = True
    keep &= ~dup
    if not keep.any():
        raise CatalogError(f"{path}: no valid rows ({len(rejections)} problems, e.g. "
                           f"{_describe(rejections[0]) if rejections else 'no data rows'})")
    table = build_table({k: v[keep] for k, v in texts.items()},
                        {k: v[keep] for k, v in values.items()})
    rejections.sort(key=lambda r: r.row)
    missing = [c for c in (*OPTIONAL_NUMERIC, *OPTIONAL_TEXT, "explicit")
               if c not in frame and c not in table.column_names]
    return Catalog(table, rejections, rows_read=n + len(malformed), duplicates=int(dup.sum()),
                   missing_optional=missing)


def _describe(r: Rejection) -> str:
    return f"row {r.row}, column {r.column}: {r.reason}"


def _read_strings(path: Path) -> tuple[pa.Table, list[Rejection]]:
    """Read every column as text; rows with the wrong number of fields become rejections."""
    malformed: list[Rejection] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        number = row.number if row.number is not None else -1
        malformed.append(Rejection(
            number, "*", f"malformed: {row.actual_columns} fields, expected {row.expected_columns}",
            row.text[:200]))
        return "skip"

    names = _header(path)
    try:
        table = pacsv.read_csv(
            path,
            # Serial parsing keeps physical line numbers for malformed rows.
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise CatalogError(f"{path} is not a readable CSV file: {exc}") from exc
    return table, malformed


def _header(path: Path) -> list[str]:
    """The header's column names; a clear error for files that are not UTF-8 text."""
    with path.open("rb") as f:
        first_line = f.readline(1 << 20)
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path.name} is not a UTF-8 CSV file ({exc.reason})") from exc
    if "\x00" in text or not text.strip():
        raise CatalogError(f"{path.name} is not a CSV file: no header line")
    return next(csv.reader([text]))


def _resolve_columns(found: list[str], path: Path) -> dict[str, str]:
    """Map canonical names to the source's header names, or fail naming what is missing."""
    lower = {name.strip().lstrip("\ufeff").lower(): name for name in found}
    resolved: dict[str, str] = {}
    for canon, aliases in ALIASES.items():
        for alias in aliases:
            if alias in lower:
                resolved[canon] = lower[alias]
                break
    missing = [c for c in REQUIRED if c not in resolved]
    if missing:
        shown = ", ".join(found[:30]) + (" ..." if len(found) > 30 else "")
        raise CatalogError(
            f"{path.name}: missing required column(s) {', '.join(missing)}; found: {shown}")
    return resolved


def _row_numbers(n: int, malformed_rows: list[int]) -> np.ndarray:
    """Spreadsheet row number of each parsed row, given the rows pyarrow skipped."""
    rows = np.arange(n, dtype=np.int64) + 2
    for skipped in sorted(r for r in malformed_rows if r > 0):
        rows[rows >= skipped] += 1
    return rows


def _cell(column: pa.ChunkedArray, i: int) -> str:
    value = column[i].as_py()
    return "" if value is None else str(value)[:200]


def _parse_numeric(col: str, column: pa.ChunkedArray,
                   required: bool) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Parse a text column to float64; return values (NaN where absent) and problems."""
    text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).str.strip()
    if col == "key":
        text = text.map(lambda v: NOTE_NAMES.get(v.upper(), v) if isinstance(v, str) else v)
    elif col == "mode":
        text = text.map(lambda v: MODE_NAMES.get(v.upper(), v) if isinstance(v, str) else v)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    empty = (text == "").to_numpy()
    problems: list[tuple[int, str]] = []
    lo, hi = RANGES[col]
    for i in np.flatnonzero(np.isnan(values) & ~empty):
        problems.append((int(i), "not a number"))
    if required:
        problems.extend((int(i), "empty: required") for i in np.flatnonzero(empty))
    with np.errstate(invalid="ignore"):
        out_of_range = ~np.isnan(values) & ((values < lo) | (values > hi))
        if col in INTEGER_COLUMNS:
            not_integer = ~np.isnan(values) & (values != np.round(values))
            problems.extend((int(i), "not a whole number") for i in np.flatnonzero(not_integer))
    problems.extend((int(i), f"out of range: expected {lo:g}..{hi:g}")
                    for i in np.flatnonzero(out_of_range))
    return values, problems


def _parse_bool(column: pa.ChunkedArray) -> tuple[np.ndarray, list[tuple[int, str]]]:
    text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).str.strip().str.upper()
    mapped = text.map(BOOL_NAMES)
    problems = [(int(i), "not true/false") for i in np.flatnonzero(mapped.isna() & (text != ""))]
    # 0 where unknown: an empty cell is "not marked explicit", as Spotify reports it.
    return mapped.fillna(False).to_numpy(dtype=bool), problems


def parse_name_list(value: str) -> list[str]:
    """Split an artists cell: a Python list literal (Kaggle) or a comma/semicolon list."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        items = [a if a else b for a, b in _LIST_ITEM.findall(value)]
        return [_unescape(i) for i in items if i.strip()] or [value[1:-1].strip()]
    return [part.strip() for part in re.split(r"\s*[;]\s*", value) if part.strip()]


def _unescape(item: str) -> str:
    return item.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


def artist_key(name: str) -> str:
    """A stable id for an artist known only by name: lower-cased, spaces collapsed."""
    return "name:" + " ".join(name.lower().split())


def build_table(texts: dict[str, np.ndarray], values: dict[str, np.ndarray]) -> pa.Table:
    """Assemble the normalised catalogue table.

    Schema: id, name, artists (list<string>), artist_ids (list<string>), album, album_id,
    release_date, genre, subgenre (strings, where the source has them), the audio features
    (float32; key, mode as int8), year (int16, null when unknown), explicit (bool), and the other
    optional numbers where present.
    """
    artists = [parse_name_list(v) for v in texts["artists"]]
    if "artist_ids" in texts:
        artist_ids = [parse_name_list(v) for v in texts["artist_ids"]]
        artist_ids = [ids if len(ids) == len(names) else [artist_key(a) for a in names]
                      for ids, names in zip(artist_ids, artists, strict=True)]
    else:
        artist_ids = [[artist_key(a) for a in names] for names in artists]
    cols: dict[str, pa.Array] = {
        "id": pa.array(texts["id"], pa.string()),
        "name": pa.array(texts["name"], pa.string()),
        "artists": pa.array(artists, pa.list_(pa.string())),
        "artist_ids": pa.array(artist_ids, pa.list_(pa.string())),
    }
    for col in ("album", "album_id", "release_date", "genre", "subgenre"):
        if col in texts:
            cols[col] = pa.array(texts[col], pa.string())
    for col in AUDIO_FEATURES:
        kind = pa.int8() if col in ("key", "mode") else pa.float32()
        cols[col] = pa.array(values[col].astype(kind.to_pandas_dtype()), kind)
    year = _year(values.get("year"), texts.get("release_date"))
    if year is not None:
        cols["year"] = pa.array(year, pa.int16(), mask=year <= 0)
    for col in ("time_signature", "popularity", "track_number", "disc_number"):
        if col in values:
            v = values[col]
            cols[col] = pa.array(np.nan_to_num(v, nan=0).astype(np.int16), pa.int16(),
                                 mask=np.isnan(v))
    if "explicit" in values:
        cols["explicit"] = pa.array(values["explicit"], pa.bool_())
    return pa.table(cols)


def _year(year: np.ndarray | None, release_date: np.ndarray | None) -> np.ndarray | None:
    """Release year from the year column, else from the date's first four digits; 0 = unknown."""
    from_date = None
    if release_date is not None:
        head = pd.Series(release_date).str.slice(0, 4)
        from_date = pd.to_numeric(head, errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    if year is None:
        return from_date
    out = np.nan_to_num(year, nan=0).astype(np.int64)
    if from_date is not None:
        out = np.where(out > 0, out, from_date)
    return out
