"""`Library.recommend` of two checkouts side by side, on one library, in alternating processes.

The host's speed drifts by up to 2x between runs an hour apart, so a change to the recommender
is judged here: each round runs every source folder's code once, in a fresh process, over the
same library and the same requests (600 one-seed lists and 300 five-seed lists with min/max
filters, as `benchmarks/run.py` makes them), and reports p50 milliseconds and the raw index
search's p50 as the yardstick of the host's speed at that moment.

    git archive 031a2bc src | tar -x -C /tmp/before
    .venv/bin/python benchmarks/recommend_ab.py benchmarks/work/bench_1200000_library \\
        --src before=/tmp/before/src --src after=src

Results: results/recommend_ab.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHILD = "--child"


def measure(library: Path, seed: int) -> dict[str, float]:
    """p50 ms of each kind of request, with the musicrec this process imports."""
    sys.path.insert(0, str(HERE))
    import run
    from musicrec.library import Library
    from musicrec.request import RecommendRequest

    lib = Library.open(library)
    lib.warm()
    ids = lib.table.column("id").to_numpy(zero_copy_only=False)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(ids), 600, replace=False)
    five = rng.choice(len(ids), size=(300, 5))
    one = [RecommendRequest(seed_tracks=[ids[r]], limit=10) for r in rows]
    filtered = [RecommendRequest(seed_tracks=list(ids[five[i]]), limit=10,
                                 **run.band_filters(lib, run.BANDS[i % len(run.BANDS)], rng))
                for i in range(len(five))]
    vectors = np.asarray(lib.vectors)
    for request in one[:100]:  # warm up
        lib.recommend(request)
    kinds = {"1 seed": (lib.recommend, one),
             "raw index search": (lambda r: lib.index.search(vectors[r], 10), rows),
             "5 seeds + filters": (lib.recommend, filtered)}
    out = {}
    for kind, (call, items) in kinds.items():
        times = []
        for item in items:
            t0 = time.perf_counter()
            call(item)
            times.append(time.perf_counter() - t0)
        out[kind] = round(float(np.median(times)) * 1e3, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", type=Path)
    parser.add_argument("--src", action="append", required=True,
                        help="LABEL=FOLDER holding a checkout's musicrec package (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sources = dict(item.split("=", 1) for item in args.src)
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in sources}
    for _ in range(args.rounds):
        for label, folder in sources.items():
            env = {**os.environ, "PYTHONPATH": str(Path(folder).resolve())}
            done = subprocess.run([sys.executable, __file__, CHILD, str(args.library),
                                   str(args.seed)],
                                  env=env, capture_output=True, text=True, check=True)
            runs[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    table = Table(title=f"p50 ms per round, {args.library.name}")
    table.add_column("code")
    kinds = list(next(iter(runs.values()))[0])
    for kind in kinds:
        table.add_column(kind)
    for label, results in runs.items():
        table.add_row(label, *(" / ".join(f"{r[k]:.2f}" for r in results) for k in kinds))
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "recommend_ab.json"
    out.write_text(json.dumps({"library": str(args.library), "sources": sources,
                               "rounds": args.rounds, "p50_ms": runs}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    if sys.argv[1:2] == [CHILD]:  # one measurement, with the musicrec on PYTHONPATH
        print(json.dumps(measure(Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
