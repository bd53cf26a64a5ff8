"""How well do the flows' songs mix, and what does smooth ordering cost in relevance?

On the real 30k songs, built into a library as benchmarks/flows_quality.py builds it:

Radio: 30 stations of 30 songs from 30 random seeds, one page each through `radio_page` (what
`musicrec radio SEED --count 30` calls), for each order: the share of the 870 transitions that
are smooth by the DJ's rule (tempos within 6 %, or one double or half the other; keys
neighbours on the Camelot wheel), the mean change between adjacent songs of tempo (%, after
doubling or halving), key (Camelot steps), energy and loudness, the mean cosine similarity of
the songs to their seed, and milliseconds per station. Then the default order once more
through the command itself (`musicrec radio ID --count 30 --json`, in-process).

Continuation: every MPD-sample playlist with at least 10 songs in the catalogue keeps its first
60 % and hides the rest (`flows_quality.playlists`); 10 songs are asked for in each order;
hit@10 (a hidden song among them), P@10 and the smooth share of their 9 transitions.

Journeys: 100 random pairs, 12 songs each, in relevance order (the path alone) and smooth: the
smooth share of the 1,100 transitions, the mean cosine distance between steps and the steps
that move away from the destination.

`--tune` tries the sequencer's settings on the same dev data, radio and journeys from other
seeds than the report's: `sequence.ROUGH` (radio smooth share and changes),
`sequence.SWAP_SHARE` (radio smooth share against continuation hit@10) and
`flows.JOURNEY_MIX` (journey smooth share against step distance).

    PYTHONPATH=src .venv/bin/python benchmarks/sequence_quality.py [--library DIR] [--tune]

Results: benchmarks/results/sequence_quality.json (`--tune`: sequence_tuning.json).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from flows_quality import REAL_30K, playlists
from musicrec import flows, sequence
from musicrec.cli import app
from musicrec.library import Library
from musicrec.radio import RadioRequest, radio_page

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STATIONS, SONGS, ASKED = 30, 30, 10
JOURNEYS, JOURNEY_LENGTH = 100, 12
REPORT_SEED, TUNE_SEED = 0, 100
console = Console(width=120)


def mixing(mix: sequence.Mix, lists: list[list[int]]) -> dict[str, float]:
    """Smooth share and mean changes over the adjacent pairs of every list."""
    a = np.array([x for rows in lists for x in rows[:-1]], dtype=np.int64)
    b = np.array([y for rows in lists for y in rows[1:]], dtype=np.int64)
    changes = mix.changes(a, b)
    out = {"transitions": len(a), "smooth": round(float(mix.smooth(a, b).mean()), 3)}
    scale = {"tempo": 100.0}  # as a percentage
    for name, change in changes.items():
        out[f"mean_{name}_change"] = round(float(np.nanmean(change)) * scale.get(name, 1.0), 3)
    return out


def ids_of(lib: Library, rows: Any) -> list[str]:
    return [str(t["id"]) for t in lib.tracks(list(rows), columns=["id"])]


def radio(lib: Library, seed: int, orders: tuple[str, ...] = sequence.ORDERS
          ) -> list[dict[str, Any]]:
    mix, vectors = sequence.Mix.of(lib), np.asarray(lib.vectors)
    seeds = np.random.default_rng(seed).choice(len(lib), STATIONS, replace=False)
    table = []
    for order in orders:
        lists, near, seconds = [], [], []
        for row, track_id in zip(seeds.tolist(), ids_of(lib, seeds), strict=True):
            t0 = time.perf_counter()
            page = radio_page(lib, RadioRequest(seeds=[track_id], count=SONGS, order=order))
            seconds.append(time.perf_counter() - t0)
            lists.append(page.rows)
            near.append(float((vectors[page.rows] @ vectors[row]).mean()))
        table.append({"order": order, **mixing(mix, lists),
                      "mean_cosine_to_seed": round(float(np.mean(near)), 4),
                      "ms_per_station_p50": round(float(np.median(seconds)) * 1000, 1)})
        console.print(table[-1])
    return table


def radio_cli(lib: Library, seed: int) -> dict[str, Any]:
    """The default order through `musicrec radio ID --count 30 --json`."""
    seeds = np.random.default_rng(seed).choice(len(lib), STATIONS, replace=False)
    lists = []
    for track_id in ids_of(lib, seeds):
        result = CliRunner().invoke(app, ["radio", track_id, "--count", str(SONGS), "--json",
                                          "--library", str(lib.path)])
        assert result.exit_code == 0, result.stderr
        lists.append([int(r) for r in lib.rows_of(
            [t["id"] for t in json.loads(result.stdout)["tracks"]])])
    return {"command": f"musicrec radio ID --count {SONGS} --json", "stations": len(lists),
            **mixing(sequence.Mix.of(lib), lists)}


def continuation(lib: Library, orders: tuple[str, ...] = sequence.ORDERS
                 ) -> list[dict[str, Any]]:
    cases = playlists(lib)
    mix = sequence.Mix.of(lib)
    table = []
    for order in orders:
        lists, hits, precision, seconds = [], [], [], []
        for kept, hidden in cases:
            t0 = time.perf_counter()
            added = flows.continue_playlist(lib, kept, flows.ContinueRequest(count=ASKED,
                                                                             order=order))
            seconds.append(time.perf_counter() - t0)
            found = len(set(added) & set(hidden))
            hits.append(found > 0)
            precision.append(found / ASKED)
            lists.append(added)
        table.append({"order": order, "playlists": len(cases),
                      "hit_at_10": round(float(np.mean(hits)), 4),
                      "p_at_10": round(float(np.mean(precision)), 4), **mixing(mix, lists),
                      "ms_per_playlist_p50": round(float(np.median(seconds)) * 1000, 1)})
        console.print(table[-1])
    return table


def journeys(lib: Library, seed: int, orders: tuple[str, ...] = ("relevance", "smooth")
             ) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    pairs = [rng.choice(len(lib), 2, replace=False) for _ in range(JOURNEYS)]
    mix, vectors = sequence.Mix.of(lib), np.asarray(lib.vectors)
    table = []
    for order in orders:
        lists, step, away = [], [], 0
        for pair in pairs:
            start, end = ids_of(lib, pair)
            path = flows.journey(lib, flows.JourneyRequest(
                **{"from": start, "to": end, "length": JOURNEY_LENGTH, "order": order}))
            v = vectors[path]
            step.append(float(np.mean(1 - (v[:-1] * v[1:]).sum(axis=1))))
            away += int((np.diff(v @ vectors[pair[1]]) < -1e-6).sum())
            lists.append(path)
        table.append({"order": order, "journeys": JOURNEYS, **mixing(mix, lists),
                      "mean_step_cosine_distance": round(float(np.mean(step)), 4),
                      "steps_away_from_destination": away})
        console.print(table[-1])
    return table


def tune(lib: Library) -> dict[str, Any]:
    out: dict[str, Any] = {"radio_and_continuation_by_swap_share": [],
                           "journeys_by_journey_mix": [], "radio_by_rough": []}
    shipped = sequence.SWAP_SHARE, flows.JOURNEY_MIX, sequence.ROUGH
    for rough in (1.0, 2.0, 4.0, 8.0):
        sequence.ROUGH = rough
        out["radio_by_rough"].append({"rough": rough, **radio(lib, TUNE_SEED, ("smooth",))[0]})
    sequence.ROUGH = shipped[2]
    for share in (0.0, 0.1, 0.2, 0.3, 0.5):
        sequence.SWAP_SHARE = share
        out["radio_and_continuation_by_swap_share"].append({
            "swap_share": share, "radio": radio(lib, TUNE_SEED, ("smooth",))[0],
            "continuation": continuation(lib, ("smooth",))[0]})
    sequence.SWAP_SHARE = shipped[0]
    for weight in (0.0, 0.02, 0.05, 0.1, 0.2):
        flows.JOURNEY_MIX = weight
        out["journeys_by_journey_mix"].append({"journey_mix": weight, **journeys(
            lib, TUNE_SEED, ("smooth",))[0]})
    flows.JOURNEY_MIX = shipped[1]
    return out


def show(title: str, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
    table = Table(*columns.values(), title=title)
    for row in rows:
        table.add_row(*(str(row[key]) for key in columns))
    console.print(table)


def report(lib: Library) -> dict[str, Any]:
    parts: dict[str, Callable[[], Any]] = {
        "radio": lambda: radio(lib, REPORT_SEED),
        "radio_cli": lambda: radio_cli(lib, REPORT_SEED),
        "continuation": lambda: continuation(lib),
        "journeys": lambda: journeys(lib, REPORT_SEED)}
    out = {name: part() for name, part in parts.items()}
    changes = {"smooth": "smooth", "mean_tempo_change": "tempo %",
               "mean_key_change": "key steps", "mean_energy_change": "energy",
               "mean_loudness_change": "loudness dB"}
    show("radio: 30 stations x 30 songs", out["radio"], {
        "order": "order", **changes, "mean_cosine_to_seed": "cos to seed",
        "ms_per_station_p50": "ms/station"})
    show("continuation: 10 songs", out["continuation"], {
        "order": "order", "hit_at_10": "hit@10", "p_at_10": "P@10", **changes})
    show("journeys: 12 songs", out["journeys"], {
        "order": "order", **changes, "mean_step_cosine_distance": "step distance",
        "steps_away_from_destination": "steps away"})
    console.print(out["radio_cli"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, default=Path("/tmp/musicrec-flows-30k"))
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()
    if not (args.library / "manifest.json").exists():
        from musicrec.build import build_library

        build_library(REAL_30K, args.library)
    lib = Library.open(args.library)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    out = {"commit": commit, "date": time.strftime("%Y-%m-%d"), "library_songs": len(lib),
           "settings": {"swap_share": sequence.SWAP_SHARE, "rough": sequence.ROUGH,
                        "journey_mix": flows.JOURNEY_MIX},
           **(tune(lib) if args.tune else report(lib))}
    path = RESULTS / ("sequence_tuning.json" if args.tune else "sequence_quality.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
