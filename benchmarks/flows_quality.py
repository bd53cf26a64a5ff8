"""How good are the flows? Playlist continuation, journeys and radio on the real 30k songs.

Continuation, measured like the Million Playlist Dataset challenge: every playlist of
`../shared/data/mpd_sample` with at least 10 songs in the 30k catalogue (in playlist order)
keeps its first 60 % as the playlist to continue and hides the rest; each method adds 100
songs; R-precision (hidden songs among the first R added, R = number hidden) and NDCG@100
against the hidden songs. Nothing is learned from the playlists, so every playlist is a test
playlist. Baselines: songs nearest the playlist's mean vector, and random songs.

Journeys: 200 random pairs of songs, 12 songs each; mean cosine distance between consecutive
songs for the journey, for the same songs in random order, and for a straight interpolation
snapped to the nearest unused song; and how often a step moves away from the destination.

Radio: 50 stations of 50 songs from one random seed; distinct artists per station.

Map: how well each 2-D layout keeps the sound families apart: silhouette of the family labels
in 2-D and trustworthiness at 10 neighbours, on 3,000 songs, for the library's PCA map and the
t-SNE map (fitted on 5,000 songs, the rest placed by nearest fitted songs), with fit seconds.

    PYTHONPATH=src .venv/bin/python benchmarks/flows_quality.py [--library DIR] [--part P]

The library is built from the 30k file when absent. Results go to
benchmarks/results/flows_quality.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec import flows
from musicrec.library import Library
from musicrec.radio import RadioState, radio_next

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
REAL_30K = DATA / "spotify_30k_songs" / "spotify_songs.csv"
MPD = DATA / "mpd_sample" / "playlists.csv.gz"
RESULTS = ROOT / "benchmarks" / "results" / "flows_quality.json"
MIN_KNOWN = 10
KEEP = 0.6
ADD = 100


def playlists(lib: Library) -> list[tuple[list[int], list[int]]]:
    """(kept rows, hidden rows) of every MPD playlist with >= MIN_KNOWN songs in the library."""
    frame = pd.read_csv(MPD, usecols=["pid", "pos", "track_uri"]).sort_values(["pid", "pos"])
    ids = frame["track_uri"].str.removeprefix("spotify:track:").tolist()
    frame["row"] = [-1 if r is None else r for r in lib.rows_of(ids)]
    out = []
    for _, group in frame[frame["row"] >= 0].groupby("pid", sort=True):
        rows = list(dict.fromkeys(group["row"].tolist()))
        if len(rows) >= MIN_KNOWN:
            cut = int(round(len(rows) * KEEP))
            out.append((rows[:cut], rows[cut:]))
    return out


def r_precision(recs: list[int], hidden: set[int]) -> float:
    return len(set(recs[:len(hidden)]) & hidden) / len(hidden)


def ndcg(recs: list[int], hidden: set[int]) -> float:
    gains = np.array([1.0 if r in hidden else 0.0 for r in recs])
    dcg = float((gains / np.log2(np.arange(2, len(gains) + 2))).sum())
    ideal = float((1 / np.log2(np.arange(2, min(len(hidden), len(recs)) + 2))).sum())
    return dcg / ideal if ideal else 0.0


def continuation(lib: Library) -> list[dict[str, object]]:
    cases = playlists(lib)
    rng = np.random.default_rng(0)
    n = len(lib)

    def random(rows: list[int]) -> list[int]:
        pick = rng.permutation(n)[: ADD + len(rows)]
        return [int(r) for r in pick if r not in set(rows)][:ADD]

    methods: dict[str, Callable[[list[int]], list[int]]] = {
        "continue (clusters + density, 2 per artist)":
            lambda rows: flows.continue_playlist(lib, rows, flows.ContinueRequest(count=ADD)),
        "continue, no artist cap":
            lambda rows: flows.continue_playlist(
                lib, rows, flows.ContinueRequest(count=ADD, max_per_artist=None)),
        "density only (no cluster shares), 2 per artist":
            lambda rows: flows.continue_playlist(lib, rows, flows.ContinueRequest(count=ADD),
                                                 spread=False),
        "baseline: playlist mean vector": lambda rows: flows.mean_vector_baseline(lib, rows, ADD),
        "baseline: random": random,
    }
    table = []
    for name, method in methods.items():
        rp, nd, seconds = [], [], []
        for kept, hidden in cases:
            t0 = time.perf_counter()
            recs = method(kept)
            seconds.append(time.perf_counter() - t0)
            rp.append(r_precision(recs, set(hidden)))
            nd.append(ndcg(recs, set(hidden)))
        table.append({"method": name, "playlists": len(cases),
                      "r_precision": round(float(np.mean(rp)), 4),
                      "ndcg_at_100": round(float(np.mean(nd)), 4),
                      "ms_per_playlist_p50": round(float(np.median(seconds)) * 1000, 2)})
        print(table[-1], flush=True)
    return table


def journeys(lib: Library, pairs: int = 200, length: int = 12) -> dict[str, object]:
    rng = np.random.default_rng(1)
    vectors = np.asarray(lib.vectors)
    ids = lib.table.column("id")
    steps: dict[str, list[float]] = {"journey": [], "same songs shuffled": [],
                                     "linear interpolation snapped": []}
    backwards, same_artist, seconds = 0, 0, []
    for _ in range(pairs):
        a, b = (int(x) for x in rng.choice(len(lib), 2, replace=False))
        req = flows.JourneyRequest(**{"from": ids[a].as_py(), "to": ids[b].as_py(),
                                      "length": length})
        t0 = time.perf_counter()
        path = flows.journey(lib, req)
        seconds.append(time.perf_counter() - t0)
        v = vectors[path]
        steps["journey"].append(float(np.mean(1 - (v[:-1] * v[1:]).sum(axis=1))))
        inner = rng.permutation(path[1:-1]).tolist()
        s = vectors[[a, *inner, b]]
        steps["same songs shuffled"].append(float(np.mean(1 - (s[:-1] * s[1:]).sum(axis=1))))
        points = flows._slerp(vectors[a], vectors[b], np.arange(1, length - 1) / (length - 1))
        found, _ = lib.index.search(points, 20)
        snapped, used = [a], {a, b}
        for row_ids in found:
            row = next(int(r) for r in row_ids if r >= 0 and int(r) not in used)
            used.add(row)
            snapped.append(row)
        lv = vectors[[*snapped, b]]
        steps["linear interpolation snapped"].append(
            float(np.mean(1 - (lv[:-1] * lv[1:]).sum(axis=1))))
        to_end = v @ vectors[b]
        backwards += int((np.diff(to_end) < -1e-6).sum())
        artists = lib.primary_artist[path]
        same_artist += int((artists[1:] == artists[:-1]).sum())
    return {"pairs": pairs, "length": length,
            "mean_step_cosine_distance": {k: round(float(np.mean(x)), 4)
                                          for k, x in steps.items()},
            "steps_away_from_destination": backwards,
            "same_artist_twice_in_a_row": same_artist,
            "ms_per_journey_p50": round(float(np.median(seconds)) * 1000, 2)}


def radio(lib: Library, stations: int = 50, songs: int = 50) -> dict[str, object]:
    rng = np.random.default_rng(2)
    artists, seconds = [], []
    for seed in rng.choice(len(lib), stations, replace=False):
        state = RadioState([int(seed)])
        t0 = time.perf_counter()
        rows = radio_next(lib, state, songs)
        seconds.append(time.perf_counter() - t0)
        artists.append(len(set(lib.primary_artist[rows].tolist())))
    return {"stations": stations, "songs": songs, "distinct_artists_min": int(min(artists)),
            "distinct_artists_mean": round(float(np.mean(artists)), 2),
            "ms_per_song_p50": round(float(np.median(seconds)) * 1000 / songs, 3)}


def map_layouts(lib: Library) -> dict[str, object]:
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score

    from musicrec.families import song_map

    x = np.asarray(lib.vectors)
    labels = np.asarray(lib.families.labels)
    scored = np.random.default_rng(0).choice(len(x), 3000, replace=False)
    out: dict[str, object] = {"songs_scored": 3000, "families": int(labels.max()) + 1,
                              "silhouette_full_vectors": round(float(
                                  silhouette_score(x[scored], labels[scored])), 3)}
    for layout in ("pca", "tsne"):
        t0 = time.perf_counter()
        xy, name = song_map(x, np.random.default_rng(0), 0, layout)
        seconds = time.perf_counter() - t0
        out[layout] = {"method": name, "seconds": round(seconds, 1),
                       "silhouette": round(float(silhouette_score(xy[scored],
                                                                  labels[scored])), 3),
                       "trustworthiness_10": round(float(trustworthiness(
                           x[scored], xy[scored], n_neighbors=10)), 3)}
        print(layout, out[layout], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, default=Path("/tmp/musicrec-flows-30k"))
    parser.add_argument("--part", choices=("all", "continuation", "journeys", "radio", "map"),
                        default="all")
    args = parser.parse_args()
    if not (args.library / "manifest.json").exists():
        from musicrec.build import build_library

        build_library(REAL_30K, args.library)
    lib = Library.open(args.library)
    parts = {"continuation": continuation, "journeys": journeys, "radio": radio,
             "map": map_layouts}
    out: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    out["library_songs"] = len(lib)
    for name, part in parts.items():
        if args.part in ("all", name):
            out[name] = part(lib)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "continuation"}, indent=1))


if __name__ == "__main__":
    main()
