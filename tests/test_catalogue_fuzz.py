"""Property test of ingest: random damage to valid rows never crashes and never loses a line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicrec.catalogue import MAX_ID_CHARS, read_catalogue
from musicrec.errors import CatalogueError
from musicrec.schema import RANGES

HEADER = ("id,name,album,album_id,artists,artist_ids,track_number,disc_number,explicit,"
          "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
          "liveness,valence,tempo,duration_ms,time_signature,year,release_date")
GOOD = ["", "Song", "Album", "alb1", "\"['Ana Bel', 'Bo']\"", "\"['a1', 'b2']\"", "1", "1",
        "False", "0.5", "0.6", "5", "-7.5", "1", "0.05", "0.2", "0.0", "0.1", "0.4", "120.0",
        "200000", "4", "1999", "1999-01-02"]

# Any character a CSV cell might hold, except line breaks (they would change the line count
# the test expects) and NUL (a binary file, refused as a whole).
text = st.text(st.characters(blacklist_categories=("Cs",),
                             blacklist_characters="\n\r\x00"), max_size=12)
junk = st.one_of(text, st.sampled_from(["", "nan", "inf", "-1", "1e999", "4/4", "NA", "0000",
                                        "3000-01-01", "[]", "['']", '"', "''", "x" * 300]))


@st.composite
def damaged_line(draw: st.DrawFn, index: int) -> str:
    cells = list(GOOD)
    cells[0] = f"t{draw(st.integers(0, 30))}" if draw(st.booleans()) else f"u{index}"
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["value", "drop", "extra", "quote", "unicode"]))
        at = draw(st.integers(0, len(cells) - 1))
        if kind == "value":
            cells[at] = draw(junk)
        elif kind == "drop" and len(cells) > 1:
            del cells[at]
        elif kind == "extra":
            cells.insert(at, draw(junk))
        elif kind == "quote":
            cell = cells[at]
            pos = draw(st.integers(0, len(cell)))
            cells[at] = cell[:pos] + '"' + cell[pos:]
        elif kind == "unicode":
            cells[at] = '"' + draw(text).replace('"', '""') + '"'
    return ",".join(cells)


@st.composite
def csv_file(draw: st.DrawFn) -> tuple[list[str], str]:
    n = draw(st.integers(1, 12))
    lines = [draw(damaged_line(i)) if draw(st.integers(0, 9)) else "" for i in range(n)]
    return [HEADER, *lines], draw(st.sampled_from(["\n", "\r\n", "\r"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_file())
def test_random_damage_is_accounted_for(case: tuple[list[str], str]) -> None:
    lines, newline = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
        try:
            cat = read_catalogue(path)
        except CatalogueError as exc:
            assert "\n" not in str(exc)
            return
    data_lines = sum(1 for line in lines[1:] if line)
    assert cat.rows_read == data_lines
    assert cat.rows_kept + cat.rows_rejected + cat.duplicates == data_lines
    assert all(2 <= r.row <= len(lines) for r in cat.rejections)
    assert all(lines[r.row - 1] != "" for r in cat.rejections)
    t = cat.table
    for col, (lo, hi) in RANGES.items():
        if col in t.column_names:
            values = t.column(col).drop_null().to_numpy().astype(np.float64)
            assert np.all((values >= lo) & (values <= hi)), col
            assert np.all(np.isfinite(values)), col
    ids = t.column("id")
    assert pc.min(pc.utf8_length(ids)).as_py() >= 1
    assert pc.max(pc.utf8_length(ids)).as_py() <= MAX_ID_CHARS
    assert len(set(ids.to_pylist())) == t.num_rows
    artists, artist_ids = t.column("artists").to_pylist(), t.column("artist_ids").to_pylist()
    assert all(a and len(a) == len(i) and all(i) for a, i in zip(artists, artist_ids,
                                                                  strict=True))
