"""Several sources and Parquet: the same rules as one CSV, every rejection naming its file."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from musicrec.catalogue import read_catalogue, read_parquet
from musicrec.cli import app
from musicrec.errors import CatalogueError
from musicrec.library import Library
from musicrec.schema import KAGGLE_HEADER
from musicrec.sources import expand_sources, read_sources
from musicrec.synth import synthesize


@pytest.fixture(scope="module")
def songs() -> pd.DataFrame:
    """240 distinct synthetic songs in the Kaggle schema, as text cells."""
    frame = synthesize(260, seed=11).drop(columns="style")
    frame = frame.drop_duplicates("id").head(240).reset_index(drop=True)
    return frame[list(KAGGLE_HEADER)].astype(str)


def damaged(frame: pd.DataFrame) -> pd.DataFrame:
    """Known damage: row index 3 energy out of range, 5 without a name, 8 tempo unreadable."""
    frame = frame.copy()
    frame.loc[3, "energy"] = "1.7"
    frame.loc[5, "name"] = ""
    frame.loc[8, "tempo"] = "fast"
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def write_parquet(frame: pd.DataFrame, path: Path, typed: bool = False) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if typed:  # as a data pipeline would write it: numbers, booleans, lists of names
        numeric = {c: pa.float64() for c in ("danceability", "energy", "loudness", "tempo",
                                             "valence", "acousticness", "speechiness",
                                             "instrumentalness", "liveness")}
        numeric |= {c: pa.int64() for c in ("key", "mode", "duration_ms", "year",
                                            "track_number", "disc_number", "time_signature")}
        cols = {}
        for name in table.column_names:
            col = frame[name]
            if name in numeric:
                cols[name] = pa.array(pd.to_numeric(col).to_numpy(), numeric[name])
            elif name == "explicit":
                cols[name] = pa.array(col == "True")
            elif name in ("artists", "artist_ids"):
                cols[name] = pa.array([ast.literal_eval(v) for v in col], pa.list_(pa.string()))
            else:
                cols[name] = pa.array(col.to_numpy(), pa.string())
        table = pa.table(cols)
    pq.write_table(table, path)
    return path


def rejected(catalogue) -> list[tuple[int, str, str]]:
    return [(r.row, r.column, r.reason.split(":")[0]) for r in catalogue.rejections
            if r.action == "rejected"]


def test_parquet_of_text_cells_reads_as_the_same_csv(songs: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    frame = damaged(songs)
    from_csv = read_catalogue(write_csv(frame, tmp_path / "a.csv"))
    from_parquet = read_parquet(write_parquet(frame, tmp_path / "a.parquet"))
    assert from_parquet.table.equals(from_csv.table)
    # CSV rows count the header line; Parquet rows count records from 1.
    assert [(row + 1, c, why) for row, c, why in rejected(from_parquet)] == rejected(from_csv)
    assert rejected(from_csv) == [(5, "energy", "out of range"), (7, "name", "empty"),
                                  (10, "tempo", "not a number")]
    assert (from_parquet.rows_read, from_parquet.rows_kept) == (240, 237)


def test_typed_parquet_columns_give_the_same_catalogue(songs: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    from_csv = read_catalogue(write_csv(songs, tmp_path / "a.csv"))
    from_parquet = read_parquet(write_parquet(songs, tmp_path / "t.parquet", typed=True))
    assert from_parquet.rows_kept == 240 and not from_parquet.rejections
    for name in from_csv.table.column_names:
        assert from_parquet.table.column(name).equals(from_csv.table.column(name)), name


def test_parquet_lists_with_quotes_in_names_survive(songs: pd.DataFrame, tmp_path: Path) -> None:
    names = [["Rock 'n' Roll Band"], ["A", "B's"], ["Solo"]]
    table = pa.Table.from_pandas(songs.head(3), preserve_index=False)
    table = table.set_column(table.column_names.index("artists"), "artists",
                             pa.array(names, pa.list_(pa.string())))
    table = table.drop_columns(["artist_ids"])
    path = tmp_path / "q.parquet"
    pq.write_table(table, path)
    artists = read_parquet(path).table.column("artists").to_pylist()
    assert artists == [["Rock 'n' Roll Band"], ["A", "B's"], ["Solo"]]


def test_several_files_and_folders_are_one_catalogue(songs: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    """Rows 0..99 in a.csv; 100..159 (damaged) in b.parquet; a folder with 160..199 and
    200..239, plus 10 songs of a.csv again (duplicates across files)."""
    write_csv(songs.iloc[:100], tmp_path / "a.csv")
    write_parquet(damaged(songs.iloc[100:160].reset_index(drop=True)), tmp_path / "b.parquet")
    folder = tmp_path / "more"
    (folder / "part").mkdir(parents=True)
    write_csv(songs.iloc[160:200], folder / "c.csv")
    write_parquet(pd.concat([songs.iloc[200:240], songs.iloc[20:30]]),
                  folder / "part" / "d.parquet", typed=True)
    (folder / "notes.txt").write_text("not a source")
    (folder / "_SUCCESS").write_text("")
    paths = [tmp_path / "a.csv", tmp_path / "b.parquet", folder]
    assert [s.label for s in expand_sources(paths)] == [
        str(tmp_path / "a.csv"), str(tmp_path / "b.parquet"), str(folder / "c.csv"),
        str(folder / "part" / "d.parquet")]
    cat = read_sources(paths)
    assert cat.rows_read == 100 + 60 + 40 + 50
    assert cat.duplicates == 10
    assert cat.rows_kept == 240 - 3 == cat.table.num_rows
    assert cat.rows_kept + cat.rows_rejected + cat.duplicates == cat.rows_read
    assert cat.table.column("id").to_pylist()[:100] == songs["id"].iloc[:100].tolist()
    bad = [(r.file, r.row, r.column) for r in cat.rejections
           if not r.reason.startswith("duplicate")]
    b = str(tmp_path / "b.parquet")
    assert bad == [(b, 4, "energy"), (b, 6, "name"), (b, 9, "tempo")]
    dups = [r for r in cat.rejections if r.reason.startswith("duplicate")]
    d = str(folder / "part" / "d.parquet")
    assert [(r.file, r.row) for r in dups] == [(d, 41 + i) for i in range(10)]
    assert dups[0].reason == f"duplicate: same id as row 22 of {tmp_path / 'a.csv'}, merged"
    assert cat.rejected_by_reason() == {"energy: out of range": 1, "name: empty": 1,
                                        "tempo: not a number": 1}


def test_the_same_row_number_in_two_files_is_two_rejections(songs: pd.DataFrame,
                                                             tmp_path: Path) -> None:
    for name, rows in (("x.csv", songs.iloc[:50]), ("y.csv", songs.iloc[50:100])):
        write_csv(damaged(rows.reset_index(drop=True)), tmp_path / name)
    cat = read_sources([tmp_path / "x.csv", tmp_path / "y.csv"])
    assert cat.rows_rejected == 6 and sum(cat.rejected_by_reason().values()) == 6


def _empty_folder(p: Path) -> Path:
    (p / "empty").mkdir()
    return p / "empty"


def _not_parquet(p: Path) -> Path:
    (p / "x.parquet").write_bytes(b"PAR1 not really")
    return p / "x.parquet"


def _no_song_columns(p: Path) -> Path:
    pq.write_table(pa.table({"a": [1]}), p / "y.parquet")
    return p / "y.parquet"


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "absent.csv", "no such file or folder"),
    (_empty_folder, "no .csv or .parquet file"),
    (_not_parquet, "not a readable Parquet file"),
    (_no_song_columns, "missing required column"),
])
def test_bad_sources_are_one_line_errors(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        read_sources([make(tmp_path)])


def test_build_from_several_sources_reports_the_file_of_each_row(songs: pd.DataFrame,
                                                                 tmp_path: Path) -> None:
    write_csv(damaged(songs.iloc[:120]), tmp_path / "a.csv")
    write_parquet(pd.concat([songs.iloc[120:240], songs.iloc[:5]]), tmp_path / "b.parquet")
    result = CliRunner().invoke(app, ["build", str(tmp_path / "a.csv"),
                                      str(tmp_path / "b.parquet"),
                                      "--library", str(tmp_path / "lib")])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "duplicates merged" in result.stdout
    report = pd.read_csv(tmp_path / "lib" / "rejected.csv")
    assert list(report.columns) == ["row", "column", "reason", "value", "action", "file"]
    # Song 3 is rejected in a.csv (energy 1.7), so its good copy in b.parquet is kept.
    assert report["file"].tolist() == [str(tmp_path / "a.csv")] * 3 + \
        [str(tmp_path / "b.parquet")] * 4
    lib = Library.open(tmp_path / "lib")
    assert len(lib) == 238
    counts = lib.manifest.counts
    assert (counts.rows_read, counts.duplicates, counts.rejected) == (245, 4, 3)
    assert lib.manifest.source.name.startswith("2 files: ")
    assert np.isfinite(np.asarray(lib.vectors)).all()


def test_parquet_columns_the_catalogue_does_not_use_are_never_read(songs: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    table = pa.Table.from_pandas(songs.head(4), preserve_index=False)
    nested = pa.array([{"a": i} for i in range(4)])
    pq.write_table(table.append_column("analysis", nested), tmp_path / "extra.parquet")
    assert read_parquet(tmp_path / "extra.parquet").rows_kept == 4
    broken = table.set_column(table.column_names.index("tempo"), "tempo", nested)
    pq.write_table(broken, tmp_path / "broken.parquet")
    with pytest.raises(CatalogueError, match="column 'tempo' of type struct"):
        read_parquet(tmp_path / "broken.parquet")
