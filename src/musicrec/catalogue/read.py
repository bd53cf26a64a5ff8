"""Read a Spotify-features CSV or Parquet file into a validated, normalised catalogue table.

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

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from musicrec import schema
from musicrec.catalogue.artists import (
    artist_keys,
    map_values,
    one_chunk,
    scatter_lists,
    split_names,
)
from musicrec.catalogue.cells import (
    EMPTY_REQUIRED,
    blank_unknown_cells,
    cell_text,
    check_dates,
    duplicates,
    long_ids,
    parse_bool,
    parse_numeric,
)
from musicrec.catalogue.columns import (
    AUDIO_FEATURES,
    MAX_ID_CHARS,
    MAY_BE_UNKNOWN,
    OPTIONAL_NUMERIC,
    OPTIONAL_TEXT,
    REQUIRED,
    resolve_columns,
)
from musicrec.catalogue.lines import parse_lines, scan
from musicrec.catalogue.report import Catalogue, Rejection
from musicrec.errors import CatalogueError


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
    source = scan(path)
    columns = resolve_columns(source.header, path)
    parsed_source = parse_lines(source, path)
    if parsed_source is None:
        source = scan(path, exact=True)
        parsed_source = parse_lines(source, path)
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
        columns = resolve_columns(header, path)
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
            values[col], found = parse_numeric(col, frame[col], required=required)
            for rows, why in found:
                blank = not required or (col in MAY_BE_UNKNOWN and why == EMPTY_REQUIRED)
                (unknown if blank else problems).append((rows, col, why))
    if "explicit" in frame:
        values["explicit"], found = parse_bool(frame["explicit"])
        unknown += [(rows, "explicit", reason) for rows, reason in found]
    cleaned: dict[str, pa.Array] = {}
    if "release_date" in frame:
        cleaned["release_date"], found = check_dates(frame["release_date"])
        unknown += [(rows, "release_date", reason) for rows, reason in found]
    for col in ("artist_ids", "album_id"):
        if col in frame:
            long_rows = long_ids(frame[col], split=col == "artist_ids")
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
        rejections += [Rejection(int(row_numbers[i]), col, reason, cell_text(frame[col], i))
                       for i in rows]
    keep = ~bad
    dup, first_of = duplicates(frame["id"], keep)
    rejections += [Rejection(int(row_numbers[i]), "id",
                             f"duplicate: same id as row {row_numbers[first_of[i]]}, merged",
                             cell_text(frame["id"], i)) for i in np.flatnonzero(dup)]
    keep &= ~dup
    rejections += blank_unknown_cells(unknown, keep, frame, values, row_numbers, warnings)
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


def _describe(r: Rejection) -> str:
    return f"row {r.row}, column {r.column}: {r.reason}"


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
        artist_ids = map_values(artists, artist_keys)
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
            derived = map_values(artists.take(pa.array(rows)), artist_keys)
            artist_ids = pc.if_else(pa.array(differ), scatter_lists(len(artists), rows, derived),
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
