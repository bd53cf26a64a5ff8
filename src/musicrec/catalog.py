"""Read a Spotify-features CSV into a validated, normalised catalogue table.

Every row that cannot be used is reported with its row number, the column and the reason;
nothing is dropped or coerced silently. Rows are numbered as a spreadsheet shows them: the
header is row 1, the first song is row 2.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
    frame = {canon: raw.column(src) for canon, src in columns.items()}
    for col in ("id", "artists", "artist_ids", "album_id", "genre", "subgenre"):
        if col in frame:  # identifiers and labels: surrounding spaces are never meaningful
            frame[col] = pc.utf8_trim_whitespace(frame[col])
    del raw
    n = len(frame["id"])
    # Row numbers as a spreadsheet shows them, skipping the malformed lines pyarrow dropped.
    row_numbers = _row_numbers(n, [r.row for r in malformed])
    problems: list[tuple[np.ndarray, str, str]] = []  # (row indexes, column, reason)
    values: dict[str, np.ndarray] = {}
    for col in (*AUDIO_FEATURES, *OPTIONAL_NUMERIC):
        if col in frame:
            values[col], found = _parse_numeric(col, frame[col], required=col in REQUIRED)
            problems += [(rows, col, reason) for rows, reason in found]
    if "explicit" in frame:
        values["explicit"], found = _parse_bool(frame["explicit"])
        problems += [(rows, "explicit", reason) for rows, reason in found]
    for col in ("id", "name", "artists"):
        # R and spreadsheet exports write a missing value as NA.
        empty = pc.is_in(pc.utf8_trim_whitespace(frame[col]),
                         pa.array(["", "NA", "N/A", "[]"])).to_numpy(
            zero_copy_only=False)
        problems.append((np.flatnonzero(empty), col, "empty: required"))
    bad = np.zeros(n, dtype=bool)
    rejections = list(malformed)
    for rows, col, reason in problems:
        bad[rows] = True
        rejections += [Rejection(int(row_numbers[i]), col, reason, _cell(frame[col], i))
                       for i in rows]
    keep = ~bad
    dup, first_of = _duplicates(frame["id"], keep)
    rejections += [Rejection(int(row_numbers[i]), "id",
                             f"duplicate: same id as row {row_numbers[first_of[i]]}, merged",
                             _cell(frame["id"], i)) for i in np.flatnonzero(dup)]
    keep &= ~dup
    if not keep.any():
        raise CatalogError(f"{path}: no valid rows ({len(rejections)} problems, e.g. "
                           f"{_describe(rejections[0]) if rejections else 'no data rows'})")
    mask = pa.array(keep)
    texts = {k: v.filter(mask) for k, v in frame.items()
             if k in ("id", "name", "artists", *OPTIONAL_TEXT)}
    table = build_table(texts, {k: v[keep] for k, v in values.items()})
    rejections.sort(key=lambda r: r.row)
    missing = [c for c in (*OPTIONAL_NUMERIC, *OPTIONAL_TEXT, "explicit")
               if c not in frame and c not in table.column_names]
    return Catalog(table, rejections, rows_read=n + len(malformed), duplicates=int(dup.sum()),
                   missing_optional=missing)


def _duplicates(ids: pa.ChunkedArray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kept rows whose id an earlier kept row already has, and each row's first such row.

    Sorting (stable, so equal ids stay in row order) needs far less memory than hashing
    1.2M distinct strings.
    """
    kept = np.flatnonzero(keep)
    kept_ids = ids.take(pa.array(kept))
    order = pc.sort_indices(kept_ids).to_numpy()
    sorted_ids = kept_ids.take(pa.array(order))
    same = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        same[1:] = pc.equal(sorted_ids.slice(1), sorted_ids.slice(0, len(order) - 1)).to_numpy(
            zero_copy_only=False)
    positions = np.arange(len(order))
    run_start = np.maximum.accumulate(np.where(same, 0, positions))
    first_of = np.arange(len(keep))
    first_of[kept[order]] = kept[order[run_start]]
    dup = np.zeros(len(keep), dtype=bool)
    dup[kept[order[same]]] = True
    return dup, first_of


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

    def read(serial: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=not serial, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )

    try:
        table = read(serial=False)
        if any(r.row < 0 for r in malformed):
            # Parallel parsing loses physical line numbers; serial parsing keeps them.
            malformed.clear()
            table = read(serial=True)
    except pa.ArrowInvalid as exc:
        raise CatalogError(f"{path.name} is not a readable CSV file: {exc}") from exc
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
                   required: bool) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """Parse a text column to float64: values (NaN where empty) and problem rows."""
    try:
        values = pc.cast(column, pa.float64()).to_numpy()
        empty = np.zeros(len(values), dtype=bool)
    except pa.ArrowInvalid:  # note names, Major/Minor, spaces, empty cells or junk
        text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).str.strip()
        names = NOTE_NAMES if col == "key" else MODE_NAMES if col == "mode" else {}
        text = text.map(lambda v: names.get(v.upper(), v))
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        empty = (text == "").to_numpy()
    problems = [(np.flatnonzero(np.isnan(values) & ~empty), "not a number")]
    if required:
        problems.append((np.flatnonzero(empty), "empty: required"))
    lo, hi = RANGES[col]
    with np.errstate(invalid="ignore"):
        problems.append((np.flatnonzero((values < lo) | (values > hi)),
                         f"out of range: expected {lo:g}..{hi:g}"))
        if col in INTEGER_COLUMNS:
            problems.append((np.flatnonzero(values != np.round(values)), "not a whole number"))
    return values, problems


def _parse_bool(column: pa.ChunkedArray) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(column))
    true = pc.is_in(upper, pa.array(["TRUE", "1", "YES"])).to_numpy(zero_copy_only=False)
    false = pc.is_in(upper, pa.array(["FALSE", "0", "NO", ""])).to_numpy(zero_copy_only=False)
    # An empty cell means "not marked explicit", as Spotify reports it.
    return true, [(np.flatnonzero(~true & ~false), "not true/false")]


def split_names(column: pa.ChunkedArray | pa.Array) -> pa.ListArray:
    """Split artists cells into lists of names.

    Kaggle cells are Python list literals (`['A', "B's"]`); other exports hold one name, or
    several separated by semicolons. Commas are not separators: "Earth, Wind & Fire" is one.
    """
    text = pc.utf8_trim_whitespace(one_chunk(column))
    is_list = pc.starts_with(text, "[")
    lists = None
    if pc.any(is_list).as_py():
        inner = pc.replace_substring_regex(text, r"^\[\s*['\"]?|['\"]?\s*\]$", "")
        lists = pc.split_pattern_regex(inner, r"['\"]\s*,\s*['\"]")
        del inner
    if not pc.all(is_list).as_py():  # only computed when needed: it costs memory at 1.2M rows
        as_plain = pc.split_pattern_regex(text, r"\s*;\s*")
        lists = as_plain if lists is None else pc.if_else(is_list, lists, as_plain)
    return _map_values(lists, lambda names: pc.replace_substring(names, "\\'", "'"))


def one_chunk(array: pa.ChunkedArray | pa.Array) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _map_values(lists: pa.ListArray, fn: Callable[[pa.Array], pa.Array]) -> pa.ListArray:
    """Apply an element-wise function to every item of a list array, keeping its shape."""
    return pa.ListArray.from_arrays(lists.offsets, fn(lists.values))


def artist_keys(names: pa.Array) -> pa.Array:
    """Stable ids for artists known only by name: lower-cased, spaces collapsed."""
    collapsed = pc.replace_substring_regex(pc.utf8_lower(names), r"\s+", " ")
    return pc.binary_join_element_wise("name:", collapsed, "")


def build_table(texts: dict[str, pa.ChunkedArray], values: dict[str, np.ndarray]) -> pa.Table:
    """Assemble the normalised catalogue table.

    Schema: id, name, artists (list<string>), artist_ids (list<string>), album, album_id,
    release_date, genre, subgenre (strings, where the source has them), the audio features
    (float32; key, mode as int8), year (int16, null when unknown), explicit (bool), and the other
    optional numbers where present.
    """
    artists = split_names(texts["artists"])
    derived = _map_values(artists, artist_keys)
    if "artist_ids" in texts:
        given = split_names(texts["artist_ids"])
        # Where the id list does not line up with the names, ids derived from names are safer.
        same = pc.equal(pc.list_value_length(given), pc.list_value_length(artists))
        artist_ids = pc.if_else(same, given, derived)
    else:
        artist_ids = derived
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "id": texts["id"], "name": texts["name"], "artists": artists, "artist_ids": artist_ids}
    for col in ("album", "album_id", "release_date", "genre", "subgenre"):
        if col in texts:
            cols[col] = texts[col]
    for col in AUDIO_FEATURES:
        kind = pa.int8() if col in ("key", "mode") else pa.float32()
        cols[col] = pa.array(values[col].astype(kind.to_pandas_dtype()), kind)
    year = _year(values.get("year"), texts.get("release_date"))
    if year is not None:
        cols["year"] = pa.array(year.astype(np.int16), pa.int16(), mask=year <= 0)
    for col in ("time_signature", "popularity", "track_number", "disc_number"):
        if col in values:
            v = values[col]
            cols[col] = pa.array(np.nan_to_num(v, nan=0).astype(np.int16), pa.int16(),
                                 mask=np.isnan(v))
    if "explicit" in values:
        cols["explicit"] = pa.array(values["explicit"], pa.bool_())
    return pa.table(cols)


def _year(year: np.ndarray | None, release_date: pa.ChunkedArray | None) -> np.ndarray | None:
    """Release year from the year column, else from the date's first four digits; 0 = unknown."""
    from_date = None
    if release_date is not None:
        head = pc.utf8_slice_codeunits(release_date, 0, 4)
        digits = pc.match_substring_regex(head, r"^\d{4}$")
        as_int = pc.cast(pc.if_else(digits, head, pa.scalar(None, pa.string())), pa.int64())
        from_date = as_int.to_numpy(zero_copy_only=False)
        from_date = np.nan_to_num(from_date.astype(np.float64), nan=0).astype(np.int64)
    if year is None:
        return from_date
    out = np.nan_to_num(year, nan=0).astype(np.int64)
    if from_date is not None:
        out = np.where(out > 0, out, from_date)
    return out
