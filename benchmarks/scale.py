"""Growth: build time, peak memory, library size and query latency by catalogue size and engine.

    .venv/bin/python benchmarks/scale.py                          # 0.3M, 1.2M, 5M; local and Ray
    .venv/bin/python benchmarks/scale.py --rows 300000 --engines local ray

For each size a synthetic catalogue in the Kaggle schema (`musicrec.synth`, seed 0, cached in
benchmarks/work/) is built by each engine in a child process (`--child`), which reports:

- build: wall seconds, the build's own stage times, and the peak resident memory of the build
  process (with Ray, of the driver only: the workers are separate processes, see `ray memory`);
- library: bytes on disk of the library folder;
- open: seconds to open it in that child after the build;
- queries: p50 and p99 of 300 single-vector `lib.index.search(q, 10)` calls and of 300
  `lib.recommend` calls with one seed, top 10.

Results go to benchmarks/results/scale.json, merged by (rows, engine) with those of earlier
runs, so sizes can be measured one at a time; per-million costs are printed at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results"
MB = 1024 * 1024


def catalogue(rows: int) -> Path:
    from musicrec.synth import write_catalogue

    path = WORK / f"scale_{rows}.csv"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        write_catalogue(path, rows, seed=0)
    return path


def child(rows: int, engine: str) -> dict[str, Any]:
    """Build and measure in this (fresh) process."""
    from musicrec.build import BuildConfig, build_library
    from musicrec.library import Library
    from musicrec.request import RecommendRequest

    source = catalogue(rows)
    dest = WORK / f"scale_lib_{rows}_{engine}"
    t0 = time.perf_counter()
    report = build_library(source, dest, BuildConfig(engine=engine))
    build_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    lib = Library.open(dest)
    open_s = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in dest.resolve().rglob("*") if p.is_file())
    rng = np.random.default_rng(0)
    picks = rng.choice(len(lib), 300, replace=False)
    vectors = np.asarray(lib.vectors[np.sort(picks)])
    search_ms, recommend_ms = [], []
    ids = [t["id"] for t in lib.tracks(picks.tolist())]
    for v, seed in zip(vectors, ids, strict=True):
        t0 = time.perf_counter()
        lib.index.search(v, 10)
        search_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        lib.recommend(RecommendRequest(seed_tracks=[seed], limit=10))
        recommend_ms.append((time.perf_counter() - t0) * 1000)
    return {"rows": rows, "engine": engine, "songs": len(lib), "dims": lib.vectors.shape[1],
            "build_s": round(build_s, 1),
            "stages_s": report.stage_seconds, "build_peak_mb": round(peak_mb),
            "library_mb": round(size / MB, 1), "open_s": round(open_s, 2),
            "search_p50_ms": round(float(np.percentile(search_ms, 50)), 3),
            "search_p99_ms": round(float(np.percentile(search_ms, 99)), 3),
            "recommend_p50_ms": round(float(np.percentile(recommend_ms, 50)), 3),
            "recommend_p99_ms": round(float(np.percentile(recommend_ms, 99)), 3)}


def save(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Merge one result into scale.json, replacing an earlier one of its size and engine, at
    once: a long run stopped half way keeps what it measured."""
    path = RESULTS / "scale.json"
    results = json.loads(path.read_text()) if path.exists() else []
    results = [r for r in results if (r["rows"], r["engine"]) != (result["rows"],
                                                                   result["engine"])]
    results = sorted([*results, result], key=lambda r: (r["rows"], r["engine"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[300_000, 1_200_000, 5_000_000])
    parser.add_argument("--engines", nargs="+", default=["local", "ray"],
                        choices=["local", "ray"])
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds one build may take; a longer one is stopped and recorded")
    parser.add_argument("--child", nargs=2, metavar=("ROWS", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return
    results: list[dict[str, Any]] = []
    for rows in args.rows:
        catalogue(rows)  # written once, outside the timed children
        for engine in args.engines:
            try:
                done = subprocess.run([sys.executable, __file__, "--child", str(rows), engine],
                                      capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                done = None
            if done is None or done.returncode != 0:
                error = (f"stopped after {args.timeout:.0f} s" if done is None
                         else done.stderr[-2000:])
                print(f"{rows:,} {engine}: failed\n{error}", file=sys.stderr)
                result = {"rows": rows, "engine": engine, "error": error[-300:]}
            else:
                result = json.loads(done.stdout.strip().splitlines()[-1])
                print(json.dumps(result))
            results = save(result)
    print(f"\n{'rows':>10} {'engine':>6} {'build s':>8} {'s/M':>6} {'peak MB':>8} "
          f"{'MB/M':>6} {'lib MB':>7} {'open s':>6} {'search p50':>10} {'rec p50':>8}")
    for r in results:
        if "error" in r:
            print(f"{r['rows']:>10,} {r['engine']:>6} failed: {r['error'][:60]}")
            continue
        m = r["rows"] / 1e6
        print(f"{r['rows']:>10,} {r['engine']:>6} {r['build_s']:>8} {r['build_s'] / m:>6.1f} "
              f"{r['build_peak_mb']:>8} {r['build_peak_mb'] / m:>6.0f} {r['library_mb']:>7} "
              f"{r['open_s']:>6} {r['search_p50_ms']:>10} {r['recommend_p50_ms']:>8}")


if __name__ == "__main__":
    main()
