"""Read a Spotify-features CSV into a validated, normalised catalogue table.

Every row that cannot be used is reported with its row number, the column and the reason;
nothing is dropped or coerced silently. Rows are numbered as a spreadsheet shows them: the
header is row 1, the first song is row 2.

Nothing lost, nothing crashes: every non-blank line after the header is kept, rejected or
merged into an earlier row with the same id. A bad value in a required column (id, name,
artists, the audio features) rejects its row; a bad value in an optional column makes that
cell unknown and keeps the row. Damage to the file as a whole (no header, a duplicated
column, binary content) is one `CatalogueError` line; damage confined to lines never raises.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from musicrec import schema
from musicrec.errors import CatalogueError

# Canonical column -> accepted header names (compared case-insensitively); the features' own
# come from `musicrec.schema`.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "track_id", "spotify_id"),
    "name": ("name", "track_name", "title", "song_name"),
    "artists": ("artists", "track_artist", "artist_name", "artist", "artist_names"),
    "artist_ids": ("artist_ids", "artist_id"),
    "album": ("album", "track_album_name", "album_name"),
    "album_id": ("album_id", "track_album_id"),
    "release_date": ("release_date", "track_album_release_date", "album_release_date"),
    "genre": ("genre", "playlist_genre", "track_genre"),
    "subgenre": ("subgenre", "playlist_subgenre"),
    **{f.name: (f.name, *f.aliases) for f in schema.FEATURES},
}

AUDIO_FEATURES = schema.names(schema.REQUIRED)
REQUIRED = ("id", "name", "artists", *AUDIO_FEATURES)
# Required columns whose cells may be left empty: estimates that an analysis of one's own audio
# file cannot always make (valence, liveness, ...). An empty cell there is an unknown value,
# reported and counted, and the song is kept; it then weighs nothing in its vector (the
# catalogue mean) and fails every min/max filter on that feature.
MAY_BE_UNKNOWN = schema.names(schema.UNIT)
OPTIONAL_NUMERIC = schema.names(schema.OPTIONAL_NUMBERS)
OPTIONAL_TEXT = ("album", "album_id", "artist_ids", "release_date", "genre", "subgenre")

NOTE_NAMES = {
    "C": 0, "B#": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4, "F": 5,
    "E#": 5, "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10, "BB": 10, "B": 11,
    "CB": 11,
}
MODE_NAMES = {"MAJOR": 1, "MINOR": 0}
BOOL_NAMES = {"TRUE": True, "FALSE": False, "1": True, "0": False, "YES": True, "NO": False}

# Spotify ids are 22 base62 characters; longer ids are damage (a shifted column, a pasted
# lyric), and one would otherwise widen every fixed-width key array built from the ids.
MAX_ID_CHARS = 200
# The longest line of a real 1.2M Kaggle row is well under 2 kB; anything this long is damage,
# and leaving it out of the parse keeps pyarrow's block size (and memory) fixed.
MAX_LINE_BYTES = 100_000
MAX_HEADER_BYTES = 65_536
# An optional column with more unreadable cells than this share gets a warning: it is more
# likely a different format than scattered damage.
WARN_UNREADABLE_SHARE = 0.5

REJECTED = "rejected"
CELL_UNKNOWN = "cell_unknown"


@dataclass(frozen=True)
class Rejection:
    """One problem with one source row.

    `action` tells what was done: `rejected` (the row is not in the catalogue) or
    `cell_unknown` (the row is kept and this optional cell is null).
    """

    row: int
    column: str
    reason: str
    value: str
    action: str = REJECTED
    # The source file, as the build was given it; several sources can share row numbers.
    file: str = ""


@dataclass
class Catalogue:
    """A validated catalogue: one row per unique track id, in source order.

    Every non-blank data line of the source is either kept, rejected or merged into an
    earlier duplicate: `rows_kept + rows_rejected + duplicates == rows_read`.

    Attributes:
        table: the normalised columns (see `build_table` for the schema).
        rejections: every problem found, rows rejected and cells made unknown (see
            `Rejection.action`), duplicates included.
        rows_read: non-blank data lines in the source file, malformed ones included.
        duplicates: rows merged into an earlier row with the same track id.
        missing_optional: optional columns the source does not have.
        warnings: one-line notes for the build summary (a guessed encoding, an optional
            column that is mostly unreadable).
    """

    table: pa.Table
    rejections: list[Rejection]
    rows_read: int
    duplicates: int
    missing_optional: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Source row number of each kept row (int64, (rows_kept,)): lets several sources be merged.
    row_numbers: np.ndarray | None = None

    @property
    def rows_kept(self) -> int:
        return self.table.num_rows

    @property
    def rows_rejected(self) -> int:
        """Rows not kept for a reason other than being a duplicate."""
        return len({(r.file, r.row) for r in self.rejections
                    if r.action == REJECTED and not r.reason.startswith("duplicate")})

    def rejected_by_reason(self) -> Counter[str]:
        """Rejected rows (duplicates excluded) counted by their first reason."""
        seen: set[tuple[str, int]] = set()
        counts: Counter[str] = Counter()
        for r in self.rejections:
            if (r.action == REJECTED and (r.file, r.row) not in seen
                    and not r.reason.startswith("duplicate")):
                seen.add((r.file, r.row))
                counts[f"{r.column}: {_reason_kind(r.reason)}"] += 1
        return counts

    def unknown_cells_by_reason(self) -> Counter[str]:
        """Optional cells made unknown in kept rows, counted by column and reason."""
        return Counter(f"{r.column}: {_reason_kind(r.reason)}" for r in self.rejections
                       if r.action == CELL_UNKNOWN)

    def rejections_frame(self, with_file: bool = False) -> pd.DataFrame:
        """The report as a table; `with_file` adds the source file of each row (rejected.csv)."""
        # New columns go last: readers of the older reports keep working.
        frame = pd.DataFrame(
            [(r.row, r.column, r.reason, r.value, r.action) for r in self.rejections],
            columns=["row", "column", "reason", "value", "action"],
        )
        if with_file:
            frame["file"] = [r.file for r in self.rejections]
        return frame


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0]


def read_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a Spotify-features CSV.

    A required column's bad value rejects its row; an optional column's bad value makes that
    cell unknown (null) and keeps the row. Both are reported.

    Raises:
        CatalogueError: the file is missing, empty, not CSV, has an unusable header or lacks a
            required column. Damage confined to rows never raises.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise CatalogueError(f"{path} is empty")
    source = _scan(path)
    columns = _resolve_columns(source.header, path)
    parsed_source = _parse(source, path)
    if parsed_source is None:
        source = _scan(path, exact=True)
        parsed_source = _parse(source, path)
        if parsed_source is None:
            raise CatalogueError(f"{path.name}: a quoted value runs over a line end in a way "
                               f"that could not be located; check the file's quotes")
    raw, malformed = parsed_source
    source.data = None  # the parsed table holds copies
    rows_read = len(source.line_rejections) + len(source.record_rows)
    # Spreadsheet row number of each parsed row: the fed records minus those pyarrow skipped.
    parsed = np.ones(len(source.record_rows), dtype=bool)
    parsed[[r.row for r in malformed]] = False
    row_numbers = source.record_rows[parsed]
    malformed = [Rejection(int(source.record_rows[r.row]), r.column, r.reason, r.value)
                 for r in malformed]
    return _validate(raw, columns, row_numbers, rows_read,
                     [*source.line_rejections, *malformed], list(source.warnings), path.name)


def read_parquet(path: str | Path) -> Catalogue:
    """Read and validate a Parquet file of songs, by the rules `read_catalogue` applies to CSV.

    Every column is turned into text first (numbers as pyarrow writes them, lists of names as
    Python list literals, timestamps as dates, nulls as empty cells) and then goes through the
    same checks as a CSV's cells, so a value is kept, made unknown or rejected alike in both
    formats. Rows are numbered from 1, the file's first record (Parquet has no header line).

    Raises:
        CatalogueError: the file is missing, not Parquet, has a column that cannot be read as
            text, or lacks a required column.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"no such file: {path}")
    try:
        header = [str(name) for name in pq.read_schema(path).names]
        columns = _resolve_columns(header, path)
        # Only the columns the catalogue uses: an export's other columns never reach memory.
        wanted = sorted(set(columns.values()))
        table = pq.read_table(path, columns=[header[i] for i in wanted])
    except (pa.ArrowException, OSError) as exc:
        raise CatalogueError(f"{path.name} is not a readable Parquet file: "
                           f"{str(exc).splitlines()[0][:160]}") from exc
    text = {f"c{i}": _as_text(table.column(k), header[i], path) for k, i in enumerate(wanted)}
    del table
    raw = pa.table(text) if text else pa.table({})
    n = raw.num_rows
    return _validate(raw, columns, np.arange(1, n + 1, dtype=np.int64), n, [], [], path.name)


def _as_text(column: pa.ChunkedArray, name: str, path: Path) -> pa.ChunkedArray:
    """One Parquet column as text cells, as they would stand in a CSV; nulls become ""."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_timestamp(kind):
        column = column.cast(pa.date32())
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # As Kaggle writes artists: split_names reads the literal back, quotes in names too.
        joined = pc.binary_join(column.cast(pa.list_(pa.string())), "', '")
        column = pc.binary_join_element_wise("['", joined, "']", "")
    try:
        as_text = pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
        raise CatalogueError(f"{path.name}: column {name!r} of type {kind} cannot be read as "
                           f"text") from exc
    return pc.fill_null(as_text, "")


def _validate(raw: pa.Table, columns: dict[str, int], row_numbers: np.ndarray, rows_read: int,
              early: list[Rejection], warnings: list[str], name: str) -> Catalogue:
    """The rules every source goes through, on its cells as text.

    Args:
        raw: one string column `c{i}` per source column (no nulls: empty cells are "").
        columns: canonical column name -> position `i` of its source column.
        row_numbers: int64 (raw.num_rows,): the row number each raw row is reported under.
        rows_read: data rows in the source, those already set aside included.
        early: rejections made before parsing (damaged lines, wrong field counts).
        warnings: notes so far; more are appended.
        name: the source's name, for error messages and each rejection's `file`.
    """
    frame = {canon: raw.column(f"c{i}") for canon, i in columns.items()}
    for col in ("id", "artists", "artist_ids", "album_id", "genre", "subgenre", "release_date"):
        if col in frame:  # identifiers and labels: surrounding spaces are never meaningful
            frame[col] = pc.utf8_trim_whitespace(frame[col])
    del raw
    n = len(frame["id"])
    if n == 0 and rows_read == 0:
        raise CatalogueError(f"{name}: no data rows after the header")
    problems: list[tuple[np.ndarray, str, str]] = []  # (row indexes, column, reason)
    unknown: list[tuple[np.ndarray, str, str]] = []
    values: dict[str, np.ndarray] = {}
    for col in (*AUDIO_FEATURES, *OPTIONAL_NUMERIC):
        if col in frame:
            required = col in REQUIRED
            values[col], found = _parse_numeric(col, frame[col], required=required)
            for rows, why in found:
                blank = not required or (col in MAY_BE_UNKNOWN and why == EMPTY_REQUIRED)
                (unknown if blank else problems).append((rows, col, why))
    if "explicit" in frame:
        values["explicit"], found = _parse_bool(frame["explicit"])
        unknown += [(rows, "explicit", reason) for rows, reason in found]
    cleaned: dict[str, pa.Array] = {}
    if "release_date" in frame:
        cleaned["release_date"], found = _check_dates(frame["release_date"])
        unknown += [(rows, "release_date", reason) for rows, reason in found]
    for col in ("artist_ids", "album_id"):
        if col in frame:
            long_rows = _long_ids(frame[col], split=col == "artist_ids")
            unknown.append((long_rows, col, f"too long: an id of more than {MAX_ID_CHARS} "
                                            f"characters"))
            if len(long_rows):
                blank = np.zeros(n, dtype=bool)
                blank[long_rows] = True
                # Artists get ids derived from their names, as when the cell is empty.
                cleaned[col] = pc.if_else(pa.array(blank), pa.scalar("" if col == "artist_ids"
                                                                     else None, pa.string()),
                                          one_chunk(cleaned.get(col, frame[col])))
    for col in ("id", "name", "artists"):
        # R and spreadsheet exports write a missing value as NA.
        empty = pc.is_in(pc.utf8_trim_whitespace(frame[col]), pa.array(["", "NA", "N/A", "[]"]))
        if col == "artists":  # a list of nothing: "['']", "[ ]", ";"
            empty = pc.or_(empty, pc.match_substring_regex(frame[col], r"^[\s\[\]'\";,]*$"))
        problems.append((np.flatnonzero(empty.to_numpy(zero_copy_only=False)), col,
                         "empty: required"))
    id_chars = pc.utf8_length(frame["id"]).to_numpy(zero_copy_only=False)
    problems.append((np.flatnonzero(id_chars > MAX_ID_CHARS), "id",
                     f"too long: more than {MAX_ID_CHARS} characters"))
    bad = np.zeros(n, dtype=bool)
    rejections = early
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
    rejections += _blank_unknown_cells(unknown, keep, frame, values, row_numbers, warnings)
    frame.update((col, pa.chunked_array([text])) for col, text in cleaned.items())
    if not keep.any():
        raise CatalogueError(f"{name}: no valid rows ({len(rejections)} problems, e.g. "
                           f"{_describe(rejections[0]) if rejections else 'no data rows'})")
    mask = pa.array(keep)
    texts = {k: v.filter(mask) for k, v in frame.items()
             if k in ("id", "name", "artists", *OPTIONAL_TEXT)}
    table = build_table(texts, {k: v[keep] for k, v in values.items()})
    rejections.sort(key=lambda r: r.row)
    if rejections:
        rejections = [replace(r, file=name) for r in rejections]
    missing = [c for c in (*OPTIONAL_NUMERIC, *OPTIONAL_TEXT, "explicit")
               if c not in frame and c not in table.column_names]
    return Catalogue(table, rejections, rows_read=rows_read, duplicates=int(dup.sum()),
                   missing_optional=missing, warnings=warnings,
                   row_numbers=np.asarray(row_numbers, dtype=np.int64)[keep])


def _long_ids(column: pa.ChunkedArray, split: bool) -> np.ndarray:
    """Rows with an id (or, if `split`, an id in the list) longer than `MAX_ID_CHARS`.

    Only cells longer than the limit can hold one, so the split runs on few rows.
    """
    long_cells = np.flatnonzero(
        pc.greater(pc.utf8_length(column), MAX_ID_CHARS).to_numpy(zero_copy_only=False))
    if not split or not len(long_cells):
        return long_cells
    lists = split_names(column.take(pa.array(long_cells)))
    too_long = pc.greater(pc.utf8_length(pc.list_flatten(lists)), MAX_ID_CHARS)
    parents = pc.list_parent_indices(lists).to_numpy()
    return np.unique(long_cells[parents[too_long.to_numpy(zero_copy_only=False)]])


def _blank_unknown_cells(unknown: list[tuple[np.ndarray, str, str]], keep: np.ndarray,
                         frame: dict[str, pa.ChunkedArray], values: dict[str, np.ndarray],
                         row_numbers: np.ndarray, warnings: list[str]) -> list[Rejection]:
    """Make the unreadable optional cells of kept rows NaN in `values` and report them.

    A column mostly unreadable adds one line to `warnings`: it is more likely in a format this
    reader does not know than damaged cell by cell, and the build summary should say so.
    """
    reports: list[Rejection] = []
    kept_count = int(keep.sum())
    for col in dict.fromkeys(c for _, c, _ in unknown):
        rows = np.unique(np.concatenate([r for r, c, _ in unknown if c == col]))
        rows = rows[keep[rows]]  # a rejected row's cells need no second report
        if not len(rows):
            continue
        if len(rows) > WARN_UNREADABLE_SHARE * kept_count:
            warnings.append(
                f"{col}: {len(rows):,} of {kept_count:,} values unreadable "
                f"(e.g. {_cell(frame[col], int(rows[0]))!r}); treated as unknown")
        for found, c, reason in unknown:
            if c == col:
                reports += [Rejection(int(row_numbers[i]), col, reason, _cell(frame[col], i),
                                      CELL_UNKNOWN) for i in found[keep[found]]]
        if col in values:
            values[col][rows] = np.nan
    return reports


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
    run_start = np.maximum.accumulate(np.where(same, 0, positions)) if len(order) else positions
    first_of = np.arange(len(keep))
    first_of[kept[order]] = kept[order[run_start]]
    dup = np.zeros(len(keep), dtype=bool)
    dup[kept[order[same]]] = True
    return dup, first_of


def _describe(r: Rejection) -> str:
    return f"row {r.row}, column {r.column}: {r.reason}"


@dataclass
class _Source:
    """A source file split into lines, checked before any CSV parsing.

    `data` holds the data lines to parse (UTF-8, LF line ends): every line that ends outside
    quotes, so no quoted value can run on into the next line. `record_rows[k]` is the
    spreadsheet row number of the k-th non-blank line in `data`.
    """

    header: list[str]
    data: pa.Buffer | None  # None: parse the file itself from `offset`
    offset: int
    record_rows: np.ndarray
    line_rejections: list[Rejection]
    warnings: list[str]


# A line of well-formed CSV fields; lines that do not match get a slower, exact quote check.
_PLAIN_LINE = r'^(?:[^"\n,]*|"(?:[^"]|"")*")(?:,(?:[^"\n,]*|"(?:[^"]|"")*"))*\r?\n?$'


def _scan(path: Path, exact: bool = False) -> _Source:
    """Split the file into lines and set aside the lines no CSV parser can read safely.

    A physical line is one record. pyarrow (like most CSV readers) lets a quoted value run
    over line ends, so one unterminated quote would silently swallow every following row;
    checking quotes per line first confines the damage to the line that has it.
    """
    data = path.read_bytes()
    warnings: list[str] = []
    skipped = 0  # bytes before `data` in the file; -1 once `data` differs from the file
    if data.startswith(codecs.BOM_UTF8):
        data, skipped = data[len(codecs.BOM_UTF8):], len(codecs.BOM_UTF8)
    if not data.strip():
        raise CatalogueError(f"{path.name} is empty")
    if b"\x00" in data[:65_536]:
        raise CatalogueError(f"{path.name} is not a CSV file: it holds binary data")
    if b"\r" in data and data.count(b"\r") > data.count(b"\r\n"):
        # Old Mac files end lines with CR alone; pyarrow would also split at a stray CR.
        data, skipped = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), -1
    data, note = _to_utf8(data, path)
    if note:
        warnings.append(note)
        skipped = -1
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = _newlines(arr)
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(data)]])
    if starts[-1] == len(data):  # the file ends with a line end: no line after it
        starts, ends = starts[:-1], ends[:-1]
    text_ends = ends.copy()
    has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13)
    text_ends[has_cr] -= 1
    if ends[0] - starts[0] > MAX_HEADER_BYTES:
        raise CatalogueError(f"{path.name}: the header line is {ends[0] - starts[0]:,} bytes long "
                           f"(a catalogue header is under {MAX_HEADER_BYTES:,}); not a catalogue")
    header_text = data[:text_ends[0]].decode("utf-8")
    if not header_text.strip():
        raise CatalogueError(f"{path.name} is not a CSV file: no header line")
    header = next(csv.reader([header_text]))
    lengths = text_ends - starts
    excluded: dict[int, tuple[str, str]] = {}  # line index -> (reason, value)
    for i in np.flatnonzero(lengths > MAX_LINE_BYTES):
        if i > 0:
            excluded[int(i)] = (f"too long: {lengths[i]:,} bytes (limit {MAX_LINE_BYTES:,})",
                                data[starts[i]:starts[i] + 200].decode("utf-8", "replace"))
    quotes = np.bincount(np.searchsorted(starts, _positions(arr, 34), side="right") - 1,
                         minlength=len(starts))
    # An odd number of quotes is how an unterminated quote almost always shows. An even number
    # can hide one (`a"b,"c`): `_parse` notices the lost line and asks for the exact check.
    suspect = quotes % 2 == 1 if not exact else quotes > 0
    suspect[0] = False
    suspect &= lengths <= MAX_LINE_BYTES
    for i in _unplain_lines(data, starts, np.flatnonzero(suspect)):
        line = data[starts[i]:text_ends[i]]
        if _ends_in_quote(line):
            excluded[int(i)] = ("unterminated quote: the line ends inside a quoted value",
                                line[:200].decode("utf-8", "replace"))
    line_rejections = [Rejection(i + 1, "*", reason, value)
                       for i, (reason, value) in sorted(excluded.items())]
    fed = np.ones(len(starts), dtype=bool)
    fed[0] = False
    fed[list(excluded)] = False
    record_rows = np.flatnonzero(fed & (lengths > 0)) + 1
    body_start = int(ends[0]) + 1
    if not excluded and skipped >= 0:
        # The file needs no changes: pyarrow reads it in blocks itself, so the 270 MB of a
        # 1.2M-row file are not held in memory while the table is built.
        offset = min(body_start, len(data)) + skipped
        return _Source(header, None, offset, record_rows, line_rejections, warnings)
    # Cut out the excluded lines: a few large slices, one copy.
    pieces, pos = [], body_start
    for i in sorted(excluded):
        pieces.append(data[pos:starts[i]])
        pos = int(ends[i]) + 1
    pieces.append(data[pos:])
    return _Source(header, pa.py_buffer(b"".join(pieces)), 0, record_rows, line_rejections,
                   warnings)


def _unplain_lines(data: bytes, starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Those of the lines `rows` that are not plainly well-formed CSV (see `_PLAIN_LINE`)."""
    if not len(rows):
        return rows
    offsets = np.concatenate([starts, [len(data)]]).astype(np.int64)
    lines = pa.Array.from_buffers(pa.large_binary(), len(starts),
                                  [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    plain = pc.match_substring_regex(lines.take(pa.array(rows)), _PLAIN_LINE)
    return rows[~plain.to_numpy(zero_copy_only=False)]


def _newlines(arr: np.ndarray) -> np.ndarray:
    return _positions(arr, 10)


def _positions(arr: np.ndarray, byte: int, chunk: int = 1 << 22) -> np.ndarray:
    """Offsets of every occurrence of `byte`, int64.

    In chunks: comparing the whole file at once allocates a file-sized mask, and its page
    faults made this three times slower on 270 MB.
    """
    mask = np.empty(min(chunk, len(arr)), dtype=bool)
    found = []
    for start in range(0, len(arr), chunk):
        part = arr[start:start + chunk]
        np.equal(part, byte, out=mask[:len(part)])
        found.append(np.flatnonzero(mask[:len(part)]) + start)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _ends_in_quote(line: bytes) -> bool:
    """Whether a CSV line ends inside a quoted value, read as pyarrow reads it.

    A quote opens a value only at the start of a field; inside, a doubled quote is a literal
    quote; elsewhere a quote is an ordinary character.
    """
    in_quote, at_start, i, n = False, True, 0, len(line)
    while i < n:
        c = line[i]
        if in_quote:
            if c == 34:
                if i + 1 < n and line[i + 1] == 34:
                    i += 2
                    continue
                in_quote = False
        elif c == 34 and at_start:
            in_quote = True
        elif c == 44:
            at_start = True
            i += 1
            continue
        at_start = False
        i += 1
    return in_quote


def _to_utf8(data: bytes, path: Path) -> tuple[bytes, str | None]:
    """The file as UTF-8, and a note when it was not.

    A file in which no non-ASCII line is valid UTF-8 is read as Windows-1252 (what Excel on
    Windows writes). In a UTF-8 file, lines that are not UTF-8 are read as Windows-1252 too and
    named in the note: one pasted line should not cost the row.
    """
    bad = _invalid_utf8_positions(data)
    if not bad:
        return data, None
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = _newlines(arr)
    bad_lines = np.unique(np.searchsorted(newlines, bad))
    high_lines = np.unique(np.searchsorted(newlines, np.flatnonzero(arr >= 0x80)))
    shown = ", ".join(str(i + 1) for i in bad_lines[:5]) + (" ..." if len(bad_lines) > 5 else "")
    if len(bad_lines) == len(high_lines):
        return (_decode_1252(data).encode("utf-8"),
                f"{path.name} is not UTF-8 (row {bad_lines[0] + 1} is the first that is not); "
                f"read as Windows-1252")
    starts = np.concatenate([[0], newlines + 1])
    pieces, pos = [], 0
    for i in bad_lines:
        a = int(starts[i])
        b = int(newlines[i]) if i < len(newlines) else len(data)
        pieces += [data[pos:a], _decode_1252(data[a:b]).encode("utf-8")]
        pos = b
    pieces.append(data[pos:])
    return (b"".join(pieces),
            f"{path.name}: {len(bad_lines)} row(s) not UTF-8 ({shown}); read as Windows-1252")


def _invalid_utf8_positions(data: bytes, chunk: int = 1 << 24) -> list[int]:
    """Byte offset of the first invalid UTF-8 byte of every line that has one.

    Decodes in chunks so that memory does not grow with the file.
    """
    bad: list[int] = []
    view = memoryview(data)
    pos, n = 0, len(data)
    while pos < n:
        last = pos + chunk >= n
        try:
            _, used = codecs.utf_8_decode(view[pos:pos + chunk], "strict", last)
        except UnicodeDecodeError as exc:
            bad.append(pos + exc.start)
            nxt = data.find(b"\n", pos + exc.start)
            pos = n if nxt < 0 else nxt + 1
            continue
        if used == 0:  # only an incomplete sequence is left
            break
        pos += used
    return bad


def _decode_1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # five bytes are undefined in cp1252; Latin-1 maps every byte
        return data.decode("latin-1")


def _parse(source: _Source, path: Path) -> tuple[pa.Table, list[Rejection]] | None:
    """Parse the data lines, every column as text; None if records and lines do not match.

    Rows with the wrong number of fields become rejections whose `row` is, for now, the
    index of the record in `source.record_rows`.
    """
    malformed: list[Rejection] = []
    expected = len(source.header)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        number = row.number - 1 if row.number is not None else -1
        malformed.append(Rejection(
            number, "*", f"malformed: {row.actual_columns} fields, expected {expected}",
            row.text[:200]))
        return "skip"

    names = [f"c{i}" for i in range(expected)]

    def read(serial: bool) -> pa.Table:
        stream = (pa.BufferReader(source.data) if source.data is not None
                  else pa.OSFile(str(path)))
        with stream:
            stream.seek(source.offset)
            return pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(use_threads=not serial, block_size=1 << 22,
                                               column_names=names),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False, quoted_strings_can_be_null=False),
            )

    try:
        table = read(serial=False)
        if any(r.row < 0 for r in malformed):
            # Parallel parsing loses record numbers; serial parsing keeps them.
            malformed.clear()
            table = read(serial=True)
    except pa.ArrowInvalid as exc:
        raise CatalogueError(f"{path.name} is not a readable CSV file: {exc}") from exc
    if len(malformed) + table.num_rows != len(source.record_rows):
        return None  # a quoted value ran over a line end: some line is not accounted for
    return table, malformed


def _resolve_columns(found: list[str], path: Path) -> dict[str, int]:
    """Map canonical names to the position of their source column, or fail naming what is
    missing or ambiguous."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(found):
        positions.setdefault(name.strip().lstrip("\ufeff").lower(), []).append(i)
    resolved: dict[str, int] = {}
    for canon, aliases in ALIASES.items():
        for alias in aliases:
            if alias in positions:
                where = positions[alias]
                if len(where) > 1:
                    raise CatalogueError(
                        f"{path.name}: column {found[where[0]]!r} appears {len(where)} times in "
                        f"the header (columns {', '.join(str(w + 1) for w in where)}); "
                        f"rename or remove the extra ones")
                resolved[canon] = where[0]
                break
    missing = [c for c in REQUIRED if c not in resolved]
    if missing:
        shown = ", ".join(n[:40] for n in found[:30]) + (" ..." if len(found) > 30 else "")
        raise CatalogueError(
            f"{path.name}: missing required column(s) {', '.join(missing)}; found: {shown}")
    return resolved


def _cell(column: pa.ChunkedArray, i: int) -> str:
    value = column[i].as_py()
    return "" if value is None else str(value)[:200]


EMPTY_REQUIRED = "empty: required"


def _parse_numeric(col: str, column: pa.ChunkedArray,
                   required: bool) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """Parse a text column to float64: values (NaN where empty) and problem rows."""
    if col == "time_signature" and pc.any(pc.match_substring(column, "/")).as_py():
        # Kaggle's SpotifyFeatures.csv writes time signatures as "4/4": the beats are the N.
        column = pc.replace_substring_regex(column, r"^\s*(\d+)\s*/\s*\d+\s*$", r"\1")
    try:
        # A copy: cells found unknown later are set to NaN in place.
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).copy()
        empty = np.zeros(len(values), dtype=bool)
    except pa.ArrowInvalid:  # note names, Major/Minor, spaces, empty cells or junk
        text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).str.strip()
        names = NOTE_NAMES if col == "key" else MODE_NAMES if col == "mode" else {}
        text = text.map(lambda v: names.get(v.upper(), v))
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        empty = (text == "").to_numpy()
    values[~np.isfinite(values)] = np.nan  # "inf" and "nan" parse as floats but are no values
    problems = [(np.flatnonzero(np.isnan(values) & ~empty), "not a number")]
    if required:
        problems.append((np.flatnonzero(empty), EMPTY_REQUIRED))
    lo, hi = schema.RANGES[col]
    with np.errstate(invalid="ignore"):
        problems.append((np.flatnonzero((values < lo) | (values > hi)),
                         f"out of range: expected {lo:g}..{hi:g}"))
        if schema.BY_NAME[col].integer:
            fraction = ~np.isnan(values) & (values != np.round(values))
            problems.append((np.flatnonzero(fraction), "not a whole number"))
    return values, problems


def _parse_bool(column: pa.ChunkedArray) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """True/False as float64 1/0 (NaN where unknown) and problem rows."""
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(column))
    true = pc.is_in(upper, pa.array(["TRUE", "1", "YES"])).to_numpy(zero_copy_only=False)
    false = pc.is_in(upper, pa.array(["FALSE", "0", "NO", ""])).to_numpy(zero_copy_only=False)
    # An empty cell means "not marked explicit", as Spotify reports it.
    values = np.where(true, 1.0, np.where(false, 0.0, np.nan))
    return values, [(np.flatnonzero(~true & ~false), "not true/false")]


_DATE = r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$"


def _check_dates(column: pa.ChunkedArray) -> tuple[pa.Array, list[tuple[np.ndarray, str]]]:
    """Release dates `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; others become null and are reported.

    "0000" (Kaggle's unknown date) and empty cells are null without a report.
    """
    text = one_chunk(column)
    parts = pc.extract_regex(text, _DATE)
    matched = parts.is_valid().to_numpy(zero_copy_only=False)
    empty = pc.is_in(text, pa.array(["", "0000", "0"])).to_numpy(zero_copy_only=False)
    year, month, day = (_date_part(parts, name) for name in ("y", "m", "d"))
    lo, hi = schema.RANGES["year"]
    first = max(lo, 1)
    # -1 marks a part the date does not have.
    out_of_range = matched & ~empty & (
        (year < first) | (year > hi) | (month == 0) | (month > 12) | (day == 0) | (day > 31))
    unreadable = ~matched & ~empty
    null = unreadable | out_of_range | empty
    cleaned = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), text)
    return cleaned, [
        (np.flatnonzero(unreadable), "unreadable: expected YYYY, YYYY-MM or YYYY-MM-DD"),
        (np.flatnonzero(out_of_range), f"out of range: expected a date in {first:g}..{hi:g}"),
    ]


def _date_part(parts: pa.Array, name: str) -> np.ndarray:
    """One part of the matched dates as int64, -1 where absent or unmatched."""
    part = pc.struct_field(parts, name)
    part = pc.if_else(pc.equal(part, ""), pa.scalar(None, pa.string()), part)
    as_float = pc.cast(part, pa.float64()).to_numpy(zero_copy_only=False)
    return np.nan_to_num(as_float, nan=-1).astype(np.int64)


def split_names(column: pa.ChunkedArray | pa.Array, drop_empty: bool = True) -> pa.ListArray:
    """Split artists cells into lists of names; empty names are dropped unless `drop_empty`
    is False.

    Kaggle cells are Python list literals (`['A', "B's"]`), not always valid ones
    (`['Rock 'n', 'Roll']`); other exports hold one name, or several separated by semicolons.
    Commas are not separators: "Earth, Wind & Fire" is one.
    """
    text = pc.utf8_trim_whitespace(one_chunk(column))
    is_list = pc.and_(pc.starts_with(text, "["), pc.ends_with(text, "]"))
    lists = None
    if pc.any(is_list).as_py():
        # Cells written as Python writes a list (`['A', "B's"]`) split with plain string
        # operations; regular expressions over 1.2M cells took seconds longer.
        canonical = pc.and_(pc.or_(pc.starts_with(text, "['"), pc.starts_with(text, '["')),
                            pc.or_(pc.ends_with(text, "']"), pc.ends_with(text, '"]')))
        lists = pc.split_pattern_regex(pc.utf8_slice_codeunits(text, 2, -2), r"['\"], ['\"]")
        # The rest get a real reader: lists spaced otherwise, backslash escapes, and names in
        # double quotes holding quote-comma-quote themselves. A few per cent of Kaggle rows.
        tricky = pc.and_(is_list, pc.or_(pc.invert(canonical), pc.match_substring(text, "\\")))
        doubled = np.flatnonzero(pc.match_substring(text, '"').to_numpy(zero_copy_only=False))
        tricky = tricky.to_numpy(zero_copy_only=False)
        if len(doubled):
            inner_sep = pc.match_substring_regex(text.take(pa.array(doubled)),
                                                 r"\"[^\"]*'\s*,\s*'")
            tricky[doubled[inner_sep.to_numpy(zero_copy_only=False)]] = True
        tricky_rows = np.flatnonzero(tricky)
        if len(tricky_rows):
            cells = text.take(pa.array(tricky_rows)).to_pylist()
            parsed = pa.array([_split_literal(c) for c in cells], pa.list_(pa.string()))
            lists = pc.if_else(pa.array(tricky),
                               _scatter_lists(len(text), tricky_rows, parsed), lists)
    if not pc.all(is_list).as_py():  # only computed when needed: it costs memory at 1.2M rows
        as_plain = pc.split_pattern_regex(text, r"\s*;\s*")
        lists = as_plain if lists is None else pc.if_else(is_list, lists, as_plain)
    offsets = pc.subtract(lists.offsets, lists.offsets[0])  # as list_flatten counts them
    parents = pc.list_parent_indices(lists).to_numpy()
    values = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    del lists  # 1.2M rows: each copy of the names held at once raised ingest's peak
    empty = pc.equal(values, "")
    if not drop_empty or not pc.any(empty).as_py():
        return pa.ListArray.from_arrays(offsets, values)
    keep = pc.invert(empty).to_numpy(zero_copy_only=False)
    counts = np.bincount(parents[keep], minlength=len(text))
    offsets = np.zeros(len(text) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values.filter(pa.array(keep)))


_CLOSES = re.compile(r"\s*(?:$|,\s*['\"]|,\s*$)")


def _split_literal(cell: str) -> list[str]:
    """The names in a Python-list-like cell, tolerating unescaped quotes inside names.

    A quote ends a name only where a separator or the closing bracket follows it.
    """
    s = cell.strip()[1:-1]
    names: list[str] = []
    i, n = 0, len(s)
    while i < n:
        while i < n and (s[i].isspace() or s[i] == ","):
            i += 1
        if i >= n:
            break
        quote = s[i]
        if quote not in "'\"":
            end = s.find(",", i)
            end = n if end < 0 else end
            names.append(s[i:end].strip())
            i = end + 1
            continue
        i += 1
        chars: list[str] = []
        while i < n:
            c = s[i]
            if c == "\\" and i + 1 < n:
                chars.append(s[i + 1])
                i += 2
                continue
            i += 1
            if c == quote and _CLOSES.match(s, i):
                break
            chars.append(c)
        names.append("".join(chars))
    return names


def _scatter_lists(n: int, rows: np.ndarray, lists: pa.ListArray) -> pa.ListArray:
    """A list array of length n holding `lists` at `rows` and empty lists elsewhere."""
    counts = np.zeros(n, dtype=np.int64)
    counts[rows] = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pc.list_flatten(lists))


def one_chunk(array: pa.ChunkedArray | pa.Array) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _map_values(lists: pa.ListArray, fn: Callable[[pa.Array], pa.Array]) -> pa.ListArray:
    """Apply an element-wise function to every item of a list array, keeping its shape."""
    return pa.ListArray.from_arrays(lists.offsets, fn(lists.values))


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def derived_id(kind: str, text: str) -> str:
    """A stable Spotify-shaped id (22 base62 characters) for something known only by name.

    `kind` keeps kinds apart ("artist", "album"): the same text gives different ids for
    different kinds. Names are compared after Unicode normalisation (NFKC), case folding and
    collapsing whitespace, so "The  Band" and "the band" get the same id. 128 bits of BLAKE2b
    make a collision between two names of a catalogue practically impossible.
    """
    key = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    number = int.from_bytes(
        hashlib.blake2b(f"{kind}\x1f{key}".encode(), digest_size=16).digest(), "big")
    chars = []
    for _ in range(22):  # 62**22 > 2**128: every digest fits
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(reversed(chars))


def artist_keys(names: pa.Array) -> pa.Array:
    """`derived_id("artist", name)` for every name; each distinct name is hashed once."""
    uniques = pc.unique(names)
    ids = pa.array([derived_id("artist", v) for v in uniques.to_pylist()], pa.string())
    return ids.take(pc.index_in(names, uniques))


def build_table(texts: dict[str, pa.ChunkedArray], values: dict[str, np.ndarray]) -> pa.Table:
    """Assemble the normalised catalogue table.

    Schema: id, name, artists (list<string>), artist_ids (list<string>, ids derived from the
    names where the source has none), album, album_id, release_date, genre, subgenre (strings,
    where the source has them), the audio features (float32; key, mode as int8), year (int16,
    null when unknown), explicit (bool, null when unknown), and the other optional numbers
    where present (int16, null when unknown).
    """
    artists = split_names(texts["artists"])
    if "artist_ids" not in texts:
        artist_ids = _map_values(artists, artist_keys)
    else:
        artist_ids = split_names(texts["artist_ids"], drop_empty=False)
        # Where the id list does not line up with the names (an empty cell, an empty id among
        # them), ids derived from the names are safer than merging unrelated artists under one.
        differ = pc.not_equal(pc.list_value_length(artist_ids),
                              pc.list_value_length(artists)).to_numpy(zero_copy_only=False)
        empty_id = pc.equal(pc.list_flatten(artist_ids), "").to_numpy(zero_copy_only=False)
        differ[pc.list_parent_indices(artist_ids).to_numpy()[empty_id]] = True
        rows = np.flatnonzero(differ)
        if len(rows):
            derived = _map_values(artists.take(pa.array(rows)), artist_keys)
            artist_ids = pc.if_else(pa.array(differ), _scatter_lists(len(artists), rows, derived),
                                    artist_ids)
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "id": texts["id"], "name": texts["name"], "artists": artists, "artist_ids": artist_ids}
    for col in ("album", "album_id", "release_date", "genre", "subgenre"):
        if col in texts:
            cols[col] = texts[col]
    for col in AUDIO_FEATURES:
        kind = pa.int8() if schema.BY_NAME[col].integer else pa.float32()
        unknown = np.isnan(values[col]) if col in MAY_BE_UNKNOWN else None
        cols[col] = pa.array(values[col].astype(kind.to_pandas_dtype()), kind, mask=unknown)
    year = _year(values.get("year"), texts.get("release_date"))
    if year is not None:
        cols["year"] = pa.array(year.astype(np.int16), pa.int16(), mask=year <= 0)
    for col in OPTIONAL_NUMERIC:
        if col in values and col != "year":
            v = values[col]
            cols[col] = pa.array(np.nan_to_num(v, nan=0).astype(np.int16), pa.int16(),
                                 mask=np.isnan(v))
    if "explicit" in values:
        v = values["explicit"]
        cols["explicit"] = pa.array(v == 1, pa.bool_(), mask=np.isnan(v))
    return pa.table(cols)


def _year(year: np.ndarray | None, release_date: pa.ChunkedArray | None) -> np.ndarray | None:
    """Release year from the year column, else from the (checked) date; 0 = unknown."""
    from_date = None
    if release_date is not None:
        head = pc.utf8_slice_codeunits(release_date, 0, 4)
        as_int = pc.cast(head, pa.int64())  # dates were checked: null or YYYY at the start
        from_date = as_int.to_numpy(zero_copy_only=False)
        from_date = np.nan_to_num(from_date.astype(np.float64), nan=0).astype(np.int64)
    if year is None:
        return from_date
    out = np.nan_to_num(year, nan=0).astype(np.int64)
    if from_date is not None:
        out = np.where(out > 0, out, from_date)
    return out
