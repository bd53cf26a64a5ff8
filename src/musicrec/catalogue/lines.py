"""Bytes to lines: a source file split into the lines a CSV parser can be trusted with, every
other line reported with its row number (broken quotes, overlong lines, bad encodings)."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from musicrec.catalogue.columns import (
    MAX_HEADER_BYTES,
    MAX_LINE_BYTES,
)
from musicrec.catalogue.report import Rejection
from musicrec.errors import CatalogueError


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


def scan(path: Path, exact: bool = False) -> _Source:
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


def parse_lines(source: _Source, path: Path) -> tuple[pa.Table, list[Rejection]] | None:
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
