"""Filtered search in Milvus: a filter expression on scalar fields, against a `row in [...]`
list of the allowed rows and against an exact scan of the mask in process.

    .venv/bin/python benchmarks/milvus_filters.py                 # 100,000 songs, Milvus Lite
    .venv/bin/python benchmarks/milvus_filters.py --rows 20000

Builds a library of a synthetic catalogue (`musicrec.synth`, seed 0) with `--index milvus`
(cached in benchmarks/work/), then for each filter below times single-query searches of
`--queries` seed songs, k = 40 (the recommender's pool for one seed, top 10) three ways:

- `expression`: `MilvusIndex.search(q, k, allowed=mask, where=where)` with the exact scan
  turned off, so the engine filters by the request's bounds (the path taken above
  `exact_below` allowed songs);
- `id list`: the engine filtered by `row in [...]` (or `not in`, whichever list is shorter)
  with a beam of max(ef_search, k), short answers then filled exactly: how masks were searched
  before the scalar fields;
- `exact`: the allowed songs' vectors scanned in process (the path below `exact_below`).

It reports p50 ms per query, the share of songs each filter allows, the expression's length
and recall@k of the engine's answers against the exact ones. Results go to
benchmarks/results/milvus_filters.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results"
K = 40
FILTERS: dict[str, dict[str, Any]] = {
    "explicit": {"explicit": False},
    "tempo 100-130": {"min": {"tempo": 100}, "max": {"tempo": 130}},
    "energy >= 0.8, year >= 2000": {"min": {"energy": 0.8, "year": 2000}},
    "2 families, not explicit": {"families": [0, 1], "explicit": False},
    "tempo 120-125, year 1990-1999": {"min": {"tempo": 120, "year": 1990},
                                      "max": {"tempo": 125, "year": 1999}},
}


def library(rows: int) -> Path:
    from musicrec.build import BuildConfig, build_library
    from musicrec.synth import write_catalogue

    dest = WORK / f"milvus_filters_{rows}"
    if not (dest / "manifest.json").exists():
        WORK.mkdir(parents=True, exist_ok=True)
        source = WORK / f"milvus_filters_{rows}.csv"
        write_catalogue(source, rows, seed=0)
        t0 = time.perf_counter()
        build_library(source, dest, BuildConfig(index="milvus"))
        print(f"built {rows:,} songs with --index milvus in {time.perf_counter() - t0:.0f} s")
    return dest


def timed(search: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
          queries: np.ndarray) -> tuple[float, np.ndarray]:
    """p50 ms of one search per query, and the ids found."""
    ms, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        ids, _ = search(q[None, :])
        ms.append((time.perf_counter() - t0) * 1000)
        found.append(ids[0])
    return float(np.percentile(ms, 50)), np.array(found)


def by_id_list(index: Any, mask: np.ndarray, id_list: str,
               q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, sims = index._engine_search(q, K, id_list, max(index.ef_search, K))
    return index._fill_short(q, K, mask, int(mask.sum()), ids, sims)


def recall(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a[a >= 0]) & set(b[b >= 0])) / max(1, (b >= 0).sum())
                          for a, b in zip(ids, truth, strict=True)]))


def main() -> None:
    from musicrec.filters import Where
    from musicrec.index import exact_top_k
    from musicrec.library import Library
    from musicrec.request import RecommendRequest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    lib = Library.open(library(args.rows))
    index = lib.index
    index.exact_below = 0
    rng = np.random.default_rng(0)
    queries = np.asarray(lib.vectors[np.sort(rng.choice(len(lib), args.queries, False))])
    results = []
    for name, filters in FILTERS.items():
        where = Where.of(RecommendRequest(seed_tracks=["x"], **filters))
        mask = where.mask(lib)
        allowed = np.flatnonzero(mask)
        listed, negate = (allowed, False) if len(allowed) * 2 <= len(lib) else (
            np.flatnonzero(~mask), True)
        id_list = f"row {'not in' if negate else 'in'} {listed.tolist()}"
        exact_ms, truth = timed(partial(exact_top_k, lib.vectors, k=K, rows=allowed), queries)
        expr_ms, by_expr = timed(partial(index.search, k=K, allowed=mask, where=where), queries)
        list_ms, by_list = timed(partial(by_id_list, index, mask, id_list), queries)
        row = {"filter": name, "allowed_share": round(len(allowed) / len(lib), 4),
               "expression": where.expression(), "expression_chars": len(where.expression()),
               "id_list_chars": len(id_list), "exact_p50_ms": round(exact_ms, 2),
               "expression_p50_ms": round(expr_ms, 1), "id_list_p50_ms": round(list_ms, 1),
               "expression_recall": round(recall(by_expr, truth), 4),
               "id_list_recall": round(recall(by_list, truth), 4)}
        results.append(row)
        print(json.dumps(row))
    out = {"rows": len(lib), "k": K, "queries": args.queries, "filters": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "milvus_filters.json").write_text(json.dumps(out, indent=2))
    index.close()


if __name__ == "__main__":
    main()
