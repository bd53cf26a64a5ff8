"""Which songs are versions of one another: the same core title by the same first artist.

Spotify titles mark a version with a suffix after " - " ("Bohemian Rhapsody - Remastered 2011",
"- 2011 Mix", "- Live", "- Radio Edit") or in brackets ("(feat. Syd)", "[Remastered]"). The
core title drops both, so every such version shares one key with the original, and the
recommender never offers another version of a seed, nor two versions of one song.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# A spaced hyphen or dash starts a version suffix; a hyphen inside a word ("Jay-Z") does not.
_SUFFIX = r"\s+[-\x{2013}\x{2014}]\s+.*$"
_BRACKETS = r"\s*[\(\[][^\)\]]*[\)\]]"
_NOT_WORD = r"[^\p{L}\p{N}]+"


def core_titles(titles: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lower-case titles without version suffixes, brackets or punctuation.

    A title that would become empty ("(Untitled)", "- - -") keeps its own words instead.
    """
    lower = pc.utf8_lower(pc.fill_null(titles, ""))
    stripped = pc.replace_substring_regex(
        pc.replace_substring_regex(lower, _BRACKETS, " "), _SUFFIX, "")
    core = pc.utf8_trim_whitespace(pc.replace_substring_regex(stripped, _NOT_WORD, " "))
    whole = pc.utf8_trim_whitespace(pc.replace_substring_regex(lower, _NOT_WORD, " "))
    out = pc.if_else(pc.equal(pc.utf8_length(core), 0), whole, core)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def version_keys(titles: pa.Array | pa.ChunkedArray, primary_artist: np.ndarray,
                 n_artists: int) -> np.ndarray:
    """int64 (n,): equal exactly for songs with the same core title and first artist."""
    codes = pc.dictionary_encode(core_titles(titles)).indices.to_numpy()
    return codes.astype(np.int64) * (n_artists + 1) + primary_artist.astype(np.int64)
