"""Speed and memory: build, open and query a synthetic library, side by side with alternatives.

    .venv/bin/python benchmarks/run.py --rows 1200000      # the full Kaggle size
    .venv/bin/python benchmarks/run.py --rows 200000       # a quick run

In one run:

1. a synthetic catalogue in the Kaggle schema (`musicrec.synth.write_catalogue`, seed 0; cached
   under benchmarks/work/);
2. `build_library` in a child process: wall time, time per stage (BuildReport.stage_seconds) and
   peak resident memory per stage (Linux: VmHWM, reset at each stage through clear_refs);
3. `Library.open` in a fresh child process: time, and resident memory after opening;
4. Annoy forests over the same vectors (`--annoy-trees`, default 10 and 50), each built in a
   child process (build time, peak memory), its search_k doubled from Annoy's default until its
   recall@10 reaches our index's;
5. query latency, in this process, the methods taking turns query by query so that the noise of
   a shared machine hits them alike: our HNSW index raw (`lib.index.search`) and through
   `lib.recommend` (1 seed, top 10), `lib.recommend` with 5 seeds and min/max filters (every
   result checked against the filters; latency and recall per filter set), exact brute force in
   numpy, Annoy, and scikit-learn's `cosine_similarity(query, whole matrix)` + argsort, the
   approach people used before; then each method again alone, its queries back to back;
6. where `lib.recommend` spends its time: each step of the recommender timed (`breakdown`);
7. a speed gauge before and after (`speed_gauge`: the same fixed work every run), so that runs
   on a shared machine whose speed drifts can be told apart.

Recall@10 of a raw search counts a result as correct when its similarity reaches the 10th best
exact similarity (ties, e.g. duplicate songs, are not misses). Recall of `lib.recommend` compares
its songs with the same recommender over exact search. Results go to
benchmarks/results/run_<rows>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results"
MB = 1024 * 1024
K = 10
TARGETS = {"build_s": 90, "build_peak_mb": 2048, "open_s": 2, "open_rss_mb": 600,
           "one_seed_p50_ms": 1, "recall": 0.98, "five_seeds_p50_ms": 3, "filtered_recall": 0.95,
           "vs_sklearn": 100}
ONE, RAW, FIVE = ("ours: lib.recommend, 1 seed", "ours: HNSW index.search raw",
                  "ours: lib.recommend, 5 seeds + filters")
BRUTE, ANNOY, SKLEARN = ("exact brute force (numpy)", "Annoy",
                         "sklearn cosine_similarity + argsort")
# Selectivity bands of the 5-seed queries' filters (share of songs passing), used in turn.
BANDS = (0.001, 0.01, 0.1, 0.5, 0.9)


# --- measuring a process's memory (Linux /proc) ------------------------------------------------

def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    return _status_mb("VmRSS")


def peak_mb() -> float:
    """Peak resident memory of this process since start or the last `reset_peak`, in MiB."""
    return _status_mb("VmHWM")


def reset_peak() -> None:
    """Reset the peak (VmHWM) to the current resident size (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


# --- child processes ---------------------------------------------------------------------------

def child_build(source: str, dest: str) -> dict[str, Any]:
    """Build the library here; report times and the peak memory of each stage."""
    from musicrec.build import BuildProgress, build_library

    class StagePeaks(BuildProgress):
        def __init__(self) -> None:
            self.peaks: dict[str, float] = {}
            self.current: str | None = None

        def start(self, stage: str, total: int) -> None:
            self.close()
            self.current = stage
            reset_peak()

        def close(self) -> None:
            if self.current is not None:
                self.peaks[self.current] = round(peak_mb(), 1)

    baseline = rss_mb()
    progress = StagePeaks()
    t0 = time.perf_counter()
    report = build_library(source, dest, progress=progress)
    wall = time.perf_counter() - t0
    progress.close()
    import resource

    # Resetting VmHWM also lowers what getrusage reports, so the peak is the largest stage peak.
    peak = max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                *progress.peaks.values()])
    return {"wall_s": round(wall, 2), "stage_seconds": report.stage_seconds,
            "stage_peak_mb": progress.peaks, "rss_before_mb": round(baseline, 1),
            "peak_mb": round(peak, 1),
            "rows_read": report.rows_read, "rows_kept": report.rows_kept,
            "duplicates": report.duplicates, "rejected": sum(report.rejected.values())}


def child_open(dest: str) -> dict[str, Any]:
    """Open the library in this fresh process: time and memory, then one recommendation."""
    t0 = time.perf_counter()
    from musicrec.library import Library
    from musicrec.request import RecommendRequest

    imported = time.perf_counter()
    rss_imported = rss_mb()
    lib = Library.open(dest)
    opened = time.perf_counter()
    rss_open = rss_mb()
    track = lib.table.column("id")[0].as_py()
    lib.recommend(RecommendRequest(seed_tracks=[track], limit=K))
    first = time.perf_counter()
    return {"import_s": round(imported - t0, 3), "open_s": round(opened - imported, 3),
            "first_recommend_s": round(first - opened, 3),
            "rss_after_import_mb": round(rss_imported, 1),
            "rss_after_open_mb": round(rss_open, 1),
            "rss_after_first_recommend_mb": round(rss_mb(), 1)}


def child_annoy(vectors: str, trees: str, out: str) -> dict[str, Any]:
    """Build an Annoy index (angular = cosine ranking) over the library's vectors."""
    from annoy import AnnoyIndex

    data = np.load(vectors, mmap_mode="r")
    reset_peak()
    before = rss_mb()
    t0 = time.perf_counter()
    index = AnnoyIndex(data.shape[1], "angular")
    for i in range(len(data)):
        index.add_item(i, data[i])
    added = time.perf_counter()
    index.build(int(trees), n_jobs=-1)
    index.save(out)
    return {"add_s": round(added - t0, 2), "build_s": round(time.perf_counter() - t0, 2),
            "trees": int(trees), "peak_mb": round(peak_mb(), 1), "rss_before_mb": round(before, 1),
            "file_mb": round(Path(out).stat().st_size / MB, 1)}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "build": child_build, "open": child_open, "annoy": child_annoy}


def in_child(name: str, *args: str) -> dict[str, Any]:
    """Run one CHILDREN function in a fresh Python process; its JSON answer, plus wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", name, *args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - t0, 2)
    return result


# --- queries -----------------------------------------------------------------------------------

def catalogue(rows: int) -> Path:
    from musicrec.synth import write_catalogue

    path = WORK / f"bench_{rows}.csv"
    if not path.is_file():
        print(f"synthesising {rows:,} songs into {path} ...", flush=True)
        write_catalogue(path, rows, seed=0)
    return path


def exact_truth(vectors: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-10 rows and the 10th best similarity, for the songs at `rows` as queries."""
    from musicrec.index import exact_top_k

    ids, sims = [], []
    for start in range(0, len(rows), 32):
        i, s = exact_top_k(vectors, np.asarray(vectors[rows[start:start + 32]]), K)
        ids.append(i)
        sims.append(s)
    return np.vstack(ids), np.vstack(sims)[:, K - 1]


def tie_recall(vectors: np.ndarray, query: np.ndarray, found: np.ndarray,
               kth_sim: float) -> float:
    """Share of the K found rows whose similarity reaches the exact K-th best."""
    found = np.asarray(found, dtype=np.int64)
    found = found[found >= 0]
    sims = np.asarray(vectors[found]) @ query
    return float((sims >= kth_sim - 1e-5).sum() / K)


def numpy_top10(vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Exact brute force: one matrix-vector product and a partial sort."""

    def search(q: np.ndarray) -> np.ndarray:
        sims = vectors @ q
        top = np.argpartition(-sims, K - 1)[:K]
        return top[np.argsort(-sims[top])]

    return search


def sklearn_top10(vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """What people did before: cosine_similarity against the whole matrix, then argsort."""
    from sklearn.metrics.pairwise import cosine_similarity

    def search(q: np.ndarray) -> np.ndarray:
        return np.argsort(-cosine_similarity(q[None, :], vectors)[0])[:K]

    return search


def scratch_mb(fn: Callable[[], object]) -> float:
    """Peak Python/numpy memory allocated during one call (tracemalloc), in MiB."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / MB, 1)


def percentiles(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 4),
            "p99_ms": round(float(np.percentile(ms, 99)), 4),
            "mean_ms": round(float(np.mean(ms)), 4), "queries": len(ms)}


def tune_annoy(index: Any, vectors: np.ndarray, rows: np.ndarray, kth: np.ndarray,
               wanted: float) -> tuple[int, float]:
    """Smallest search_k, doubling from Annoy's default (trees x k), whose recall@10 reaches
    `wanted`; the largest tried if none does."""
    search_k, recall = K * index.get_n_trees(), 0.0
    while search_k <= 1_000_000:
        recall = float(np.mean([
            tie_recall(vectors, np.asarray(vectors[r]),
                       np.array(index.get_nns_by_vector(vectors[r], K, search_k=search_k)), s)
            for r, s in zip(rows, kth, strict=True)]))
        if recall >= wanted:
            break
        search_k *= 2
    return search_k, recall


def breakdown(lib: Any, requests: list[Any]) -> dict[str, float]:
    """Mean milliseconds per request spent in each stage of the recommender.

    The stages are called one after another as `Recommender.recommend` calls them (without
    its widening of a pool the rules used up), each timed on its own; the filter mask is
    computed afresh.
    """
    rec = lib.recommender()
    totals: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0

    for req in requests:
        with stage("resolve_seeds"):
            seeds = rec.resolve_seeds(req)
        with stage("queries"):
            queries = rec.queries(seeds, req)
        with stage("filter_mask"):
            mask = rec._compute_mask(req) if req.has_filters else None
        pool = rec.pool_size(req, len(seeds))
        with stage("candidates (index search)"):
            pools = rec.candidates(queries, pool, mask, seeds)
        with stage("rerank"):
            picks = rec.rerank(pools, req)
        with stage("tracks (records)"):
            lib.tracks([p.row for p in picks])
        with stage("explain"):
            rec.explain(picks, seeds, req.target, queries)
    out = {name: total / len(requests) * 1e3 for name, total in totals.items()}
    out["sum of stages"] = sum(out.values())
    return {k: round(v, 4) for k, v in out.items()}


def band_filters(lib: Any, share: float, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """min_energy and max_tempo letting about `share` of the songs through (each about its
    square root), jittered so that no two queries share a filter mask."""
    share *= rng.uniform(0.9, 1.1)
    energy = np.asarray(lib.numeric("energy")[::37])
    tempo = np.asarray(lib.numeric("tempo")[::37])
    low_energy = float(np.quantile(energy, 1 - min(np.sqrt(share), 1.0)))
    passing = tempo[energy >= low_energy]
    high_tempo = float(np.quantile(passing, min(share * len(energy) / len(passing), 1.0)))
    return {"min": {"energy": round(low_energy, 4)}, "max": {"tempo": round(high_tempo, 2)}}


def check_filters(lib: Any, rows: list[int], filters: dict[str, dict[str, float]]) -> int:
    """Number of results violating a min/max filter."""
    bad = 0
    for kind, bounds in filters.items():
        for name, value in bounds.items():
            vals = lib.numeric(name)[rows]
            bad += int(np.sum(~(vals >= value) if kind == "min" else ~(vals <= value)))
    return bad


def queries(lib: Any, args: argparse.Namespace, annoys: dict[int, Path]) -> dict[str, Any]:
    """Latency and recall of every method, taking turns query by query.

    Args:
        lib: the opened library.
        args: the command line (numbers of queries).
        annoys: Annoy index file per number of trees.
    """
    from annoy import AnnoyIndex

    from musicrec.request import RecommendRequest

    vectors = np.asarray(lib.vectors)  # the mmap, paged in: every method reads the same RAM
    n = len(vectors)
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(n, size=args.queries, replace=False)
    five = rng.choice(n, size=(args.queries, 5))
    ids = lib.table.column("id").to_numpy(zero_copy_only=False)
    one_requests = [RecommendRequest(seed_tracks=[ids[r]], limit=K) for r in rows]
    filters = [band_filters(lib, BANDS[i % len(BANDS)], rng) for i in range(args.queries)]
    five_requests = [RecommendRequest(seed_tracks=list(ids[five[i]]), limit=K, **filters[i])
                     for i in range(args.queries)]
    _, kth = exact_truth(vectors, rows)
    sample = slice(0, args.recall_queries)
    index_recall = float(np.mean([tie_recall(vectors, vectors[r], lib.index.search(
        vectors[r], K)[0][0], s) for r, s in zip(rows[sample], kth[sample], strict=True)]))

    brute, sk = numpy_top10(vectors), sklearn_top10(vectors)
    methods: dict[str, Callable[[int], Any]] = {
        ONE: lambda i: lib.recommend(one_requests[i]),
        RAW: lambda i: lib.index.search(vectors[rows[i]], K)[0][0],
        FIVE: lambda i: lib.recommend(five_requests[i]),
        BRUTE: lambda i: brute(vectors[rows[i]]),
        SKLEARN: lambda i: sk(vectors[rows[i]]),
    }
    extra: dict[str, dict[str, Any]] = {}
    for trees, path in annoys.items():
        index = AnnoyIndex(vectors.shape[1], "angular")
        index.load(str(path))
        search_k, tuned = tune_annoy(index, vectors, rows[sample], kth[sample], index_recall)
        name = f"{ANNOY}, {trees} trees, search_k {search_k:,}"
        methods[name] = lambda i, index=index, search_k=search_k: np.array(
            index.get_nns_by_vector(vectors[rows[i]], K, search_k=search_k))
        extra[name] = {"trees": trees, "search_k": search_k, "tuned_recall@10": round(tuned, 4),
                       "resident_mb": round(path.stat().st_size / MB, 1),
                       "what": "the .ann file (mmap)"}
    times, answers = take_turns(methods, args)

    results: dict[str, dict[str, Any]] = {name: percentiles(ms) for name, ms in times.items()}
    for name in (RAW, BRUTE, SKLEARN, *extra):
        results[name]["recall@10"] = round(float(np.mean([
            tie_recall(vectors, vectors[rows[i]], found, kth[i])
            for i, found in enumerate(answers[name][:args.recall_queries])])), 4)
    reference = lib.recommender(exact=True)
    one = [_overlap(answers[ONE][i], reference.recommend(one_requests[i]))
           for i in range(args.recall_queries)]
    # Every 5-seed query is checked against the same recommender over exact filtered search.
    many = [_overlap(answers[FIVE][i], reference.recommend(five_requests[i]))
            for i in range(args.queries)]
    results[ONE]["recall@10"] = round(float(np.mean(one)), 4)
    results[FIVE]["recall@10"] = round(float(np.mean(many)), 4)
    results[FIVE]["filter_violations"] = sum(
        check_filters(lib, [r.track["row"] for r in answer.tracks], filters[i])
        for i, answer in enumerate(answers[FIVE]))
    results[FIVE]["short_lists"] = sum(len(a.tracks) < K for a in answers[FIVE])
    results[FIVE]["by_band"] = [
        {"band": band,
         "selectivity": round(float(np.mean([_passes(lib, filters[i]).mean()
                                             for i in range(j, args.queries, len(BANDS))][:20])),
                              5),
         **percentiles(times[FIVE][j::len(BANDS)]),
         "recall@10": round(float(np.mean(many[j::len(BANDS)])), 4),
         "min_recall@10": round(float(np.min(many[j::len(BANDS)])), 4)}
        for j, band in enumerate(BANDS)]
    for name in methods:  # the same queries again, back to back, nothing in between
        alone = []
        for i in range(min(args.profile_queries, len(times[name]))):
            t0 = time.perf_counter_ns()
            methods[name](i)
            alone.append((time.perf_counter_ns() - t0) / 1e6)
        results[name]["alone"] = percentiles(alone)
    profile = {"1 seed": breakdown(lib, one_requests[:args.profile_queries]),
               "5 seeds + filters": breakdown(lib, five_requests[:args.profile_queries])}

    vector_mb = round(vectors.nbytes / MB, 1)
    index_mb = round((lib.path / "index.faiss").stat().st_size / MB, 1)
    memory = {
        ONE: {"resident_mb": round(vector_mb + index_mb, 1),
              "what": "vectors.npy (mmap) + index.faiss"},
        RAW: {"resident_mb": index_mb, "what": "index.faiss (graph + its copy of the vectors)"},
        FIVE: {"resident_mb": round(vector_mb + index_mb, 1), "what": "as 1 seed"},
        BRUTE: {"resident_mb": vector_mb, "what": "vectors",
                "scratch_mb": scratch_mb(lambda: brute(vectors[rows[0]]))},
        SKLEARN: {"resident_mb": vector_mb, "what": "vectors",
                  "scratch_mb": scratch_mb(lambda: sk(vectors[rows[0]]))},
        **extra,
    }
    for name, mem in memory.items():
        results[name].update(mem)
    results[RAW]["recall@10_sample_for_tuning"] = round(index_recall, 4)
    return {"n": n, "dims": int(vectors.shape[1]), "methods": results, "profile_ms": profile,
            "recall_queries": args.recall_queries, "bands": BANDS}


def take_turns(methods: dict[str, Callable[[int], Any]], args: argparse.Namespace
               ) -> tuple[dict[str, list[float]], dict[str, list[Any]]]:
    """Run query i of every method before query i + 1 of any, rotating who goes first.

    Returns per method the latencies in ms and the answers (all of them for the 5-seed
    recommender, whose filters are checked; the first `recall_queries` for the others).
    """
    slow = {SKLEARN: args.sklearn_queries}
    for fn in methods.values():  # warm-up: caches, lazy columns, page faults
        for i in range(5):
            fn(i)
    times: dict[str, list[float]] = {name: [] for name in methods}
    answers: dict[str, list[Any]] = {name: [] for name in methods}
    names = list(methods)
    for i in range(args.queries):
        for name in names[i % len(names):] + names[:i % len(names)]:
            if i >= slow.get(name, args.queries):
                continue
            t0 = time.perf_counter_ns()
            out = methods[name](i)
            times[name].append((time.perf_counter_ns() - t0) / 1e6)
            if i < args.recall_queries or name == FIVE:
                answers[name].append(out)
    return times, answers


def _passes(lib: Any, filters: dict[str, dict[str, float]]) -> np.ndarray:
    ok = np.ones(len(lib), dtype=bool)
    for kind, bounds in filters.items():
        for name, value in bounds.items():
            vals = lib.numeric(name)
            ok &= (vals >= value) if kind == "min" else (vals <= value)
    return ok


def _overlap(found: Any, exact: Any) -> float:
    a = {r.track["row"] for r in found.tracks}
    b = {r.track["row"] for r in exact.tracks}
    return len(a & b) / max(len(b), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--recall-queries", type=int, default=200)
    parser.add_argument("--sklearn-queries", type=int, default=100)
    parser.add_argument("--annoy-trees", type=int, nargs="+", default=[10, 50],
                        help="Annoy forests to build and compare (one per number of trees)")
    parser.add_argument("--profile-queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](*args.child[1:])))
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    from musicrec.library import Library

    WORK.mkdir(parents=True, exist_ok=True)
    gauge_before = speed_gauge()
    source = catalogue(args.rows)
    dest = WORK / f"bench_{args.rows}_library"
    print("building ...", flush=True)
    build = in_child("build", str(source), str(dest))
    print("opening ...", flush=True)
    opened = in_child("open", str(dest))
    print("building Annoy ...", flush=True)
    annoy_paths = {trees: WORK / f"bench_{args.rows}_{trees}.ann" for trees in args.annoy_trees}
    annoy = {trees: in_child("annoy", str(dest / "vectors.npy"), str(trees), str(path))
             for trees, path in annoy_paths.items()}
    print("querying ...", flush=True)
    lib = Library.open(dest)
    query = queries(lib, args, annoy_paths)
    gauge = {"before_ms": gauge_before, "after_ms": speed_gauge()}
    report = {"rows": args.rows, "machine": {**machine(), "speed_gauge": gauge},
              "build": build, "open": opened,
              "annoy_build": annoy, "queries": query, "targets": TARGETS}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"run_{args.rows}.json"
    out.write_text(json.dumps(report, indent=2))
    print_tables(report)
    print(f"wrote {out}")


def speed_gauge(repeats: int = 15) -> float:
    """Milliseconds for a fixed piece of interpreter and NumPy work (median of `repeats`).

    The work is the same in every run, so it tells how fast the shared machine was at the
    time: the same code measured 80 s and 118 s for a build 15 minutes apart. A run whose gauge
    is higher ran in a slower hour; compare absolute figures of two runs through it.
    """
    block = np.random.default_rng(0).standard_normal((100_000, 32), dtype=np.float32)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.argpartition(-(block @ block[0]), 10)
        total = 0
        for i in range(100_000):
            total += i % 7
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)) * 1000, 2)


def machine() -> dict[str, Any]:
    import annoy
    import faiss
    import sklearn
    from threadpoolctl import threadpool_info

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted_core_changes": git("status", "--short", "--", "src").splitlines(),
            "cpu": cpu, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9,
                               1),
            "python": platform.python_version(), "numpy": np.__version__,
            "faiss": faiss.__version__, "annoy": getattr(annoy, "__version__", "1.17"),
            "sklearn": sklearn.__version__,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "threadpools": [{k: v for k, v in pool.items() if k != "filepath"}
                            for pool in threadpool_info()]}


def print_tables(report: dict[str, Any]) -> None:
    """The two tables (build/open against targets; queries against alternatives) and ratios."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    m, b, o, q = report["machine"], report["build"], report["open"], report["queries"]
    t = TARGETS
    methods = q["methods"]
    one, raw, five = methods[ONE], methods[RAW], methods[FIVE]
    head = Table("what", "measured", "target", "met", title=(
        f"musicrec on {q['n']:,} synthetic songs x {q['dims']} dims; {m['usable_cores']} cores "
        f"({m['cpu']}); speed gauge {m['speed_gauge']['before_ms']:.1f} ms before, "
        f"{m['speed_gauge']['after_ms']:.1f} ms after (higher: a slower hour)"))
    rows: list[tuple[str, str, str, bool | None]] = [
        ("build, wall", f"{b['wall_s']:.1f} s", f"< {t['build_s']} s", b["wall_s"] < t["build_s"]),
        ("build, peak memory", f"{b['peak_mb']:,.0f} MB", f"< {t['build_peak_mb']:,} MB",
         b["peak_mb"] < t["build_peak_mb"]),
        ("open", f"{o['open_s']:.2f} s", f"< {t['open_s']} s", o["open_s"] < t["open_s"]),
        ("resident after open", f"{o['rss_after_open_mb']:,.0f} MB",
         f"< {t['open_rss_mb']} MB", o["rss_after_open_mb"] < t["open_rss_mb"]),
        ("resident after the first recommendation", f"{o['rss_after_first_recommend_mb']:,.0f} MB",
         "(no target)", None),
        ("1 seed, p50", f"{one['p50_ms']:.3f} ms (alone {one['alone']['p50_ms']:.3f})",
         f"< {t['one_seed_p50_ms']} ms",
         one["p50_ms"] < t["one_seed_p50_ms"]),
        ("1 seed, recall@10", f"{one['recall@10']:.3f} (raw index {raw['recall@10']:.3f})",
         f">= {t['recall']}", min(one["recall@10"], raw["recall@10"]) >= t["recall"]),
        ("5 seeds + filters, p50",
         f"{five['p50_ms']:.3f} ms (alone {five['alone']['p50_ms']:.3f})",
         f"< {t['five_seeds_p50_ms']} ms",
         five["p50_ms"] < t["five_seeds_p50_ms"]),
        ("5 seeds + filters, violations", str(five["filter_violations"]), "0",
         five["filter_violations"] == 0),
        ("5 seeds + filters, recall@10 in the worst band",
         f"{min(b['recall@10'] for b in five['by_band']):.3f}", f">= {t['filtered_recall']}",
         min(b["recall@10"] for b in five["by_band"]) >= t["filtered_recall"]),
    ]
    sk = methods[SKLEARN]
    vs = sk["p50_ms"] / one["p50_ms"]
    vs_alone = sk["alone"]["p50_ms"] / one["alone"]["p50_ms"]
    rows.append(("lib.recommend vs sklearn cosine, p50",
                 f"{vs:,.1f}x faster (alone {vs_alone:,.1f}x)", f">= {t['vs_sklearn']}x",
                 vs >= t["vs_sklearn"]))
    for row in rows:
        met = "" if row[3] is None else "yes" if row[3] else "[bold red]NO[/]"
        head.add_row(*row[:3], met)
    console.print(head)
    stages = Table("stage", "seconds", "peak MB", title="build stages")
    for stage, sec in b["stage_seconds"].items():
        stages.add_row(stage, f"{sec:.1f}", f"{b['stage_peak_mb'].get(stage, 0):,.0f}")
    console.print(stages)
    table = Table("method", "p50 ms", "p99 ms", "p50 alone", "recall@10", "memory MB",
                  "p50 vs ours", title="queries (top 10), taking turns in one process")
    for name, r in methods.items():
        reference = raw if "raw" in name or not name.startswith("ours") else one
        mem = f"{r['resident_mb']:,.0f}" + (f" + {r['scratch_mb']:,.0f}/query"
                                            if "scratch_mb" in r else "")
        ratio = r["p50_ms"] / raw["p50_ms"]
        table.add_row(name, f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}",
                      f"{r['alone']['p50_ms']:.3f}", f"{r.get('recall@10', float('nan')):.3f}", mem,
                      "1x" if r is reference else f"{ratio:,.1f}x raw index")
    console.print(table)
    by_band = Table("band", "share of songs passing", "p50 ms", "p99 ms", "recall@10",
                    "worst query", title="5 seeds + min_energy/max_tempo filters, by selectivity "
                    "(recall against the same recommender over exact filtered search)")
    for f in five["by_band"]:
        by_band.add_row(f"{f['band']:.1%}", f"{f['selectivity']:.4f}", f"{f['p50_ms']:.3f}",
                        f"{f['p99_ms']:.3f}", f"{f['recall@10']:.3f}",
                        f"{f['min_recall@10']:.2f}")
    console.print(by_band)
    profile = q["profile_ms"]
    steps = Table("stage", *profile, title="the recommender's stages, ms per request")
    for step in dict.fromkeys(k for p in profile.values() for k in p):
        steps.add_row(step, *(f"{p.get(step, 0):.3f}" for p in profile.values()))
    console.print(steps)
    for a in report["annoy_build"].values():
        console.print(f"Annoy build, {a['trees']} trees: {a['build_s']:.1f} s, peak "
                      f"{a['peak_mb']:,.0f} MB, file {a['file_mb']:,.0f} MB; our HNSW index "
                      f"build: {b['stage_seconds']['index']:.1f} s, file "
                      f"{methods[RAW]['resident_mb']:,.0f} MB")
    for name, r in methods.items():
        if not name.startswith("ours"):
            console.print(f"{name}: {_times(r['p50_ms'], one['p50_ms'])} lib.recommend "
                          f"(1 seed), {_times(r['p50_ms'], raw['p50_ms'])} our raw index "
                          "search (p50)")


def _times(theirs: float, ours: float) -> str:
    """'12.3x slower than' or '2.0x faster than', from two latencies."""
    ratio = theirs / ours
    return f"{ratio:,.1f}x slower than" if ratio >= 1 else f"{1 / ratio:,.1f}x faster than"


if __name__ == "__main__":
    main()
