"""Accuracy and speed of musicrec.audio on signals with known answers.

    .venv/bin/python benchmarks/audio_accuracy.py            # about 2 minutes on 2 busy cores
    .venv/bin/python benchmarks/audio_accuracy.py --quick    # fewer cases, for a smoke run
    .venv/bin/python benchmarks/audio_accuracy.py --calibration   # re-derive calibration.py

Prints a table and writes benchmarks/results/audio_accuracy.json. Cases:

- *synthetic songs*: chords (I-IV-V-I / i-iv-V-i) plus accented clicks, every tempo on a grid
  times keys and modes, scaled to a loudness chosen at random and measured by pyloudnorm (the
  reference meter) when installed;
- *round trip*: random feature vectors rendered by `sketch` and analysed back;
- *timing*: one 3-minute 44.1 kHz stereo WAV and MP3, in this process (median of 5, CPU
  seconds) and in a fresh process (wall, imports included); a folder of 6 such files on 1
  and 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from musicrec.audio.analyze import analyze_file, analyze_paths, analyze_signal
from musicrec.audio.loudness import integrated_loudness
from musicrec.audio.sketch import sketch
from musicrec.audio.synthetic import chord_progression, click_track

SR = 22050
RESULTS = Path(__file__).parent / "results" / "audio_accuracy.json"
REAL_30K = Path(__file__).resolve().parents[2] / "shared" / "data" / "spotify_30k_songs" / \
    "spotify_songs.csv"


def tempo_outcome(found: float, true: float) -> str:
    ratio = found / true
    if abs(ratio - 1) < 0.02:
        return "exact"
    for m in (2.0, 0.5):
        if abs(ratio - m) < 0.02 * m:
            return "octave"
    return "wrong"


class Tally:
    def __init__(self) -> None:
        self.n = 0
        self.counts = {"tempo": 0, "octave": 0, "key": 0, "mode": 0, "key_mode": 0,
                       "loudness": 0}
        self.loudness_errors: list[float] = []
        self.failures: list[dict] = []

    def add(self, truth: dict, found: dict) -> None:
        self.n += 1
        outcome = tempo_outcome(found["tempo"], truth["tempo"])
        self.counts["tempo"] += outcome == "exact"
        self.counts["octave"] += outcome == "octave"
        self.counts["key"] += found["key"] == truth["key"]
        self.counts["mode"] += found["mode"] == truth["mode"]
        self.counts["key_mode"] += (found["key"], found["mode"]) == (truth["key"], truth["mode"])
        error = abs(found["loudness"] - truth["loudness"])
        self.loudness_errors.append(error)
        self.counts["loudness"] += error <= 1.0
        if outcome != "exact" or found["key"] != truth["key"] or error > 1:
            self.failures.append({"truth": truth, "found": {k: found[k] for k in truth}})

    def row(self) -> dict:
        share = {k: round(v / self.n, 3) for k, v in self.counts.items()}
        return {"cases": self.n, **share,
                "loudness_mean_abs_error_lu": round(float(np.mean(self.loudness_errors)), 3),
                "failures": self.failures[:10]}


def synthetic_cases(quick: bool) -> dict:
    rng = np.random.default_rng(2026)
    try:
        import pyloudnorm

        meter = pyloudnorm.Meter(SR)

        def reference(x: np.ndarray) -> float:
            return float(meter.integrated_loudness(x.astype(np.float64)))
        reference_name = "pyloudnorm"
    except ImportError:
        def reference(x: np.ndarray) -> float:
            return integrated_loudness(x, SR)
        reference_name = "musicrec (pyloudnorm not installed)"
    tempi = [60, 84, 120, 150, 180] if quick else [60, 72, 84, 96, 108, 120, 132, 144, 160, 175,
                                                   190]
    pairs = [(2, 1), (9, 0)] if quick else [(0, 1), (2, 1), (4, 0), (7, 1), (9, 0), (11, 0)]
    tally = Tally()
    for bpm in tempi:
        for key, mode in pairs:
            y = chord_progression(key, mode, 20, bpm) * 0.6 + click_track(bpm, 20)
            target = float(rng.uniform(-30, -6))
            y = (y * 10 ** ((target - reference(y)) / 20)).astype(np.float32)
            y = np.clip(y, -1, 1)
            truth = {"tempo": bpm, "key": key, "mode": mode, "loudness": reference(y)}
            tally.add(truth, analyze_signal(y, SR)[0])
    return {**tally.row(), "loudness_reference": reference_name}


def round_trip(quick: bool) -> dict:
    rng = np.random.default_rng(7)
    tally = Tally()
    for _ in range(10 if quick else 40):
        v = {"tempo": float(rng.uniform(60, 190)), "key": int(rng.integers(12)),
             "mode": int(rng.integers(2)), "energy": float(rng.uniform()),
             "loudness": float(rng.uniform(-25, -3)), "danceability": float(rng.uniform()),
             "acousticness": float(rng.uniform())}
        found = analyze_signal(sketch(v, seconds=20), SR)[0]
        tally.add({k: v[k] for k in ("tempo", "key", "mode", "loudness")}, found)
    return tally.row()


def timing(folder: Path) -> dict:
    import soundfile as sf

    v = {"tempo": 128, "key": 7, "mode": 0, "energy": 0.8, "loudness": -7,
         "danceability": 0.8, "acousticness": 0.1}
    y = sketch(v, seconds=180, sr=44100)
    stereo = np.c_[y, np.roll(y, 441)]  # slightly different channels, as in a real mix
    out = {}
    for ext in ("wav", "mp3"):
        path = folder / f"three_minutes.{ext}"
        sf.write(path, stereo, 44100)
        analyze_file(path)
        cpu, wall = [], []
        for _ in range(5):
            c, w = time.process_time(), time.perf_counter()
            analyze_file(path)
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
        code = ("import time; t = time.perf_counter(); from musicrec.audio import analyze_file; "
                f"analyze_file({str(path)!r}); print(time.perf_counter() - t)")
        fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                   sys.path)})
        out[ext] = {"cpu_s_median": round(statistics.median(cpu), 3),
                    "wall_s_median": round(statistics.median(wall), 3),
                    "fresh_process_wall_s": round(float(fresh.stdout.strip()), 3)}
    songs = folder / "folder"
    songs.mkdir()
    for i in range(6):  # different gains: different bytes, so different ids
        sf.write(songs / f"song{i}.wav", stereo * (0.9 - 0.1 * i), 44100)
    for workers in (1, 2):
        t = time.perf_counter()
        n = sum(1 for _ in analyze_paths([songs], workers=workers))
        out[f"folder_6x3min_workers_{workers}_wall_s"] = round(time.perf_counter() - t, 3)
        assert n == 6
    return out


def calibration() -> None:
    import pandas as pd

    songs = pd.read_csv(REAL_30K).drop_duplicates("track_id")
    print(f"{len(songs)} songs")
    for col in ("danceability", "acousticness"):
        print(col, songs[col].quantile(np.linspace(0, 1, 21)).round(4).tolist())
    edges = songs.loudness.quantile(np.linspace(0, 1, 13)).to_numpy()
    bins = np.clip(np.searchsorted(edges, songs.loudness, side="right") - 1, 0, 11)
    grouped = songs.groupby(bins)
    print("loudness bins", grouped.loudness.median().round(1).tolist())
    print("energy there", grouped.energy.median().round(3).tolist())
    print("medians", songs[["danceability", "energy", "speechiness", "acousticness",
                            "instrumentalness", "liveness", "valence"]].median().to_dict())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calibration", action="store_true")
    args = parser.parse_args()
    if args.calibration:
        calibration()
        return
    started = time.perf_counter()
    results = {"synthetic songs": synthetic_cases(args.quick),
               "round trip analyze(sketch(v))": round_trip(args.quick)}
    with tempfile.TemporaryDirectory() as tmp:
        speed = timing(Path(tmp))
    print(f"{'cases':<32}{'n':>4}{'tempo ±2%':>11}{'octave':>8}{'key':>6}{'mode':>6}"
          f"{'key+mode':>10}{'loud ±1 LU':>12}{'mean |ΔL|':>11}")
    for name, r in results.items():
        print(f"{name:<32}{r['cases']:>4}{r['tempo']:>11.1%}{r['octave']:>8.1%}{r['key']:>6.1%}"
              f"{r['mode']:>6.1%}{r['key_mode']:>10.1%}{r['loudness']:>12.1%}"
              f"{r['loudness_mean_abs_error_lu']:>11.2f}")
    print()
    for ext in ("wav", "mp3"):
        s = speed[ext]
        print(f"3-minute 44.1 kHz stereo {ext.upper()}: {s['cpu_s_median']:.2f} s CPU, "
              f"{s['wall_s_median']:.2f} s wall (median of 5); fresh process "
              f"{s['fresh_process_wall_s']:.2f} s wall, imports included")
    print(f"folder of 6 three-minute WAVs: {speed['folder_6x3min_workers_1_wall_s']:.2f} s on 1 "
          f"worker, {speed['folder_6x3min_workers_2_wall_s']:.2f} s on 2")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "accuracy": results, "timing": speed, "quick": args.quick,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average": os.getloadavg()},
        "elapsed_s": round(time.perf_counter() - started, 1)}, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
