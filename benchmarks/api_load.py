"""Load benchmark of the REST API: recommendations per second and latency on loopback.

Builds (or reuses) a synthetic library of `--rows` songs under benchmarks/work/, starts
`uvicorn` with one worker per core on a free loopback port, warms it up, then sends a bounded
number of `GET /v1/recommendations` requests at a fixed concurrency from an async httpx client
and reports requests/s, latency percentiles and errors, overall and per kind of request.
The client runs on the same machine, so it competes with the server for the cores.

    .venv/bin/python benchmarks/api_load.py                  # 1.2M songs
    .venv/bin/python benchmarks/api_load.py --rows 200000 --requests 5000

Targets (2 cores): at least 500 recommendations/s, p99 under 50 ms, zero errors.
Results go to benchmarks/results/api_load.json, one entry per setting (size, client, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results" / "api_load.json"
TARGET_RPS = 500
TARGET_P99_MS = 50
console = Console()


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
    console.print(f"built {report.rows_kept:,} songs in {time.perf_counter() - t0:.0f} s")
    source.unlink()
    return library


@dataclass
class Job:
    kind: str
    params: dict[str, str | int | float]


def make_jobs(library: Path, count: int, limit: int, seed: int) -> list[Job]:
    """A deterministic mix of requests, in the proportions a client might send them.

    60% one seed track; 20% one seed track with a target and a min/max window; 10% three
    seeds (two tracks and an artist); 10% a sound family as genre seed.
    """
    from musicrec.library import Library

    lib = Library.open(library)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(lib), size=count * 3, replace=True)
    records = lib.tracks(np.sort(np.unique(rows)))
    by_row = {r["row"]: r for r in records}
    n_families = len(lib.families.families)
    jobs = []
    for i in range(count):
        a, b, c = (by_row[int(r)] for r in rows[3 * i:3 * i + 3])
        pick = i % 10
        if pick < 6:
            jobs.append(Job("1 track", {"seed_tracks": a["id"]}))
        elif pick < 8:
            energy = round(float(rng.uniform(0.2, 0.9)), 2)
            tempo = round(float(a["tempo"]))
            jobs.append(Job("1 track + target/min/max", {
                "seed_tracks": a["id"], "target_energy": energy,
                "min_tempo": max(0, tempo - 20), "max_tempo": tempo + 20}))
        elif pick < 9:
            jobs.append(Job("3 seeds", {"seed_tracks": f"{a['id']},{b['id']}",
                                        "seed_artists": c["artist_ids"][0]}))
        else:
            jobs.append(Job("1 genre", {"seed_genres": str(int(rng.integers(n_families)))}))
        jobs[-1].params["limit"] = limit
    return jobs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(library: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """`musicrec serve`, as a user would start it, in its own process group."""
    command = [sys.executable, "-m", "musicrec.cli", "serve", "--library", str(library),
               "--port", str(port), "--workers", str(workers)]
    log = (WORK / "api_load_server.log").open("w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120) -> float:
    """Seconds until /health answers (every worker has opened the library)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s")


def cpu_seconds(root: int) -> float | None:
    """User + system CPU time of a process and all its descendants (Linux /proc), or None."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    if root not in times:
        return None
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree.update(children)
        frontier = children
    return sum(times[pid] for pid in tree)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@dataclass
class Outcome:
    kind: str
    seconds: float
    status: int  # 0: no answer (connection error or timeout)


# A non-empty answer starts like this (JSONResponse keeps key order); checking the prefix
# rather than parsing JSON keeps the client's own cost out of the measurement.
NON_EMPTY = b'{"tracks":[{'


async def gather_users(jobs: list[Job], concurrency: int,
                       one_user: Callable[[Iterator[Job], list[Outcome]], Awaitable[None]]
                       ) -> tuple[list[Outcome], float]:
    """Run `concurrency` users taking jobs from one queue; the outcomes and the wall time."""
    queue = iter(jobs)
    outcomes: list[Outcome] = []
    t0 = time.perf_counter()
    await asyncio.gather(*(one_user(queue, outcomes) for _ in range(concurrency)))
    return outcomes, time.perf_counter() - t0


def drive_httpx(base: str, jobs: list[Job], concurrency: int) -> tuple[list[Outcome], float]:
    """httpx's async client, one keep-alive connection per user."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def main() -> tuple[list[Outcome], float]:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                                     headers={"Authorization": "Bearer benchmark"}) as client:

            async def user(queue: Iterator[Job], outcomes: list[Outcome]) -> None:
                for job in queue:
                    t0 = time.perf_counter()
                    try:
                        response = await client.get("/v1/recommendations", params=job.params)
                        status = response.status_code
                        if status == 200 and not response.content.startswith(NON_EMPTY):
                            status = -1  # an empty answer counts as an error
                    except httpx.HTTPError:
                        status = 0
                    outcomes.append(Outcome(job.kind, time.perf_counter() - t0, status))

            return await gather_users(jobs, concurrency, user)

    return asyncio.run(main())


def drive_raw(base: str, jobs: list[Job], concurrency: int) -> tuple[list[Outcome], float]:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, one connection per user.

    httpx spends about 2 ms of CPU per request, as much as the server; on 2 cores shared by
    client and server that caps the rate at the client. This client spends about 0.1 ms.
    """
    host, port = base.removeprefix("http://").rsplit(":", 1)

    async def user(queue: Iterator[Job], outcomes: list[Outcome]) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for job in queue:
                request = (f"GET /v1/recommendations?{urlencode(job.params)} HTTP/1.1\r\n"
                           f"Host: {host}\r\nAuthorization: Bearer benchmark\r\n\r\n")
                t0 = time.perf_counter()
                try:
                    writer.write(request.encode())
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                    body = await reader.readexactly(int(length[1]) if length else 0)
                    status = int(head[9:12])
                    if status == 200 and not body.startswith(NON_EMPTY):
                        status = -1
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    status = 0
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                outcomes.append(Outcome(job.kind, time.perf_counter() - t0, status))
        finally:
            writer.close()

    return asyncio.run(gather_users(jobs, concurrency, user))


CLIENTS = {"httpx": drive_httpx, "raw": drive_raw}


def summarise(outcomes: list[Outcome], seconds: float | None) -> dict[str, Any]:
    ms = np.array([o.seconds for o in outcomes]) * 1000
    errors = sum(o.status != 200 for o in outcomes)
    out: dict[str, Any] = {"requests": len(outcomes), "errors": errors,
                           "p50_ms": round(float(np.percentile(ms, 50)), 2),
                           "p90_ms": round(float(np.percentile(ms, 90)), 2),
                           "p99_ms": round(float(np.percentile(ms, 99)), 2),
                           "max_ms": round(float(ms.max()), 2)}
    if seconds is not None:
        out = {"requests_per_s": round(len(outcomes) / seconds, 1), "seconds": round(seconds, 2),
               **out}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_200_000, help="songs in the library")
    parser.add_argument("--requests", type=int, default=10_000, help="measured requests")
    parser.add_argument("--warmup", type=int, default=500, help="requests before measuring")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="uvicorn worker processes (default: one per core)")
    parser.add_argument("--limit", type=int, default=20, help="songs per recommendation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the request mix")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="httpx",
                        help="httpx's async client, or a minimal one that costs the "
                             "shared cores less")
    args = parser.parse_args()

    library = library_for(args.rows)
    jobs = make_jobs(library, args.warmup + args.requests, args.limit, args.seed)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(library, port, args.workers)
    try:
        startup = wait_ready(base, server)
        drive = CLIENTS[args.client]
        drive(base, jobs[:args.warmup], args.concurrency)
        server_cpu0, client_cpu0 = cpu_seconds(server.pid), time.process_time()
        outcomes, seconds = drive(base, jobs[args.warmup:], args.concurrency)
        server_cpu1, client_cpu1 = cpu_seconds(server.pid), time.process_time()
    finally:
        stop_server(server)

    overall = summarise(outcomes, seconds)
    # CPU per request tells what the server costs even when other work shares the cores.
    if server_cpu0 is not None and server_cpu1 is not None:
        overall["server_cpu_ms_per_request"] = round(
            (server_cpu1 - server_cpu0) * 1000 / len(outcomes), 2)
    overall["client_cpu_ms_per_request"] = round(
        (client_cpu1 - client_cpu0) * 1000 / len(outcomes), 2)
    load = os.getloadavg()[0]
    kinds = {kind: summarise([o for o in outcomes if o.kind == kind], None)
             for kind in dict.fromkeys(job.kind for job in jobs)}
    met = {"requests_per_s": overall["requests_per_s"] >= TARGET_RPS,
           "p99_ms": overall["p99_ms"] < TARGET_P99_MS, "errors": overall["errors"] == 0}
    table = Table(title=f"GET /v1/recommendations, {args.rows:,} songs, limit {args.limit}, "
                        f"{args.concurrency} in flight, {args.workers} workers, "
                        f"{args.client} client")
    for column in ("requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"):
        table.add_column(column, justify="right" if column != "requests" else "left")
    for name, row in [("all", overall), *kinds.items()]:
        table.add_row(f"{name} ({row['requests']:,})", str(row.get("requests_per_s", "")),
                      f"{row['p50_ms']:.1f}", f"{row['p90_ms']:.1f}", f"{row['p99_ms']:.1f}",
                      f"{row['max_ms']:.1f}", str(row["errors"]))
    console.print(table)
    console.print(f"CPU per request: server {overall.get('server_cpu_ms_per_request')} ms, "
                  f"client {overall['client_cpu_ms_per_request']} ms; load average {load:.1f} "
                  f"on {os.cpu_count()} cores")
    console.print(f"server ready in {startup:.1f} s; targets: >= {TARGET_RPS} req/s "
                  f"{'met' if met['requests_per_s'] else 'MISSED'}, p99 < {TARGET_P99_MS} ms "
                  f"{'met' if met['p99_ms'] else 'MISSED'}, zero errors "
                  f"{'met' if met['errors'] else 'MISSED'}")

    # One entry per setting, so runs at several sizes or with both clients sit side by side.
    runs = json.loads(RESULTS.read_text()).get("runs", {}) if RESULTS.is_file() else {}
    runs[f"{args.rows} songs, {args.client} client, limit {args.limit}, "
         f"{args.concurrency} in flight, {args.workers} workers"] = {
        "command": " ".join(["benchmarks/api_load.py", *sys.argv[1:]]),
        "settings": vars(args),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average_1min_after": round(load, 2)},
        "server_ready_s": round(startup, 2), "overall": overall, "by_kind": kinds,
        "targets_met": met,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "targets": {"requests_per_s": TARGET_RPS, "p99_ms": TARGET_P99_MS, "errors": 0},
        "runs": runs}, indent=2) + "\n")
    console.print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
