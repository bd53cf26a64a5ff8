"""What the hub correction adds to a build: `musicrec.hubs` over a built library's HNSW graph.

    .venv/bin/python benchmarks/hub_cost.py benchmarks/work/api_load_1200000/library

Reads the library's vectors, first artists and `index.faiss` (the graph a build with
`BuildConfig(hub_weight=...)` has in memory at that point), then times the two steps the build
adds, three times each: reading each song's level-0 links out of the graph (inside the build's
"index" stage) and the penalty from them (its "hubs" stage). Wall and CPU seconds, and the peak
of the numpy memory they allocate (tracemalloc). Results: results/hub_cost_<rows>.json.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from pathlib import Path

import faiss
import numpy as np

from musicrec import hubs

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", type=Path, help="a library built with the HNSW index")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    vectors = np.ascontiguousarray(np.load(args.library / "vectors.npy"))
    artists = np.load(args.library / "primary_artist.npy")
    index = faiss.read_index(str(args.library / "index.faiss"))
    runs = []
    for _ in range(args.repeats):
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        links = hubs.graph_links(index)
        t1, c1 = time.perf_counter(), time.process_time()
        penalty = hubs.graph_neighbour_similarity(vectors, artists, links)
        t2, c2 = time.perf_counter(), time.process_time()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        runs.append({"links_wall_s": round(t1 - t0, 2), "links_cpu_s": round(c1 - c0, 2),
                     "penalty_wall_s": round(t2 - t1, 2), "penalty_cpu_s": round(c2 - c1, 2),
                     "peak_numpy_mb": round(peak / 1e6, 1)})
        print(runs[-1], flush=True)
        del links
    n = len(vectors)
    result = {"rows": n, "dims": int(vectors.shape[1]),
              "link_slots_per_song": int(index.hnsw.nb_neighbors(0)),
              "penalty_mean": round(float(penalty.mean()), 4), "runs": runs,
              "best_total_wall_s": min(r["links_wall_s"] + r["penalty_wall_s"] for r in runs)}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"hub_cost_{n}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
