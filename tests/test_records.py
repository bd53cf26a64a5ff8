"""The record reader gives exactly what Arrow's `take(...).to_pylist()` gives."""

import numpy as np
import pyarrow as pa
import pytest

from musicrec.records import RecordReader


def catalogue() -> pa.Table:
    return pa.table({
        "id": ["a", "é☃", "", "xyz", "q", "r"],
        "artists": [["a", "b"], [], ["ü"], ["x"], ["y", "z", "w"], ["Ω"]],
        "year": pa.array([1999, None, 2003, 2004, None, 1970], pa.int16()),
        "explicit": [True, False, True, False, True, False],
        "maybe": pa.array([True, None, False, None, True, True]),
        "release_date": ["1999", None, "2003-01-02", "2004", "", None],
        "energy": pa.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], pa.float32()),
        "tags": pa.array([["x"], None, [], ["y", "z"], None, ["w"]]),
        "stamp": pa.array([1, 2, 3, 4, 5, 6], pa.timestamp("s")),  # read by Arrow
    })


@pytest.mark.parametrize("table", [
    catalogue(),
    catalogue().slice(1, 4),  # buffers start part way in
    pa.concat_tables([catalogue(), catalogue()]),  # two chunks per column
], ids=["whole", "slice", "chunks"])
def test_records_equal_arrow(table: pa.Table) -> None:
    reader = RecordReader(table)
    rows = np.array([len(table) - 1, 0, 2, 1, 1], dtype=np.int64)
    expected = table.take(pa.array(rows)).to_pylist()
    assert reader.read(rows, table.column_names) == expected
    columns = ["energy", "id", "stamp"]
    assert reader.read(rows, columns) == [{c: r[c] for c in columns} for r in expected]
    assert list(reader.read(rows, columns)[0]) == columns


def test_no_rows_and_no_columns() -> None:
    reader = RecordReader(catalogue())
    assert reader.read(np.empty(0, np.int64), ["id", "artists", "year"]) == []
    assert reader.read(np.array([0, 1]), []) == [{}, {}]
