"""How well do the sound families line up with human genres, and how fast is the build?

Quality: the demo catalogue (28,352 real songs with genre and subgenre labels) is built into a
library as a user would, and its songs are split by primary artist (CRC-32 of the name, even:
dev, odd: held-out; 51 % / 49 % of the songs). The clustering reads no label; the labels only
score it. Choices (the audio features' weight in the clustered space, the counts) were made on
the dev half; the held-out half was only read for the final table.

- `weights`: NMI on the dev half of two-level families for several audio weights
  (`musicrec.families.cluster.AUDIO_WEIGHT`);
- `counts`: the same for several numbers of sub-families
  (`musicrec.families.cluster.default_subfamily_count`);
- `levels`: the shipped two-level families against two levels found top-down (families, then
  each split in proportion to its size), today's flat families (spherical k-means on the whole
  song vector, as before this change) and plain k-means (scikit-learn, Euclidean, on the same
  vectors) at equal counts: NMI and purity with genre and subgenre on dev and held-out
  songs, and cohesion (the share of each song's 10 nearest neighbours, by the recommender's
  cosine, that share its family). 3 seeds; mean and spread.

Speed: build_families on 1.2M x 32 clustered unit vectors (16 audio-named and 16 artist-context
dimensions, like a Kaggle library) with a synthetic catalogue table, in a fresh process, with
its resident memory before and its peak during the build (Linux /proc).

    PYTHONPATH=src .venv/bin/python benchmarks/families_quality.py            # both parts
    PYTHONPATH=src .venv/bin/python benchmarks/families_quality.py --part quality
    PYTHONPATH=src .venv/bin/python benchmarks/families_quality.py --part speed

Results go to benchmarks/results/families_quality.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from musicrec.build import build_library
from musicrec.data import demo_catalogue
from musicrec.families import build_families, default_family_count, default_subfamily_count
from musicrec.families.cluster import kmeans, nearest, space_weights, to_space
from musicrec.library import Library

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "families_quality.json"
SEEDS = (0, 1, 2)
NEIGHBOURS = 10
AUDIO_WEIGHTS = (1.0, 0.5, 0.25, 0.0)
SUB_FACTORS = (0.2, 0.25, 0.3, 0.4)  # sub-families in all: this x sqrt(songs)
LABELS = ("genre", "subgenre")

Method = Callable[[int], dict[str, np.ndarray]]  # seed -> {level: labels}


class Yardstick:
    """The labels, the dev / held-out split by artist, and each song's nearest neighbours."""

    def __init__(self, lib: Library):
        table = lib.table
        self.truth = {c: np.array(table.column(c).to_pylist(), dtype=object) for c in LABELS}
        artists = [a[0] if a else "" for a in table.column("artists").to_pylist()]
        self.dev = np.array([zlib.crc32(a.encode()) % 2 == 0 for a in artists])
        x = np.ascontiguousarray(lib.vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        self.neighbours = index.search(x, NEIGHBOURS + 1)[1][:, 1:]

    def score(self, labels: np.ndarray) -> dict[str, float]:
        out = {}
        for part, rows in (("dev", self.dev), ("held_out", ~self.dev)):
            for column, truth in self.truth.items():
                out[f"nmi_{column}_{part}"] = normalized_mutual_info_score(truth[rows],
                                                                           labels[rows])
                out[f"purity_{column}_{part}"] = float(
                    pd.crosstab(labels[rows], truth[rows]).max(axis=1).sum() / rows.sum())
        out["cohesion"] = float((labels[self.neighbours] == labels[:, None]).mean())
        return out


def methods(lib: Library, k: int, subs: int) -> dict[str, Method]:
    """Each method's clusters at the families' count and at the sub-families' count."""
    x = np.ascontiguousarray(lib.vectors, dtype=np.float32)
    dims = lib.manifest.features.dims

    def shipped(seed: int) -> dict[str, np.ndarray]:
        built = build_families(x, lib.table, k, seed=seed, dims=dims, subcount=subs)
        return {"families": built.labels, "sub-families": built.sublabels}

    def flat(seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {level: nearest(x, kmeans(x, count, rng, seed))
                for level, count in (("families", k), ("sub-families", subs))}

    def top_down(seed: int) -> dict[str, np.ndarray]:
        """The other way round: k families, then each split in proportion to its size."""
        rng = np.random.default_rng(seed)
        space = to_space(x, space_weights(dims, x.shape[1]))
        families = nearest(space, kmeans(space, k, rng, seed))
        subfamilies = np.zeros(len(x), dtype=np.int64)
        for family in range(k):
            rows = np.flatnonzero(families == family)
            count = max(1, min(round(subs * len(rows) / len(x)), len(rows) // 20))
            inner = nearest(space[rows], kmeans(space[rows], count, rng, seed)) if count > 1 \
                else 0
            subfamilies[rows] = family * subs + inner
        return {"families": families, "sub-families": subfamilies}

    def plain(seed: int) -> dict[str, np.ndarray]:
        return {level: KMeans(count, random_state=seed, n_init=1).fit_predict(x)
                for level, count in (("families", k), ("sub-families", subs))}

    return {"two-level families (shipped)": shipped,
            "top-down two levels, same space": top_down,
            "flat spherical k-means, whole vector (before)": flat,
            "plain k-means (scikit-learn), whole vector": plain}


def run(name: str, method: Method, yardstick: Yardstick) -> list[dict[str, object]]:
    """Mean and spread over the seeds of every score, one row per level."""
    scores: dict[str, list[dict[str, float]]] = {}
    found: dict[str, list[int]] = {}
    for seed in SEEDS:
        for level, labels in method(seed).items():
            scores.setdefault(level, []).append(yardstick.score(np.asarray(labels)))
            found.setdefault(level, []).append(len(np.unique(labels)))
    rows = []
    for level, runs in scores.items():
        frame = pd.DataFrame(runs)
        rows.append({"method": name, "level": level, "clusters": float(np.mean(found[level])),
                     "seeds": len(SEEDS), **frame.mean().to_dict(),
                     "std": frame.std(ddof=0).to_dict()})
    return rows


def counts(lib: Library, yardstick: Yardstick, k: int) -> list[dict[str, object]]:
    """Two-level families for several numbers of sub-families (dev half chooses)."""
    x = np.asarray(lib.vectors, dtype=np.float32)
    space = to_space(x, space_weights(lib.manifest.features.dims, x.shape[1]))
    rows = []
    for factor in SUB_FACTORS:
        subs = round(factor * len(x) ** 0.5)
        rows += [{**row, "sub_factor": factor} for row in run(
            f"{factor} x sqrt(n) = {subs} sub-families",
            lambda s, n=subs: _levels(space, lib.table, k, n, s), yardstick)]
    return rows


def weights(lib: Library, yardstick: Yardstick, k: int, subs: int) -> list[dict[str, object]]:
    """Two-level families for each weight of the audio-feature dimensions (dev half chooses)."""
    x = np.asarray(lib.vectors, dtype=np.float32)
    audio = space_weights(lib.manifest.features.dims, x.shape[1]) != 1
    rows = []
    for weight in AUDIO_WEIGHTS:
        space = to_space(x, np.where(audio, weight, 1.0).astype(np.float32))
        rows += [{**row, "audio_weight": weight} for row in run(
            f"audio weight {weight}", lambda s, v=space: _levels(v, lib.table, k, subs, s),
            yardstick)]
    return rows


def _levels(x: np.ndarray, table: pa.Table, k: int, subs: int, seed: int
            ) -> dict[str, np.ndarray]:
    built = build_families(x, table, k, seed=seed, subcount=subs)
    return {"families": built.labels, "sub-families": built.sublabels}


def print_rows(rows: list[dict[str, object]]) -> None:
    print(f"{'method':46s} {'level':12s} {'k':>5s} {'NMI genre dev/held':>19s} "
          f"{'NMI sub dev/held':>17s} {'purity genre held':>17s} {'cohesion':>8s}")
    for r in rows:
        print(f"{r['method']:46s} {r['level']:12s} {r['clusters']:5.0f} "
              f"{r['nmi_genre_dev']:9.3f}/{r['nmi_genre_held_out']:.3f} "
              f"{r['nmi_subgenre_dev']:8.3f}/{r['nmi_subgenre_held_out']:.3f} "
              f"{r['purity_genre_held_out']:17.3f} {r['cohesion']:8.3f}")


def quality() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as work:
        build_library(demo_catalogue(), Path(work) / "lib")
        lib = Library.open(Path(work) / "lib")
        n = len(lib)
        k, subs = default_family_count(n), default_subfamily_count(n)
        yardstick = Yardstick(lib)
        print(f"{n} songs, {lib.vectors.shape[1]} dims; dev songs {yardstick.dev.sum()}, "
              f"held-out {(~yardstick.dev).sum()}; {k} families, about {subs} sub-families")
        print("\nThe audio features' weight in the clustered space (choose on dev):")
        weight_rows = weights(lib, yardstick, k, subs)
        print_rows(weight_rows)
        print("\nThe number of sub-families (choose on dev):")
        count_rows = counts(lib, yardstick, k)
        print_rows(count_rows)
        print("\nThe families against the alternatives at equal counts:")
        level_rows = [row for name, method in methods(lib, k, subs).items()
                      for row in run(name, method, yardstick)]
        print_rows(level_rows)
        return {"songs": n, "dev_songs": int(yardstick.dev.sum()),
                "held_out_songs": int((~yardstick.dev).sum()), "families": k,
                "subfamilies_asked": subs, "neighbours": NEIGHBOURS,
                "weights": weight_rows, "counts": count_rows, "levels": level_rows}


def synthetic(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, pa.Table, list[str]]:
    """n unit vectors around 80 random centres, a catalogue table of matching length, and
    dimension names: the first half audio features', the second artist context's."""
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, 80, n)
    x = rng.normal(size=(80, d)).astype(np.float32)[centre]
    x += rng.normal(scale=0.5, size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    artist = rng.integers(0, 100_000, n)
    artists = pa.ListArray.from_arrays(np.arange(n + 1, dtype=np.int32),
                                       pa.array([f"Artist {a}" for a in artist]))
    columns: dict[str, pa.Array] = {"id": pa.array(np.arange(n).astype(str)),
                                    "artists": artists}
    units = ("danceability", "energy", "speechiness", "acousticness", "instrumentalness",
             "liveness", "valence")
    for name in units:
        columns[name] = pa.array(rng.random(n, dtype=np.float32))
    columns["loudness"] = pa.array(rng.normal(-8, 4, n).astype(np.float32))
    columns["tempo"] = pa.array(rng.normal(120, 25, n).astype(np.float32))
    columns["duration_ms"] = pa.array(rng.normal(240_000, 60_000, n).astype(np.float32))
    columns["mode"] = pa.array(rng.integers(0, 2, n).astype(np.int8))
    columns["year"] = pa.array((1950 + centre * 0.8 + rng.integers(0, 10, n)).astype(np.int16),
                               mask=rng.random(n) < 0.05)
    columns["explicit"] = pa.array(rng.random(n) < 0.1)
    audio = [*units, "loudness", "tempo", "duration_ms", "mode", "key_sin", "key_cos",
             "year", "explicit", "time_signature"][:d // 2]
    return x, pa.table(columns), audio + [f"artist_learned_{i}" for i in range(d - len(audio))]


def memory_mb(field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak since the last reset) of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024)
    raise RuntimeError(f"no {field} in /proc/self/status")


def speed(n: int = 1_200_000, d: int = 32) -> dict[str, object]:
    x, table, dims = synthetic(n, d)
    before = memory_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: measure the build's own peak
    start = time.perf_counter()
    families = build_families(x, table, dims=dims)
    seconds = time.perf_counter() - start
    return {"songs": n, "dims": d, "families": len(families.families),
            "subfamilies": len(families.subfamilies), "build_seconds": round(seconds, 2),
            "rss_mb_before_build": before, "peak_rss_mb_during_build": memory_mb("VmHWM"),
            "first_names": [f.name for f in families.families[:5]]}


def save(key: str, value: object) -> None:
    """Store one part's results in the JSON file, keeping the other part's."""
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[key] = value
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    print(f"\n{key} results written to {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "quality", "speed"], default="all")
    parser.add_argument("--rows", type=int, default=1_200_000, help="songs for --part speed")
    args = parser.parse_args()
    if args.part in ("all", "quality"):
        save("quality", quality())
    if args.part == "all":  # a fresh process, so that the peak memory is the build's own
        subprocess.run([sys.executable, __file__, "--part", "speed"], check=True)
    if args.part == "speed":
        result = speed(args.rows)
        print("\nbuild_families on synthetic vectors:", json.dumps(result, indent=1))
        save("speed", result)


if __name__ == "__main__":
    main()
