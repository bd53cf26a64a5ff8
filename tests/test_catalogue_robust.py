"""Issue 11, ingest: nothing lost, nothing crashes.

Every non-blank data line is kept, rejected or merged as a duplicate, with its spreadsheet row
number; an optional column's bad value blanks that cell and keeps the row; damaged files give
one-line `CatalogueError`s, never tracebacks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from musicrec.catalogue import (
    CELL_UNKNOWN,
    MAX_ID_CHARS,
    REJECTED,
    Catalogue,
    derived_id,
    read_catalogue,
    split_names,
)
from musicrec.errors import CatalogueError

HEADER = ("id,name,album,album_id,artists,artist_ids,track_number,disc_number,explicit,"
          "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
          "liveness,valence,tempo,duration_ms,time_signature,year,release_date")
COLUMNS = HEADER.split(",")
GOOD = {"id": "t1", "name": "Song", "album": "Album", "album_id": "alb1",
        "artists": "['Ana Bel']", "artist_ids": "['a1']", "track_number": "1",
        "disc_number": "1", "explicit": "False", "danceability": "0.5", "energy": "0.6",
        "key": "5", "loudness": "-7.5", "mode": "1", "speechiness": "0.05",
        "acousticness": "0.2", "instrumentalness": "0.0", "liveness": "0.1", "valence": "0.4",
        "tempo": "120.0", "duration_ms": "200000", "time_signature": "4", "year": "1999",
        "release_date": "1999-01-02"}


def row(**cells: str) -> str:
    """A Kaggle-schema line: good values, with `cells` replaced (quoted when they need it)."""
    values = {**GOOD, **cells}
    return ",".join(_quote(values[c]) for c in COLUMNS)


def _quote(value: str) -> str:
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write(tmp_path: Path, lines: list[str], name: str = "c.csv", newline: str = "\n",
          encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


def accounted(cat: Catalogue) -> None:
    """Every data line is kept, rejected or merged; each rejected row is counted once."""
    assert cat.rows_kept + cat.rows_rejected + cat.duplicates == cat.rows_read
    assert sum(cat.rejected_by_reason().values()) == cat.rows_rejected


# 1. Optional columns never reject a row.

@pytest.mark.parametrize(("column", "bad"), [
    ("time_signature", "x"), ("time_signature", "9"), ("year", "abc"), ("year", "2500"),
    ("popularity", "loud"), ("track_number", "1.5"), ("disc_number", "-3"),
    ("explicit", "maybe"), ("release_date", "soon"),
])
def test_bad_optional_value_blanks_the_cell_and_keeps_the_row(
        tmp_path: Path, column: str, bad: str) -> None:
    header = HEADER + ",popularity"
    # No date to take the year from, so a bad year stays unknown.
    lines = [header, row(id="t1") + ",50",
             row(id="t2", **{"release_date": "", column: bad}) + ",50"]
    if column == "popularity":
        lines[2] = row(id="t2", release_date="") + f",{bad}"
    cat = read_catalogue(write(tmp_path, lines))
    assert cat.table.column("id").to_pylist() == ["t1", "t2"]
    if column != "release_date":
        assert cat.table.column(column).to_pylist()[1] is None
    [report] = cat.rejections
    assert (report.row, report.column, report.value, report.action) == (3, column, bad,
                                                                        CELL_UNKNOWN)
    assert cat.rows_rejected == 0 and not cat.rejected_by_reason()
    assert sum(cat.unknown_cells_by_reason().values()) == 1
    accounted(cat)


def test_report_tells_rejected_rows_from_unknown_cells(tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER, row(id="t1", danceability="7"), row(id="t2", year="abc"),
                            row(id="t3", danceability="abc", year="abc")])
    cat = read_catalogue(path)
    frame = cat.rejections_frame()
    assert list(frame.columns) == ["row", "column", "reason", "value", "action"]
    assert frame.to_dict("records")[:2] == [
        {"row": 2, "action": REJECTED, "column": "danceability",
         "reason": "out of range: expected 0..1", "value": "7"},
        {"row": 3, "action": CELL_UNKNOWN, "column": "year", "reason": "not a number",
         "value": "abc"}]
    # A rejected row's optional cells are not reported a second time.
    assert [(r.row, r.column) for r in cat.rejections] == [
        (2, "danceability"), (3, "year"), (4, "danceability")]
    assert cat.rejected_by_reason() == {"danceability: out of range": 1,
                                        "danceability: not a number": 1}
    assert cat.unknown_cells_by_reason() == {"year: not a number": 1}
    accounted(cat)


def test_mostly_unreadable_optional_column_gives_one_warning(tmp_path: Path) -> None:
    lines = [HEADER, *(row(id=f"t{i}", time_signature="common") for i in range(6)),
             *(row(id=f"u{i}", year="abc") for i in range(2))]
    cat = read_catalogue(write(tmp_path, lines))
    assert cat.rows_kept == 8
    [warning] = cat.warnings
    assert warning.startswith("time_signature: 6 of 8 values unreadable")
    assert "\n" not in warning


# A file in the shape of Kaggle's "Spotify Tracks DB" (SpotifyFeatures.csv).
SPOTIFY_FEATURES = [
    "genre,artist_name,track_name,track_id,popularity,acousticness,danceability,duration_ms,"
    "energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,time_signature,valence",
    "Movie,Henri Salvador,C'est beau de faire un Show,0BRjO6ga9RKCKjfDqeFgWV,0,0.611,0.389,"
    "99373,0.91,0,C#,0.346,-1.828,Major,0.0525,166.969,4/4,0.814",
    'R&B,"Earth, Wind & Fire",September,2grjqo0Frpf2okIBiifQKs,77,0.167,0.69,215627,0.82,'
    "0.000341,A,0.0813,-6.2,Major,0.0439,125.917,4/4,0.98",
    "Alternative,Joji,Slow Dancing In The Dark,0rKtyWc8bvkriBthvHKY8d,80,0.544,0.515,209274,"
    "0.479,0.00598,D#,0.191,-7.458,Minor,0.0261,88.964,3/4,0.284",
    'Children’s Music,Kidz Bop Kids,"Shut Up, ""Dance""",3s9aL5sAMLBzDhTc7Sw5MJ,40,0.0185,'
    "0.54,170000,0.7,0,G#,0.1,-5,Minor,0.04,140,5/4,0.6",
    "Comedy,Unknown Comic,Bit,6ab2bEC1jWtL8rkx4cZLXm,1,0.9,0.5,60000,0.2,0,Bb,0.9,-20,Major,"
    "0.95,90,0/4,0.5",
]


def test_spotify_features_export_keeps_every_row(tmp_path: Path) -> None:
    cat = read_catalogue(write(tmp_path, SPOTIFY_FEATURES, name="SpotifyFeatures.csv"))
    t = cat.table.to_pydict()
    assert cat.rows_read == cat.rows_kept == 5 and not cat.rejections and not cat.warnings
    assert t["time_signature"] == [4, 4, 3, 5, 0]
    assert t["key"] == [1, 9, 3, 8, 10]
    assert t["mode"] == [1, 1, 0, 0, 1]
    assert t["artists"][1] == ["Earth, Wind & Fire"]
    assert t["name"][3] == 'Shut Up, "Dance"'
    assert t["genre"][3] == "Children’s Music"
    assert t["popularity"] == [0, 77, 80, 40, 1]


# 2. Long ids.

def test_ids_longer_than_the_limit_are_rejected(tmp_path: Path) -> None:
    long_id = "x" * (MAX_ID_CHARS + 1)
    path = write(tmp_path, [HEADER, row(id="ok"), row(id=long_id), row(id="y" * MAX_ID_CHARS)])
    cat = read_catalogue(path)
    assert cat.table.column("id").to_pylist() == ["ok", "y" * MAX_ID_CHARS]
    [r] = cat.rejections
    assert r.row == 3 and r.column == "id" and r.reason.startswith("too long")
    assert len(r.value) <= 200
    accounted(cat)


def test_long_artist_and_album_ids_blank_the_cell(tmp_path: Path) -> None:
    long_id = "z" * (MAX_ID_CHARS + 1)
    many = "[" + ", ".join(f"'id{i:030d}'" for i in range(2)) + "]"  # long cell, short ids
    path = write(tmp_path, [
        HEADER, row(id="t1", artist_ids=f"['{long_id}']", album_id=long_id),
        row(id="t2", artists="['A', 'B']", artist_ids=many)])
    cat = read_catalogue(path)
    t = cat.table.to_pydict()
    assert t["artist_ids"] == [[derived_id("artist", "Ana Bel")],
                               [f"id{0:030d}", f"id{1:030d}"]]
    assert t["album_id"] == [None, "alb1"]
    assert sorted((r.row, r.column, r.action) for r in cat.rejections) == [
        (2, "album_id", CELL_UNKNOWN), (2, "artist_ids", CELL_UNKNOWN)]
    assert all(len(r.value) <= 200 for r in cat.rejections)


# 3. Unterminated quotes and malformed lines.

def test_unterminated_quote_costs_only_its_own_row(tmp_path: Path) -> None:
    lines = [HEADER] + [row(id=f"t{n}") for n in range(2, 31)]
    lines[7] = lines[7].replace("Song", '"Song', 1)  # row 8: a quote that never closes
    cat = read_catalogue(write(tmp_path, lines))
    assert cat.rows_read == 29
    assert cat.rows_kept == 28
    [r] = cat.rejections
    assert r.row == 8 and r.reason.startswith("unterminated quote")
    assert "t9" in cat.table.column("id").to_pylist()
    accounted(cat)


def test_quote_hidden_by_an_even_count_is_found(tmp_path: Path) -> None:
    # Two quotes, but the second opens a value that never closes.
    damaged = row(id="t3").replace("Song,Album", '12" Mix,"Live')
    lines = [HEADER, row(id="t2"), damaged, row(id="t4")]
    cat = read_catalogue(write(tmp_path, lines))
    assert cat.table.column("id").to_pylist() == ["t2", "t4"]
    assert [(r.row, r.reason.split(":")[0]) for r in cat.rejections] == [
        (3, "unterminated quote")]
    accounted(cat)


def test_malformed_lines_blank_lines_and_row_numbers(tmp_path: Path) -> None:
    lines = [HEADER, row(id="t2"), "", "x,y,z", row(id="t5"), row(id="t5"),
             row(id="t7") + ",extra", row(id="t8")]
    cat = read_catalogue(write(tmp_path, lines))
    assert cat.table.column("id").to_pylist() == ["t2", "t5", "t8"]
    assert [(r.row, r.reason.split(":")[0]) for r in cat.rejections] == [
        (4, "malformed"), (6, "duplicate"), (7, "malformed")]
    assert cat.rows_read == 6  # the blank line is no data line
    accounted(cat)


# 4. Artists.

def test_empty_artist_ids_do_not_merge_artists(tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER, row(id="t1", artists="['Ana']", artist_ids=""),
                            row(id="t2", artists="['Bo']", artist_ids="[]"),
                            row(id="t3", artists="['ana ']", artist_ids="['', 'x']"),
                            row(id="t4", artists="['Cy', 'Di']", artist_ids="['c1', 'd1']")])
    ids = read_catalogue(path).table.column("artist_ids").to_pylist()
    assert ids[0] == [derived_id("artist", "Ana")]
    assert ids[1] == [derived_id("artist", "Bo")] and ids[1] != ids[0]
    assert ids[2] == ids[0]  # the same name, spelled with other case and spaces
    assert ids[3] == ["c1", "d1"]


def test_derived_id_is_spotify_shaped_and_stable() -> None:
    a = derived_id("artist", "Guns N' Roses")
    assert re.fullmatch(r"[0-9A-Za-z]{22}", a)
    assert a == derived_id("artist", "  guns n'   ROSES ")
    assert a != derived_id("album", "Guns N' Roses")
    assert a != derived_id("artist", "Guns N Roses")
    assert derived_id("artist", "") != derived_id("artist", "x")
    assert a == "6sYz0GKE9RqGgrRDbN9aud"  # fixed forever: ids are stored in libraries


@pytest.mark.parametrize(("cell", "names"), [
    ("['Rock 'n', 'Roll']", ["Rock 'n", "Roll"]),
    ("[\"Guns N' Roses\", 'Slash']", ["Guns N' Roses", "Slash"]),
    ("['Tyler, The Creator', 'Earth, Wind & Fire']", ["Tyler, The Creator",
                                                      "Earth, Wind & Fire"]),
    ("[\"Rock 'n', 'Roll\"]", ["Rock 'n', 'Roll"]),
    ("['It\\'s', \"Say \\\"Hi\\\"\"]", ["It's", 'Say "Hi"']),
    ("[ 'A' ,'B' ]", ["A", "B"]),
    ("['The \"Boss\"', 'X']", ['The "Boss"', "X"]),
    ("[]", []),
    ("['']", []),
    ("A; B;", ["A", "B"]),
])
def test_split_names_reads_list_literals(cell: str, names: list[str]) -> None:
    assert split_names(pa.array([cell, "Solo"])).to_pylist() == [names, ["Solo"]]


def test_artists_that_are_an_empty_list_reject_the_row(tmp_path: Path) -> None:
    cat = read_catalogue(write(tmp_path, [HEADER, row(id="t1"), row(id="t2", artists="['']")]))
    assert [(r.row, r.column, r.reason) for r in cat.rejections] == [
        (3, "artists", "empty: required")]


# 5. Damaged files: read them, or one line of error.

@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\n\n", b" \r\n", b"\r"])
def test_files_with_nothing_in_them_are_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(content)
    with pytest.raises(CatalogueError, match="is empty"):
        read_catalogue(path)


def test_header_without_data_rows_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no data rows"):
        read_catalogue(write(tmp_path, [HEADER, "", ""]))


def test_old_mac_line_endings_are_read(tmp_path: Path) -> None:
    cat = read_catalogue(write(tmp_path, [HEADER, row(id="t1"), row(id="t2", danceability="x")],
                             newline="\r"))
    assert cat.table.column("id").to_pylist() == ["t1"]
    assert [r.row for r in cat.rejections] == [3]


def test_windows_line_endings_are_read(tmp_path: Path) -> None:
    cat = read_catalogue(write(tmp_path, [HEADER, row(id="t1"), "", row(id="t3")],
                             newline="\r\n"))
    assert cat.table.column("id").to_pylist() == ["t1", "t3"]
    assert cat.table.column("release_date").to_pylist() == ["1999-01-02"] * 2


def test_duplicated_header_column_is_a_one_line_error(tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER + ",energy", row() + ",0.3"])
    with pytest.raises(CatalogueError, match=r"column 'energy' appears 2 times.*columns 11, 25"):
        read_catalogue(path)


def test_duplicated_unused_header_column_is_fine(tmp_path: Path) -> None:
    cat = read_catalogue(write(tmp_path, [HEADER + ",note,note", row() + ",a,b"]))
    assert cat.rows_kept == 1


def test_huge_header_is_a_one_line_error(tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER + "," + "x" * 2_000_000, row()])
    with pytest.raises(CatalogueError, match="header line is 2,000,2") as info:
        read_catalogue(path)
    assert "\n" not in str(info.value)


def test_one_latin1_byte_in_a_utf8_file_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    lines = [HEADER.encode(), row(id="t1", name="Niño").encode(),
             row(id="t2", name="Caf\xe9").encode("latin-1"), row(id="t3").encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    cat = read_catalogue(path)
    assert cat.table.column("name").to_pylist() == ["Niño", "Café", "Song"]
    [warning] = cat.warnings
    assert "1 row(s) not UTF-8 (3)" in warning and "Windows-1252" in warning


def test_windows_1252_file_is_read_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER, row(id="t1", name="Café – “Live”"), row(id="t2")],
                 encoding="cp1252")
    cat = read_catalogue(path)
    assert cat.table.column("name").to_pylist() == ["Café – “Live”", "Song"]
    [warning] = cat.warnings
    assert "not UTF-8" in warning and "row 2" in warning and "Windows-1252" in warning


def test_100_mb_line_is_rejected_alone(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("w") as f:
        f.write(HEADER + "\n" + row(id="t1") + "\n")
        f.write(row(id="t2", name="x" * 100_000_000) + "\n")
        f.write(row(id="t3") + "\n")
    cat = read_catalogue(path)
    assert cat.table.column("id").to_pylist() == ["t1", "t3"]
    [r] = cat.rejections
    assert r.row == 3 and r.reason.startswith("too long") and len(r.value) <= 200
    accounted(cat)


# 6. Release dates.

@pytest.mark.parametrize(("date", "reason"), [
    ("3000-01-01", "out of range"), ("05/03/1999", "unreadable"), ("soon", "unreadable"),
    ("19999-01-01", "unreadable"), ("1999-13-01", "out of range"),
])
def test_bad_release_date_is_unknown_and_reported(tmp_path: Path, date: str,
                                                  reason: str) -> None:
    path = write(tmp_path, [HEADER, row(id="t1", year="0", release_date=date),
                            row(id="t2", year="0", release_date="1987-06")])
    cat = read_catalogue(path)
    t = cat.table.to_pydict()
    assert t["release_date"] == [None, "1987-06"]
    assert t["year"] == [None, 1987]  # a bad date never lends its digits to the year
    [r] = cat.rejections
    assert (r.row, r.column, r.value, r.action) == (2, "release_date", date, CELL_UNKNOWN)
    assert r.reason.startswith(reason)


def test_kaggle_unknown_date_is_null_without_a_report(tmp_path: Path) -> None:
    cat = read_catalogue(write(tmp_path, [HEADER, row(year="0", release_date="0000")]))
    assert cat.table.column("release_date").to_pylist() == [None]
    assert not cat.rejections


# 7. A one-song catalogue builds.

def test_one_song_catalogue_builds_a_library(tmp_path: Path) -> None:
    from musicrec.build import build_library
    from musicrec.library import Library

    report = build_library(write(tmp_path, [HEADER, row()]), tmp_path / "lib")
    assert report.rows_kept == 1
    lib = Library.open(tmp_path / "lib")
    assert len(lib) == 1 and lib.row_of("t1") == 0
