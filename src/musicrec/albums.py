"""Albums of a library, grouped from its catalogue table at first use.

A library stores songs, not albums: an album here is the set of songs that share an album id
(or, where the catalogue has none, an album name by one primary artist). Nothing is written to
disk; `Albums.of(lib)` builds the grouping once per opened library from Arrow columns (about
0.3 s for 1.2M songs) and keeps only numpy arrays and one Arrow string array.

Ids: the catalogue's album id where a song has one; otherwise
`derived_id("album", "<primary artist id>\\x1f<album name>")`, and for a song with no album at
all `derived_id("album", "track\\x1f<track id>")` (the song is then its own single). Derived ids
are stable across rebuilds of the same catalogue, URL-safe and shaped like Spotify's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from musicrec.catalogue import derived_id
from musicrec.records import Reader, column_reader
from musicrec.search import TextIndex

if TYPE_CHECKING:
    from musicrec.library import Library

_BUILD_LOCK = threading.Lock()


def _text(table: pa.Table, name: str) -> pa.Array:
    """A string column with nulls and blanks as null (a column the table lacks: all null)."""
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    col = table.column(name).combine_chunks()
    blank = pc.equal(pc.utf8_trim_whitespace(col), "")
    return pc.if_else(pc.fill_null(blank, False), pa.scalar(None, pa.string()), col)


def _derive(kind_prefix: str, keys: pa.Array) -> pa.Array:
    """`derived_id("album", prefix + key)` per value, each distinct value hashed once."""
    uniques = pc.unique(keys)
    ids = pa.array([derived_id("album", kind_prefix + v) for v in uniques.to_pylist()],
                   pa.string())
    return ids.take(pc.index_in(keys, uniques))


@dataclass
class Albums:
    """Every album of one library.

    Attributes:
        ids: album id of each album code, Arrow strings (a,).
        code: int32 (n,): the album code of every song.
        first: int64 (a,): the album's first song in catalogue order (its name, date, artists).
        order: int64 (n,): songs sorted by album, catalogue order within one album.
        offsets: int64 (a + 1,): songs of album k are order[offsets[k]:offsets[k + 1]].
        named: bool (a,): whether the album has a name in the catalogue (else it is a
            stand-in single named after its only song).
    """

    ids: pa.Array
    code: np.ndarray
    first: np.ndarray
    order: np.ndarray
    offsets: np.ndarray
    named: np.ndarray
    _keys: np.ndarray
    _key_order: np.ndarray
    _text: TextIndex | None = None

    @classmethod
    def of(cls, lib: Library) -> Albums:
        """The albums of an opened library, built at the first call and kept on it."""
        found = lib.__dict__.get("_albums")
        if found is None:
            with _BUILD_LOCK:
                found = lib.__dict__.get("_albums")
                if found is None:
                    found = cls.build(lib.table)
                    lib.__dict__["_albums"] = found
        return found

    @classmethod
    def build(cls, table: pa.Table) -> Albums:
        from musicrec.library import key_hashes

        n = table.num_rows
        album_id = _text(table, "album_id")
        album = _text(table, "album")
        keys = album_id
        need = pc.is_null(album_id)
        if album_id.null_count:
            # No id: the album name by its primary artist; no name either: the song itself.
            primary = pc.fill_null(pc.list_element(
                table.column("artist_ids").combine_chunks(), 0), "")
            by_name = pc.binary_join_element_wise(primary, album, "\x1f")
            named = pc.and_(need, pc.is_valid(album))
            if pc.any(named).as_py():
                keys = pc.replace_with_mask(keys, named, _derive("", pc.filter(by_name, named)))
            orphan = pc.and_(need, pc.is_null(album))
            if pc.any(orphan).as_py():
                keys = pc.replace_with_mask(keys, orphan, _derive(
                    "track\x1f", pc.filter(table.column("id").combine_chunks(), orphan)))
        encoded = pc.dictionary_encode(keys)
        code = encoded.indices.to_numpy().astype(np.int32)
        ids = encoded.dictionary
        order = np.argsort(code, kind="stable").astype(np.int64)
        counts = np.bincount(code, minlength=len(ids))
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        first = order[offsets[:-1]]
        named = pc.is_valid(album).to_numpy(zero_copy_only=False)[first] if n else \
            np.zeros(0, dtype=bool)
        hashes = key_hashes(ids)
        key_order = np.argsort(hashes, kind="stable")
        return cls(ids, code, first, order, offsets, named, hashes[key_order], key_order)

    def __len__(self) -> int:
        return len(self.ids)

    def code_of(self, album_id: str) -> int | None:
        """The album code of an id, or None."""
        from musicrec.library import _lookup

        return _lookup(self._keys, self._key_order, self._id_reader, [album_id])[0]

    @cached_property
    def _id_reader(self) -> Reader:
        return column_reader(pa.chunked_array([self.ids]))

    def id(self, code: int) -> str:
        return str(self.ids[code].as_py())

    def rows(self, code: int) -> np.ndarray:
        """Songs of one album, in catalogue order."""
        return self.order[self.offsets[code]:self.offsets[code + 1]]

    def size(self, code: int) -> int:
        return int(self.offsets[code + 1] - self.offsets[code])

    def codes_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """Distinct album codes of some songs, in the order first met."""
        codes = self.code[rows]
        _, first = np.unique(codes, return_index=True)
        return codes[np.sort(first)]

    def text(self, table: pa.Table) -> TextIndex:
        """A word index over "album name, primary artist" per album (built at first use)."""
        if self._text is None:
            with _BUILD_LOCK:
                if self._text is None:
                    self._text = TextIndex.build(self.documents(table))
        return self._text

    def documents(self, table: pa.Table) -> pa.Array:
        """"album name artist" per album code."""
        firsts = pa.array(self.first)
        name = pc.coalesce(_text(table, "album").take(firsts),
                           table.column("name").combine_chunks().take(firsts))
        artist = pc.fill_null(pc.list_element(
            table.column("artists").combine_chunks().take(firsts), 0), "")
        return pc.binary_join_element_wise(name, artist, " ")
