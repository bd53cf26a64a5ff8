"""Load benchmark of the REST API with wrk: requests/s and p99 over loopback, three kinds.

Builds (or reuses) a synthetic library of `--rows` songs under benchmarks/work/, starts
`musicrec serve` on a free loopback port, warms it up, then runs `wrk -t2 -c16 -d20s` (by
default) once per kind of request, each kind cycling through many different requests:

* `1 seed`: `GET /v1/recommendations?seed_tracks=ID` (limit 20);
* `5 seeds + targets + filters`: five track seeds, two targets and a min/max window;
* `audio-features x100`: `GET /v1/audio-features?ids=` with 100 ids.

The client runs on the same cores as the server. `--src DIR` serves another checkout's code
(for example the commit before a change: `git archive COMMIT src | tar -x -C /tmp/before`),
so before and after are measured by one script. `--pss` also measures the proportional set
size of the server's processes with 1 and with 2 workers after the same load (3 s of each
kind), and
`--profile SECONDS` records the busiest worker with py-spy during the `1 seed` run.

    .venv/bin/python benchmarks/api_load.py --rows 200000
    .venv/bin/python benchmarks/api_load.py --rows 200000 --src /tmp/before/src --label before

What `--pss` counts: the sum of `Pss` in /proc/PID/smaps_rollup over the server's process
tree, that is the one process with 1 worker, and the parent (which only waits and replaces
workers) plus its 2 forked workers with 2. Each resident page a process maps counts divided by
the number of processes mapping it: a private page whole, a page shared copy-on-write after
the fork or a page of the library's memory-mapped files in part, the parts of one page summing
to one. Library pages in the page cache that no server process maps are not counted. A process
outside the server that maps the library's files takes its part of their pages, so the script
closes its own copy of the library first and reports any other process that maps it.

Targets (2 cores, 1.2M songs): >= 1,000 req/s for 1 seed with p99 <= 25 ms and no errors;
>= 400 req/s for 5 seeds with targets and filters; >= 1,000 req/s for audio features x100.
Results go to benchmarks/results/api_load.json, one entry per setting.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results" / "api_load.json"
TARGETS = {"1 seed": 1000, "5 seeds + targets + filters": 400, "audio-features x100": 1000}
TARGET_P99_MS = 25
REQUESTS_PER_KIND = 2000


def library_for(rows: int) -> Path:
    """A library of `rows` synthetic songs (seed 0), built once and then reused."""
    from musicrec.build import build_library
    from musicrec.synth import write_catalogue

    folder = WORK / f"api_load_{rows}"
    library = folder / "library"
    if (library / "manifest.json").is_file():
        return library
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "catalogue.csv"
    t0 = time.perf_counter()
    write_catalogue(source, rows, seed=0)
    report = build_library(source, library)
    print(f"built {report.rows_kept:,} songs in {time.perf_counter() - t0:.0f} s")
    source.unlink()
    return library


def make_paths(library: Path, seed: int) -> dict[str, list[str]]:
    """For each kind, REQUESTS_PER_KIND different request paths (deterministic).

    The library it opens is closed again before it returns (see `other_mappers`)."""
    from musicrec.library import Library

    try:
        lib = Library.open(library)
        return _paths(lib, seed)
    finally:
        # A library is a reference cycle: collected now, its file mappings go with it.
        lib = None
        gc.collect()


def _paths(lib: Any, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    ids = lib.table.column("id")
    pick = rng.choice(len(lib), size=REQUESTS_PER_KIND * 100, replace=True)
    some = ids.take(pick[: REQUESTS_PER_KIND * 5]).to_pylist()
    tempo = lib.numeric("tempo")[pick[: REQUESTS_PER_KIND * 5]]
    paths: dict[str, list[str]] = {"1 seed": [], "5 seeds + targets + filters": [],
                                   "audio-features x100": []}
    for i in range(REQUESTS_PER_KIND):
        paths["1 seed"].append("/v1/recommendations?" + urlencode(
            {"seed_tracks": some[i], "limit": 20}))
        five = some[5 * i:5 * i + 5]
        middle = round(float(tempo[5 * i]))
        paths["5 seeds + targets + filters"].append("/v1/recommendations?" + urlencode({
            "seed_tracks": ",".join(five), "limit": 20,
            "target_energy": round(float(rng.uniform(0.2, 0.9)), 2),
            "target_danceability": round(float(rng.uniform(0.2, 0.9)), 2),
            "min_tempo": max(0, middle - 30), "max_tempo": middle + 30}))
    hundred = ids.take(pick).to_pylist()
    for i in range(REQUESTS_PER_KIND):
        paths["audio-features x100"].append(
            "/v1/audio-features?ids=" + ",".join(hundred[100 * i:100 * i + 100]))
    return paths


def lua_script(paths: list[str], folder: Path, name: str) -> Path:
    """A wrk script sending the paths in turn, each thread from its own starting point, and
    counting answers that are not 200 or not JSON objects."""
    listed = ",\n".join(json.dumps(p) for p in paths)
    script = folder / f"{name}.lua"
    script.write_text(f"""
local paths = {{
{listed}
}}
local i = 0
local bad = 0
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("start", #threads * 997)
end
function init(args) i = start end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {{["Authorization"] = "Bearer benchmark"}})
end
function response(status, headers, body)
  if status ~= 200 or string.sub(body, 1, 2) ~= '{{"' then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("P99_US %d\\n", latency:percentile(99)))
  io.write(string.format("P50_US %d\\n", latency:percentile(50)))
end
""")
    return script


def run_wrk(base: str, script: Path, threads: int, connections: int,
            seconds: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
         "-s", str(script), base], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    total = int(re.search(r"(\d+) requests in", out)[1])
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)
    errors = (int(non2xx[1]) if non2xx else 0) + (
        sum(int(g) for g in socket_errors.groups()) if socket_errors else 0)
    return {"requests_per_s": round(rps, 1), "requests": total, "errors": errors,
            "p50_ms": round(int(re.search(r"P50_US (\d+)", out)[1]) / 1000, 2),
            "p99_ms": round(int(re.search(r"P99_US (\d+)", out)[1]) / 1000, 2)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(library: Path, port: int, workers: int, src: Path | None
                 ) -> subprocess.Popen[bytes]:
    """`musicrec serve`, as a user would start it, in its own process group."""
    command = [sys.executable, "-m", "musicrec.cli", "serve", "--library", str(library),
               "--port", str(port), "--workers", str(workers)]
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    log = (WORK / "api_load_server.log").open("w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s")


def tree(root: int) -> list[int]:
    """A process and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (Linux /proc); ended ones count 0."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measured(base: str, script: Path, args: argparse.Namespace, server: int) -> dict[str, Any]:
    """One wrk run, plus the server's CPU milliseconds per request: what a request costs the
    server whatever else shares the cores (the machine these ran on was shared)."""
    pids = tree(server)
    cpu0 = cpu_seconds(pids)
    result = run_wrk(base, script, args.threads, args.connections, args.seconds)
    result["server_cpu_ms_per_request"] = round(
        (cpu_seconds(pids) - cpu0) * 1000 / max(1, result["requests"]), 3)
    return result


def other_mappers(library: Path, pids: list[int]) -> list[int]:
    """Processes outside `pids` that map a file of the library (Linux /proc).

    PSS splits each page among every process mapping it, so while another process (another
    server, a stray benchmark) maps the library, the server's PSS would be understated."""
    folder = str(library.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in pids:
            continue
        try:
            if folder in (entry / "maps").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def pss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += int(re.search(r"^Pss:\s+(\d+) kB", text, re.M)[1])
    return round(total_kb / 1024, 1)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def profile(pid: int, seconds: int, out: Path) -> dict[str, Any]:
    """py-spy on one worker: the share of samples in which each of our frames is on the
    stack (inclusive), and the top self-time frames."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    subprocess.run([spy, "record", "--pid", str(pid), "--duration", str(seconds),
                    "--format", "raw", "--output", str(out), "--nonblocking"],
                   capture_output=True, check=True)
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1]
                  + ")" if " (" in f else f for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        leaf[frames[-1]] += n
    return {"samples": total,
            "inclusive_top": [(f, round(100 * n / total, 1))
                              for f, n in inclusive.most_common(40)],
            "self_top": [(f, round(100 * n / total, 1)) for f, n in leaf.most_common(20)]}


def _profile_into(holder: dict[str, Any], pid: int, seconds: int, out: Path) -> None:
    holder.update(profile(pid, seconds, out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_200_000, help="songs in the library")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--seconds", type=int, default=20, help="wrk duration per kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--src", type=Path, help="serve this source folder's musicrec")
    parser.add_argument("--label", default="after", help="name of this run in the results")
    parser.add_argument("--kinds", default=",".join(TARGETS), help="comma-separated kinds")
    parser.add_argument("--pss", action="store_true", help="also PSS of 1 and 2 workers")
    parser.add_argument("--profile", type=int, default=0,
                        help="py-spy this many seconds of a worker during the 1-seed run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    load_before = os.getloadavg()[0]
    library = library_for(args.rows)
    paths = make_paths(library, args.seed)
    WORK.mkdir(parents=True, exist_ok=True)
    scripts = {kind: lua_script(paths[kind], WORK, re.sub(r"\W+", "_", kind))
               for kind in paths}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(library, port, args.workers, args.src)
    results: dict[str, Any] = {}
    flame: dict[str, Any] | None = None
    try:
        startup = wait_ready(base, server)
        for kind in args.kinds.split(","):
            run_wrk(base, scripts[kind], args.threads, args.connections, 3)  # warm-up
            if kind == "1 seed" and args.profile:
                workers = [p for p in tree(server.pid) if p != server.pid] or [server.pid]
                holder: dict[str, Any] = {}
                thread = threading.Thread(target=_profile_into, args=(
                    holder, workers[-1], args.profile, WORK / "profile.txt"))
                thread.start()
                results[kind] = measured(base, scripts[kind], args, server.pid)
                thread.join()
                flame = holder
            else:
                results[kind] = measured(base, scripts[kind], args, server.pid)
            print(f"{kind:32s} {results[kind]}", flush=True)
    finally:
        stop_server(server)

    memory: dict[str, Any] = {}
    if args.pss:
        for workers in (1, 2):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = start_server(library, port, workers, args.src)
            try:
                wait_ready(base, server)
                for kind in TARGETS:
                    run_wrk(base, scripts[kind], args.threads, args.connections, 3)
                pids = tree(server.pid)
                memory[f"pss_mb_{workers}_worker{'s' if workers > 1 else ''}"] = pss_mb(pids)
                others = other_mappers(library, pids)
                if others:
                    print(f"warning: processes {others} outside the server map the library: "
                          "the PSS above is understated")
                    memory.setdefault("pss_other_mappers", []).extend(others)
            finally:
                stop_server(server)
        memory["ratio_2_to_1"] = round(memory["pss_mb_2_workers"] / memory["pss_mb_1_worker"],
                                       3)
        print(memory)

    load = os.getloadavg()[0]
    runs = json.loads(RESULTS.read_text()).get("runs", {}) if RESULTS.is_file() else {}
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    key = (f"{args.label} ({stamp}): {args.rows} songs, wrk -t{args.threads} -c{args.connections} "
           f"-d{args.seconds}s, {args.workers} workers")
    runs[key] = {
        "command": " ".join(["benchmarks/api_load.py", *sys.argv[1:]]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average_1min_after": round(load, 2),
                    "load_average_1min_before": round(load_before, 2)},
        "server_ready_s": round(startup, 2), "kinds": results, **memory,
        "targets_met": {kind: r["requests_per_s"] >= TARGETS[kind] and r["errors"] == 0
                        and (kind != "1 seed" or r["p99_ms"] <= TARGET_P99_MS)
                        for kind, r in results.items()},
    }
    if flame:
        runs[key]["profile_1_seed"] = flame
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "targets": {"requests_per_s": TARGETS, "p99_ms_1_seed": TARGET_P99_MS, "errors": 0},
        "runs": runs}, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}; load average {load:.1f}")


if __name__ == "__main__":
    main()
