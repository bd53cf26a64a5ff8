"""Make the built-in demo catalogue, `src/musicrec/data/demo_songs.parquet`, from the
TidyTuesday 2020-01-21 "Spotify Songs" file (MIT licence; see `src/musicrec/data/NOTICE`).

    python scripts/make_demo_catalogue.py ../shared/data/spotify_30k_songs/spotify_songs.csv

The source lists a song once per playlist it was found in (32,833 rows, 28,356 songs). The demo
keeps each song once, with its first row (the rule `musicrec build` applies to duplicates), drops
the 4 songs without a name or artist and the playlist name and id columns, and keeps the rest,
genre and subgenre labels included, under the source's own column names. Zstandard-compressed
Parquet: about a third of the CSV's size, and read without parsing text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parents[1] / "src" / "musicrec" / "data" / "demo_songs.parquet"
DROPPED = ("playlist_name", "playlist_id")


def main(source: str) -> None:
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(
        column_types={"track_id": "string", "track_album_id": "string",
                      "track_album_release_date": "string"}))
    table = table.drop_columns(list(DROPPED))
    # The catalogue reads "", "NA" and null as an empty cell, and a song needs a name and artist.
    named = [pc.invert(pc.fill_null(pc.is_in(table[c], pa.array(["", "NA"])), True))
             for c in ("track_name", "track_artist")]
    table = table.filter(pc.and_(*named))
    ids = table["track_id"].to_pylist()
    first = sorted({track: i for i, track in reversed(list(enumerate(ids)))}.values())
    table = table.take(first)
    pq.write_table(table, OUT, compression="zstd", compression_level=19)
    print(f"{OUT}: {table.num_rows:,} songs, {OUT.stat().st_size / 2**20:.2f} MB")


if __name__ == "__main__":
    main(sys.argv[1])
