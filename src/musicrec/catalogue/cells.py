"""Cell checks: each column's text read as numbers, booleans and dates, with the rows and
reasons of what cannot be read; long ids, unknown cells and repeated ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from musicrec import schema
from musicrec.catalogue.artists import one_chunk, split_names
from musicrec.catalogue.columns import (
    MAX_ID_CHARS,
    MODE_NAMES,
    NOTE_NAMES,
    WARN_UNREADABLE_SHARE,
)
from musicrec.catalogue.report import CELL_UNKNOWN, Rejection


def cell_text(column: pa.ChunkedArray, i: int) -> str:
    value = column[i].as_py()
    return "" if value is None else str(value)[:200]


EMPTY_REQUIRED = "empty: required"


def parse_numeric(col: str, column: pa.ChunkedArray,
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


def parse_bool(column: pa.ChunkedArray) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """True/False as float64 1/0 (NaN where unknown) and problem rows."""
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(column))
    true = pc.is_in(upper, pa.array(["TRUE", "1", "YES"])).to_numpy(zero_copy_only=False)
    false = pc.is_in(upper, pa.array(["FALSE", "0", "NO", ""])).to_numpy(zero_copy_only=False)
    # An empty cell means "not marked explicit", as Spotify reports it.
    values = np.where(true, 1.0, np.where(false, 0.0, np.nan))
    return values, [(np.flatnonzero(~true & ~false), "not true/false")]


_DATE = r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$"


def check_dates(column: pa.ChunkedArray) -> tuple[pa.Array, list[tuple[np.ndarray, str]]]:
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


def long_ids(column: pa.ChunkedArray, split: bool) -> np.ndarray:
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


def blank_unknown_cells(unknown: list[tuple[np.ndarray, str, str]], keep: np.ndarray,
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
                f"(e.g. {cell_text(frame[col], int(rows[0]))!r}); treated as unknown")
        for found, c, reason in unknown:
            if c == col:
                reports += [Rejection(int(row_numbers[i]), col, reason, cell_text(frame[col], i),
                                      CELL_UNKNOWN) for i in found[keep[found]]]
        if col in values:
            values[col][rows] = np.nan
    return reports


def duplicates(ids: pa.ChunkedArray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
