"""`build_library` of two checkouts side by side: each stage's seconds and the peak memory.

The host's speed drifts between runs an hour apart, so a change to the build is judged here:
each round builds the same catalogue once with every source folder's code, in a fresh process,
taking turns, and reports every stage's seconds (the build's own `stage_seconds`), the whole
build and the process's peak resident memory.

    .venv/bin/musicrec synth --out /tmp/bench1200k.csv --rows 1200000
    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/build_ab.py /tmp/bench1200k.csv \\
        --src before=/tmp/before/src --src after=src --rounds 2

Results: results/build_ab.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHILD = """
import json, resource, sys, time
from pathlib import Path
from musicrec.build import build_library
start = time.perf_counter()
report = build_library(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"total": time.perf_counter() - start, "stages": report.stage_seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_once(src: Path, catalogue: Path) -> dict:
    """One build with the code under `src`, in a fresh process, into a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="build_ab-") as scratch:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(catalogue), str(Path(scratch) / "lib")],
            env={**os.environ, "PYTHONPATH": str(src.resolve())}, capture_output=True,
            text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogue", type=Path)
    parser.add_argument("--src", action="append", required=True,
                        help="label=path of a checkout's src folder (repeat)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sources = dict(item.split("=", 1) for item in args.src)
    runs: dict[str, list[dict]] = {label: [] for label in sources}
    for _ in range(args.rounds):
        for label, src in sources.items():
            runs[label].append(build_once(Path(src), args.catalogue))

    stages = list(dict.fromkeys(s for rs in runs.values() for r in rs for s in r["stages"]))
    table = Table("stage", *sources, title=f"build of {args.catalogue.name}: seconds per "
                  f"round ({args.rounds} rounds, taking turns)")
    for stage in [*stages, "total", "peak MB"]:
        cells = []
        for label in sources:
            values = [r["peak_mb"] if stage == "peak MB" else
                      r["total"] if stage == "total" else r["stages"].get(stage, 0.0)
                      for r in runs[label]]
            cells.append(" / ".join(f"{v:.0f}" if stage == "peak MB" else f"{v:.2f}"
                                    for v in values))
        table.add_row(stage, *cells)
    Console(width=120).print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "build_ab.json").write_text(json.dumps(
        {"catalogue": str(args.catalogue), "sources": sources, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
