"""Reading and validating catalogues: every bad row is reported, nothing silently dropped."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from musicrec.catalogue import read_catalogue, split_names
from musicrec.errors import CatalogueError

KAGGLE_HEADER = ("id,name,album,album_id,artists,artist_ids,track_number,disc_number,explicit,"
                 "danceability,energy,key,loudness,mode,speechiness,acousticness,"
                 "instrumentalness,liveness,valence,tempo,duration_ms,time_signature,year,"
                 "release_date")


def kaggle_row(track_id: str, name: str = "Song", danceability: str = "0.5",
               artists: str = "\"['Ana Bel']\"", year: str = "1999") -> str:
    return (f"{track_id},{name},Album,alb1,{artists},\"['a1']\",1,1,False,{danceability},0.6,5,"
            f"-7.5,1,0.05,0.2,0.0,0.1,0.4,120.0,200000,4,{year},{year}-01-02")


def write(tmp_path: Path, lines: list[str], name: str = "c.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_kaggle_schema(small_csv: Path) -> None:
    cat = read_catalogue(small_csv)
    assert cat.rows_kept == cat.rows_read - cat.duplicates - sum(cat.rejected_by_reason().values())
    assert cat.rows_kept > 2900
    names = cat.table.column_names
    for col in ("id", "name", "artists", "year", "explicit", "time_signature", "energy"):
        assert col in names
    assert cat.missing_optional == ["popularity", "genre", "subgenre"]  # not in Kaggle
    assert all(isinstance(a, list) and a for a in cat.table.column("artists").to_pylist()[:50])


def test_out_of_range_is_rejected_not_clipped(tmp_path: Path) -> None:
    path = write(tmp_path, [KAGGLE_HEADER, kaggle_row("t1"), kaggle_row("t2", danceability="1.7"),
                            kaggle_row("t3", danceability="abc")])
    cat = read_catalogue(path)
    assert cat.table.column("id").to_pylist() == ["t1"]
    by_row = {r.row: r for r in cat.rejections}
    assert by_row[3].column == "danceability" and "out of range" in by_row[3].reason
    assert by_row[3].value == "1.7"
    assert by_row[4].reason == "not a number"
    assert sum(cat.rejected_by_reason().values()) == 2


def test_malformed_and_truncated_rows_are_reported_with_row_numbers(tmp_path: Path) -> None:
    truncated = kaggle_row("t4")[:40]
    path = write(tmp_path, [KAGGLE_HEADER, kaggle_row("t1"), "x,y,z", kaggle_row("t3"), truncated])
    cat = read_catalogue(path)
    assert cat.table.column("id").to_pylist() == ["t1", "t3"]
    malformed = {r.row: r.reason for r in cat.rejections}
    assert set(malformed) == {3, 5}
    assert "3 fields, expected 24" in malformed[3]
    assert cat.rows_read == 4


def test_row_numbers_stay_right_after_a_malformed_row(tmp_path: Path) -> None:
    path = write(tmp_path, [KAGGLE_HEADER, "bad,row", kaggle_row("t2"),
                            kaggle_row("t3", danceability="2")])
    cat = read_catalogue(path)
    assert [r.row for r in cat.rejections] == [2, 4]


def test_duplicate_ids_are_merged_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path, [KAGGLE_HEADER, kaggle_row("t1"), kaggle_row("t1", name="Other"),
                            kaggle_row("t2")])
    cat = read_catalogue(path)
    assert cat.table.column("name").to_pylist() == ["Song", "Song"]
    assert cat.duplicates == 1
    assert "same id as row 2" in cat.rejections[0].reason


def test_missing_required_column_names_it_and_the_found_columns(tmp_path: Path) -> None:
    path = write(tmp_path, ["id,name,artists,energy", "a,b,c,0.5"])
    with pytest.raises(CatalogueError, match=r"missing required column\(s\) danceability.*found: "
                                           r"id, name, artists, energy"):
        read_catalogue(path)


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00"])
def test_empty_or_binary_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CatalogueError, match="empty|not a UTF-8 CSV|not a CSV"):
        read_catalogue(path)


def test_spreadsheet_export_with_aliases_note_names_and_bom(tmp_path: Path) -> None:
    header = ("track_id,track_name,track_artist,track_album_name,track_album_release_date,"
              "track_popularity,playlist_genre,danceability,energy,key,loudness,mode,speechiness,"
              "acousticness,instrumentalness,liveness,valence,tempo,duration_ms")
    rows = [
        "a1,One,Zed Ray,Alb,2001-05,55,rock,0.5,0.7,C#,-5,Major,5E-2,0.1,0,0.1,0.5,120,180000",
        "a2,Two,Zed Ray,Alb,1999,40,pop,6.1e-1,0.3,Bb,-9,Minor,0.03,0.8,0.01,0.2,0.3,90,200000",
    ]
    cat = read_catalogue(write(tmp_path, [header, *rows], bom=True))
    t = cat.table.to_pydict()
    assert t["key"] == [1, 10]
    assert t["mode"] == [1, 0]
    assert t["year"] == [2001, 1999]
    assert t["popularity"] == [55, 40]
    assert t["genre"] == ["rock", "pop"]
    assert t["speechiness"][0] == pytest.approx(0.05)
    assert {"explicit", "time_signature"} <= set(cat.missing_optional)


def test_na_names_are_rejected_as_empty(tmp_path: Path) -> None:
    path = write(tmp_path, [KAGGLE_HEADER, kaggle_row("t1", name="NA"), kaggle_row("t2")])
    cat = read_catalogue(path)
    assert cat.rejections[0].column == "name" and cat.rejections[0].reason == "empty: required"


def test_unknown_year_is_null(tmp_path: Path) -> None:
    row = kaggle_row("t1", year="0").replace("0-01-02", "0000")
    cat = read_catalogue(write(tmp_path, [KAGGLE_HEADER, row]))
    assert cat.table.column("year").to_pylist() == [None]


def test_quoted_names_with_commas_and_artist_lists(tmp_path: Path) -> None:
    artists = "\"['Guns N\\' Roses', \"\"Ana's Band\"\", 'Tom, Jr.']\""
    row = kaggle_row("t1", name="\"Hello, \"\"World\"\"\"", artists=artists)
    cat = read_catalogue(write(tmp_path, [KAGGLE_HEADER, row]))
    assert cat.table.column("name").to_pylist() == ['Hello, "World"']
    assert cat.table.column("artists").to_pylist() == [["Guns N' Roses", "Ana's Band", "Tom, Jr."]]


def test_split_names() -> None:
    cells = ["Solo Artist", "A; B", "['X', \"Y's\"]", "['Guns N\\' Roses']", "Earth, Wind & Fire"]
    assert split_names(pa.array(cells)).to_pylist() == [
        ["Solo Artist"], ["A", "B"], ["X", "Y's"], ["Guns N' Roses"], ["Earth, Wind & Fire"]]
