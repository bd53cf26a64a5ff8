"""How coherent are the sound families, and how fast is the build?

Quality: on the real 30k-song set, cluster the songs with each candidate method at the same
number of families and compare the families with the playlists' genres and subgenres (purity and
normalised mutual information), against random groups and k-means on raw, unscaled features.
Each method runs with 3 seeds; the table shows mean and spread.

Speed: build_families on 1.2M x 16 clustered unit vectors with a synthetic catalogue table, in a
fresh process, with its resident memory before and its peak during the build (Linux /proc), and
for comparison MiniBatchKMeans and a diagonal Gaussian mixture at the same size.

    .venv/bin/python benchmarks/families_quality.py            # both parts
    .venv/bin/python benchmarks/families_quality.py --part speed

Results go to benchmarks/results/families_quality.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from musicrec.families import build_families

ROOT = Path(__file__).resolve().parents[1]
REAL_30K = ROOT.parent / "shared" / "data" / "spotify_30k_songs" / "spotify_songs.csv"
RESULTS = ROOT / "benchmarks" / "results" / "families_quality.json"
RAW_FEATURES = ["danceability", "energy", "key", "loudness", "mode", "speechiness",
                "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                "duration_ms"]
K = 24
SEEDS = (0, 1, 2)
SAMPLE = 10_000  # songs the quadratic methods (Ward, HDBSCAN) cluster; the rest are assigned

Method = Callable[[np.ndarray, int], np.ndarray]  # (vectors, seed) -> labels


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def nearest_mean(x: np.ndarray, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Label every song by the nearest mean (cosine) of the clusters found on a sample."""
    groups = [g for g in np.unique(labels) if g >= 0]  # HDBSCAN marks noise with -1
    means = unit(np.stack([x[rows[labels == g]].mean(axis=0) for g in groups]))
    return np.argmax(x @ means.T, axis=1)


def on_sample(fit: Callable[[np.ndarray], np.ndarray]) -> Method:
    def method(x: np.ndarray, seed: int) -> np.ndarray:
        rows = np.random.default_rng(seed).choice(len(x), SAMPLE, replace=False)
        return nearest_mean(x, rows, fit(x[rows]))
    return method


def methods(table: pa.Table) -> dict[str, Method]:
    raw = np.column_stack([table.column(c).to_numpy().astype(np.float64) for c in RAW_FEATURES])
    return {
        "library: spherical k-means (faiss, k-means++)":
            lambda x, s: build_families(x, table, K, seed=s).labels,
        "MiniBatchKMeans": lambda x, s: MiniBatchKMeans(K, random_state=s, n_init=3).fit(x).labels_,
        "Gaussian mixture, diagonal":
            lambda x, s: GaussianMixture(K, covariance_type="diag", random_state=s).fit_predict(x),
        "Gaussian mixture, full":
            lambda x, s: GaussianMixture(K, covariance_type="full", random_state=s).fit_predict(x),
        "Gaussian mixture, full; means as centroids": lambda x, s: np.argmax(
            x @ unit(GaussianMixture(K, covariance_type="full", random_state=s).fit(x).means_).T,
            axis=1),
        f"Ward agglomerative on {SAMPLE // 1000}k":
            on_sample(lambda y: AgglomerativeClustering(K, linkage="ward").fit_predict(y)),
        f"HDBSCAN on {SAMPLE // 1000}k (min size 50)":
            on_sample(lambda y: HDBSCAN(min_cluster_size=50).fit_predict(y)),
        "baseline: random groups":
            lambda x, s: np.random.default_rng(s).integers(0, K, len(x)),
        "baseline: k-means on raw unscaled features":
            lambda x, s: KMeans(K, random_state=s, n_init=3).fit_predict(raw),
    }


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    return float(pd.crosstab(labels, truth).max(axis=1).sum() / len(truth))


def vectors(table: pa.Table) -> dict[str, np.ndarray]:
    """The song vectors to compare methods on: the library's pipeline (if any) and a plain one."""
    raw = np.column_stack([table.column(c).to_numpy().astype(np.float64) for c in RAW_FEATURES])
    out = {"StandardScaler + L2 of 12 features": unit(StandardScaler().fit_transform(raw))}
    try:
        from musicrec.features import FeaturePipeline
    except ImportError:
        return out
    return {"musicrec FeaturePipeline": FeaturePipeline.fit(table).transform(table), **out}


def real_songs() -> pa.Table:
    """The 30k set as a catalogue table: one row per unique track, its first playlist's labels."""
    songs = pd.read_csv(REAL_30K).drop_duplicates("track_id")
    year = pd.to_numeric(songs["track_album_release_date"].str.slice(0, 4), errors="coerce")
    return pa.table({
        "id": pa.array(songs["track_id"]),
        "artists": pa.array([[a] if isinstance(a, str) else [] for a in songs["track_artist"]],
                            pa.list_(pa.string())),
        **{c: pa.array(songs[c].to_numpy(np.float32)) for c in RAW_FEATURES},
        "year": pa.array(year.fillna(0).to_numpy(np.int16), mask=year.isna().to_numpy()),
        "genre": pa.array(songs["playlist_genre"]),
        "subgenre": pa.array(songs["playlist_subgenre"]),
    })


def quality() -> list[dict[str, object]]:
    if not REAL_30K.is_file():
        sys.exit(f"real data not found at {REAL_30K}")
    table = real_songs()
    genre, subgenre = (table.column(c).to_numpy(zero_copy_only=False) for c in ("genre",
                                                                               "subgenre"))
    rows = []
    for space, x in vectors(table).items():
        print(f"\n{len(x)} songs, {x.shape[1]} dims, {K} families; vectors: {space}")
        print(f"{'method':48s} {'k':>4s} {'purity genre':>13s} {'purity sub':>13s} "
              f"{'NMI genre':>13s} {'NMI sub':>13s} {'seconds':>8s}")
        for name, method in methods(table).items():
            scores, seconds, found = [], [], []
            for seed in SEEDS:
                start = time.perf_counter()
                labels = method(x, seed)
                seconds.append(time.perf_counter() - start)
                found.append(len(np.unique(labels)))
                scores.append([purity(labels, genre), purity(labels, subgenre),
                               normalized_mutual_info_score(genre, labels),
                               normalized_mutual_info_score(subgenre, labels)])
            mean, std = np.mean(scores, axis=0), np.std(scores, axis=0)
            cells = " ".join(f"{m:7.3f}±{s:.3f}" for m, s in zip(mean, std, strict=True))
            print(f"{name:48s} {np.mean(found):4.0f} {cells} {np.mean(seconds):8.2f}")
            rows.append({"vectors": space, "method": name, "families_asked": K,
                         "families_found": float(np.mean(found)), "seeds": len(SEEDS),
                         "purity_genre": mean[0], "purity_subgenre": mean[1],
                         "nmi_genre": mean[2], "nmi_subgenre": mean[3],
                         "std": dict(zip(["purity_genre", "purity_subgenre", "nmi_genre",
                                          "nmi_subgenre"], std.tolist(), strict=True)),
                         "seconds": float(np.mean(seconds))})
    return rows


def synthetic(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, pa.Table]:
    """n unit vectors around 80 random centres, and a catalogue table of matching length."""
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
    for name in ("danceability", "energy", "speechiness", "acousticness", "instrumentalness",
                 "liveness", "valence"):
        columns[name] = pa.array(rng.random(n, dtype=np.float32))
    columns["loudness"] = pa.array(rng.normal(-8, 4, n).astype(np.float32))
    columns["tempo"] = pa.array(rng.normal(120, 25, n).astype(np.float32))
    columns["duration_ms"] = pa.array(rng.normal(240_000, 60_000, n).astype(np.float32))
    columns["mode"] = pa.array(rng.integers(0, 2, n).astype(np.int8))
    columns["year"] = pa.array((1950 + centre * 0.8 + rng.integers(0, 10, n)).astype(np.int16),
                               mask=rng.random(n) < 0.05)
    columns["explicit"] = pa.array(rng.random(n) < 0.1)
    return x, pa.table(columns)


def memory_mb(field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak since the last reset) of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024)
    raise RuntimeError(f"no {field} in /proc/self/status")


def speed(n: int = 1_200_000, d: int = 16) -> dict[str, object]:
    x, table = synthetic(n, d)
    before = memory_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: measure the build's own peak
    start = time.perf_counter()
    families = build_families(x, table)
    seconds = time.perf_counter() - start
    result = {"songs": n, "dims": d, "families": len(families.families),
              "build_seconds": round(seconds, 2), "rss_mb_before_build": before,
              "peak_rss_mb_during_build": memory_mb("VmHWM"),
              "first_names": [f.name for f in families.families[:5]]}
    start = time.perf_counter()
    MiniBatchKMeans(len(families.families), random_state=0, n_init=3).fit(x)
    result["minibatch_kmeans_fit_seconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    sample = x[np.random.default_rng(0).choice(n, 100_000, replace=False)]
    GaussianMixture(len(families.families), covariance_type="diag", random_state=0).fit(
        sample).predict(x)
    result["gaussian_mixture_diag_100k_sample_seconds"] = round(time.perf_counter() - start, 2)
    return result


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
    part = parser.parse_args().part
    if part in ("all", "quality"):
        save("quality", quality())
    if part == "all":  # a fresh process, so that the peak memory is the build's own
        subprocess.run([sys.executable, __file__, "--part", "speed"], check=True)
    if part == "speed":
        result = speed()
        print("\nbuild_families on synthetic vectors:", json.dumps(result, indent=1))
        save("speed", result)


if __name__ == "__main__":
    main()
