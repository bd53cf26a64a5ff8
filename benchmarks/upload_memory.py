"""Memory of an API worker receiving long audio uploads (issue 31, item 4).

Synthesises a WAV of `--megabytes` (372 MB: 35 minutes of 44.1 kHz stereo 16-bit tones, beats
and noise) and a library of 3,000 synthetic songs in a temporary folder, starts
`musicrec serve --workers 1` on loopback with its own empty TMPDIR, then posts the file to
`POST /v1/musicrec/audio-features`: once alone, then `--uploads` times at once, `--rounds`
times over (a worker that kept what each round freed would grow from round to round). With one
worker the server process is the worker; its resident memory is sampled (with its children,
from /proc) every 20 ms, and its peak is also read from the kernel's high-water mark
(VmHWM), reset before each phase, so no short peak between samples is missed.

Done when (issue 31): the peak during four concurrent uploads stays under 1 GB; with one
analysis at a time per worker (`Settings.audio_analyses`), one answer is 200 and the others
503 with Retry-After; the TMPDIR is empty afterwards.

    .venv/bin/python benchmarks/upload_memory.py

Results go to benchmarks/results/upload_memory.json, one entry per sample rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from api_load import free_port, stop_server, tree, wait_ready  # noqa: E402

RESULTS = HERE / "results" / "upload_memory.json"
LIMIT_MB = 1024
WAV_HEADER = 44
CHUNK_SECONDS = 30


def write_wav(path: Path, megabytes: float, rate: int, seed: int = 0) -> float:
    """A stereo 16-bit WAV of about `megabytes` (10^6 bytes) at `rate` Hz: an A major chord, a
    click every half second (120 BPM) and noise, written 30 s at a time. Returns its seconds."""
    import soundfile as sf

    seconds = int((megabytes * 1e6 - WAV_HEADER) / (rate * 2 * 2))
    rng = np.random.default_rng(seed)
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=2, subtype="PCM_16") as out:
        for start in range(0, seconds, CHUNK_SECONDS):
            t = np.arange(start * rate, min(start + CHUNK_SECONDS, seconds) * rate) / rate
            chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 6
            clicks = np.exp(-40 * (t % 0.5)) * np.sin(2 * np.pi * 1000 * t) * 0.3
            mono = chord + clicks
            out.write(np.stack([mono, mono], axis=1) + rng.normal(0, 0.03, (len(t), 2)))
    return float(seconds)


def build_library(folder: Path, rows: int) -> Path:
    """`musicrec synth` + `musicrec build`, as a user would."""
    csv, library = folder / "songs.csv", folder / "library"
    for args in (["synth", "--out", str(csv), "--rows", str(rows)],
                 ["build", str(csv), "--library", str(library)]):
        subprocess.run([sys.executable, "-m", "musicrec.cli", *args], check=True,
                       capture_output=True)
    return library


def start_server(library: Path, port: int, tmpdir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    command = [sys.executable, "-m", "musicrec.cli", "serve", "--library", str(library),
               "--port", str(port), "--workers", "1"]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def status_kb(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM); 0 for a process that has ended."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in text.splitlines() if x.startswith(field + ":")), f"{field}: 0 kB")
    return int(line.split()[1])


def rss_mb(root: int) -> float:
    """Resident memory of a process and its descendants (MB)."""
    return sum(status_kb(pid, "VmRSS") for pid in tree(root)) / 1024


class Sampler:
    """The peak of `rss_mb(root)`, sampled every 20 ms on a thread while in use."""

    def __init__(self, root: int):
        self.root = root
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.root))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def upload(url: str, wav: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    with wav.open("rb") as f:
        answer = httpx.post(url, files={"file": (wav.name, f, "audio/wav")}, timeout=900)
    return {"status": answer.status_code, "retry_after": answer.headers.get("retry-after"),
            "seconds": round(time.perf_counter() - t0, 1),
            "body": answer.text[:120] if answer.status_code != 200 else "audio features"}


def phase(url: str, wav: Path, uploads: int, server: int, tmpdir: Path) -> dict[str, Any]:
    """`uploads` posts of the file at once: the worker's memory before, at its peak, after."""
    baseline = rss_mb(server)
    Path(f"/proc/{server}/clear_refs").write_text("5")  # VmHWM := VmRSS
    t0 = time.perf_counter()
    with Sampler(server) as sampler, ThreadPoolExecutor(uploads) as pool:
        answers = list(pool.map(lambda _: upload(url, wav), range(uploads)))
    seconds = time.perf_counter() - t0
    time.sleep(1)
    return {"uploads": uploads, "baseline_rss_mb": round(baseline, 1),
            "peak_rss_mb": round(status_kb(server, "VmHWM") / 1024, 1),
            "sampled_peak_rss_mb": round(sampler.peak, 1), "after_rss_mb": round(rss_mb(server), 1),
            "statuses": sorted(a["status"] for a in answers), "seconds": round(seconds, 1),
            "answers": answers, "temp_files_left": sorted(os.listdir(tmpdir))}


def report(results: dict[str, Any]) -> None:
    print(f"\n{results['file_mb']:.0f} MB WAV ({results['file_seconds'] / 60:.1f} min at "
          f"{results['file_rate_hz']:,} Hz), 1 worker, limit {LIMIT_MB} MB")
    head = ("phase", "baseline MB", "peak MB (VmHWM)", "sampled peak MB", "after MB",
            "statuses", "s", "temp files left")
    print(" | ".join(head))
    for name, p in results["phases"].items():
        print(" | ".join(str(x) for x in (
            name, p["baseline_rss_mb"], p["peak_rss_mb"], p["sampled_peak_rss_mb"],
            p["after_rss_mb"], " ".join(map(str, p["statuses"])), p["seconds"],
            len(p["temp_files_left"]))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=372)
    parser.add_argument("--rate", type=int, default=44_100, help="the WAV's sample rate (Hz)")
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of concurrent uploads")
    parser.add_argument("--rows", type=int, default=3000, help="songs in the library")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="musicrec-upload-bench-") as work:
        folder = Path(work)
        wav = folder / "long.wav"
        seconds = write_wav(wav, args.megabytes, args.rate)
        library = build_library(folder, args.rows)
        tmpdir = folder / "server-tmp"
        tmpdir.mkdir()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(library, port, tmpdir, folder / "server.log")
        try:
            wait_ready(base, server)
            url = f"{base}/v1/musicrec/audio-features"
            phases = {"one upload": phase(url, wav, 1, server.pid, tmpdir)}
            for n in range(1, args.rounds + 1):
                phases[f"{args.uploads} at once, round {n}"] = phase(
                    url, wav, args.uploads, server.pid, tmpdir)
        finally:
            stop_server(server)
        results = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                   "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                               "load_before": round(load_before, 2)},
                   "file_mb": round(wav.stat().st_size / 1e6, 1), "file_seconds": seconds,
                   "file_rate_hz": args.rate,
                   "limit_mb": LIMIT_MB, "phases": phases}
    saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    RESULTS.write_text(json.dumps({**saved, f"{args.rate} Hz": results}, indent=2) + "\n")
    report(results)


if __name__ == "__main__":
    main()
