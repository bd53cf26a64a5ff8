"""Versions of one song share a key: the core title (no version suffix) and the first artist."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from musicrec.versions import core_titles, version_keys


@pytest.mark.parametrize(("title", "core"), [
    ("Bohemian Rhapsody - 2011 Mix", "bohemian rhapsody"),
    ("Bohemian Rhapsody - Remastered 2011", "bohemian rhapsody"),
    ("Bohemian Rhapsody", "bohemian rhapsody"),
    ("Redbone - Edit", "redbone"),
    ("After the Storm (feat. Tyler, The Creator & Bootsy Collins)", "after the storm"),
    ("Get Lucky (feat. Pharrell Williams) - Radio Edit", "get lucky"),
    ("Hotel California - Live", "hotel california"),
    ("Wish You Were Here [Remastered]", "wish you were here"),
    ("Song 2 – Live at Glastonbury", "song 2"),
    ("Jay-Z Blue", "jay z blue"),  # a hyphen inside a word is part of the title
    ("(Untitled)", "untitled"),  # nothing but brackets: the words stay
    ("Mr. Brightside", "mr brightside"),
])
def test_core_title(title: str, core: str) -> None:
    assert core_titles(pa.array([title])).to_pylist() == [core]


def test_versions_share_a_key_only_with_the_same_first_artist() -> None:
    titles = pa.array(["Bohemian Rhapsody - 2011 Mix", "Bohemian Rhapsody - Remastered 2011",
                       "Bohemian Rhapsody", "Bohemian Rhapsody", "Under Pressure"])
    artists = np.array([0, 0, 0, 1, 0])
    keys = version_keys(titles, artists, n_artists=2)
    assert keys[0] == keys[1] == keys[2]
    assert len({keys[2], keys[3], keys[4]}) == 3
