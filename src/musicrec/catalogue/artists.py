"""Artist names and ids: splitting a cell into names (Python-list literals, separators),
and the stable ids derived from names where a source has none."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


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
                               scatter_lists(len(text), tricky_rows, parsed), lists)
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


def scatter_lists(n: int, rows: np.ndarray, lists: pa.ListArray) -> pa.ListArray:
    """A list array of length n holding `lists` at `rows` and empty lists elsewhere."""
    counts = np.zeros(n, dtype=np.int64)
    counts[rows] = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pc.list_flatten(lists))


def one_chunk(array: pa.ChunkedArray | pa.Array) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def map_values(lists: pa.ListArray, fn: Callable[[pa.Array], pa.Array]) -> pa.ListArray:
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
