"""Filtered recommendations through the HNSW graph against the inverted-file partition, by band.

Where `musicrec.index.PARTITION_UP_TO` sits comes from this comparison. For each band of
filter selectivity (min_energy and max_tempo letting about that share of the songs through,
as `benchmarks/run.py` makes them), the same 5-seed requests are answered by
`Library.recommend` with the graph and with the partition, taking turns request by request
so that the host's noise hits both alike, and checked against the same recommender over exact
filtered search (recall@10). A library without a partition gets one built in memory first.

    .venv/bin/python benchmarks/partition_bands.py benchmarks/work/bench_1200000_library

Results: results/partition_bands.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import run
from musicrec import index as index_module
from musicrec.library import Library
from musicrec.request import RecommendRequest

RESULTS = Path(__file__).resolve().parent / "results" / "partition_bands.json"
BANDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", type=Path)
    parser.add_argument("--requests", type=int, default=40, help="5-seed requests per band")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    lib = Library.open(args.library)
    lib.warm()
    partition = lib.index.partition or index_module.Partition.build(lib.vectors)
    index_module.PARTITION_UP_TO = 1.0  # every band above the exact scans may use it
    ids = lib.table.column("id").to_numpy(zero_copy_only=False)
    rng = np.random.default_rng(args.seed)
    exact = lib.recommender(exact=True)
    ways = {"graph": None, "partition": partition}
    rows = []
    for band in BANDS:
        requests = [RecommendRequest(seed_tracks=list(ids[rng.choice(len(ids), 5)]), limit=10,
                                     **run.band_filters(lib, band, rng))
                    for _ in range(args.requests)]
        times: dict[str, list[float]] = {way: [] for way in ways}
        recall: dict[str, list[float]] = {way: [] for way in ways}
        for request in requests:
            truth = {t.track["id"] for t in exact.recommend(request).tracks}
            for way, used in ways.items():
                lib.index.partition = used
                lib.recommender()._masks.clear()  # each way computes its mask afresh
                t0 = time.perf_counter()
                found = lib.recommend(request)
                times[way].append(time.perf_counter() - t0)
                recall[way].append(len({t.track["id"] for t in found.tracks} & truth)
                                   / max(1, len(truth)))
        rows.append({"band": band, **{
            way: {"p50_ms": round(float(np.median(times[way])) * 1e3, 2),
                  "p99_ms": round(float(np.percentile(times[way], 99)) * 1e3, 2),
                  "recall@10": round(float(np.mean(recall[way])), 4)} for way in ways}})
    lib.index.partition = partition

    table = Table(title=f"5 seeds + filters, {len(lib):,} songs: graph against partition")
    for column in ("band", "graph p50 / p99 ms", "graph recall@10",
                   "partition p50 / p99 ms", "partition recall@10"):
        table.add_column(column)
    for row in rows:
        table.add_row(f"{row['band']:.0%}",
                      *(cell for way in ways for cell in (
                          f"{row[way]['p50_ms']:.1f} / {row[way]['p99_ms']:.1f}",
                          f"{row[way]['recall@10']:.3f}")))
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"library": str(args.library), "songs": len(lib),
                                   "lists": partition.lists, "requests": args.requests,
                                   "bands": rows}, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
