"""Reading source files into a validated catalogue, one idea per module:

- `columns`: the columns a catalogue has (from `musicrec.schema` for the features), their
  header names, and the limits every source is read within;
- `lines`: bytes to lines, every broken line reported;
- `cells`: each column's text checked and read;
- `artists`: artist names split from a cell, and ids derived from names;
- `report`: the `Catalogue` and the `Rejection`s of its report;
- `read`: CSV and Parquet read through all of these into the normalised table.
"""

from musicrec.catalogue.artists import derived_id, one_chunk, split_names
from musicrec.catalogue.cells import duplicates
from musicrec.catalogue.columns import ALIASES, AUDIO_FEATURES, MAX_ID_CHARS
from musicrec.catalogue.read import build_table, read_catalogue, read_parquet
from musicrec.catalogue.report import CELL_UNKNOWN, REJECTED, Catalogue, Rejection

__all__ = ["ALIASES", "AUDIO_FEATURES", "CELL_UNKNOWN", "MAX_ID_CHARS", "REJECTED", "Catalogue",
           "Rejection", "build_table", "derived_id", "duplicates", "one_chunk", "read_catalogue",
           "read_parquet", "split_names"]
