"""Recommendation quality on the real 30k-song set: the evaluation table, and weight tuning.

    .venv/bin/python benchmarks/quality.py report    # the table for the README
    .venv/bin/python benchmarks/quality.py tune      # coordinate search of weights/transforms
    .venv/bin/python benchmarks/quality.py holdout   # the shipped defaults on both halves
    .venv/bin/python benchmarks/quality.py learn     # artist context and playlists (learn.py)
    .venv/bin/python benchmarks/quality.py learn-tune   # playlist settings, validation split
    .venv/bin/python benchmarks/quality.py hub-tune     # hub correction, tuning half only

`report` builds the 30k file into a library under benchmarks/work/ (with the current
DEFAULT_WEIGHTS), then scores, on 2,000 seeded single-song seeds with the seed's artists and
album excluded: random songs, raw cosine, StandardScaler + cosine, our vectors with exact
search, our vectors without release year, the weights before tuning, a hub-corrected variant
and `Library.recommend`. Genre, subgenre and playlist co-occurrence are the ground truth.
Results: benchmarks/results/quality_30k.json and the markdown table README_section uses.

`tune` splits the artists in two halves at random (seeded): weights and transforms are chosen
by coordinate search on seeds from one half only, then scored on seeds from the other half,
so the held-out figure is not flattered by the search. The objective is the mean of genre
P@10 / 0.50 and subgenre P@10 / 0.25 (the targets). Results: results/quality_tuning.json.
`learn` reads the catalogue table and builds vectors itself. It scores artist/album context
variants on the same artist halves by exact search (context is learned without labels; the
halves keep the choice of its settings honest); then builds the 30k file into libraries
(audio features only, the audio-feature artist context, the learned artist context; audio
only and the learned context also with the hub correction `hubs.DEFAULT_WEIGHT`, the default),
and with every song a seed scores each by exact search and through `Library.recommend` as
users get it (per-artist cap): P@10 on both halves and on the 2,000 standard seeds, coverage
of rows and of distinct songs, hubness; and playlist continuation on the MPD sample split by
playlist: results/quality_learn.json.
`hub-tune` chooses the hub correction's weight on the tuning half alone: the artist-context
library's `Library.recommend` with its penalty array replaced by weight x the build's graph
penalty, every song of the tuning half's artists a seed: P@10 of the tuning seeds, and
coverage of those lists against audio-only vectors' on the same seeds.
Results: results/quality_hub_tuning.json.
`holdout` scores the shipped DEFAULT_WEIGHTS (which may round the search's answer) the same
way: results/quality_holdout.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table
from scipy.stats import skew

from musicrec import evaluate as ev
from musicrec import hubs
from musicrec.build import build_library
from musicrec.features import (
    DEFAULT_WEIGHTS,
    TRANSFORMS,
    FeaturePipeline,
    FittedFeature,
    Transform,
    normalize,
)
from musicrec.library import Library

ROOT = Path(__file__).resolve().parents[1]
REAL_30K = ROOT.parent / "shared" / "data" / "spotify_30k_songs" / "spotify_songs.csv"
WORK = ROOT / "benchmarks" / "work" / "quality_30k"
RESULTS = ROOT / "benchmarks" / "results"
console = Console(width=160)

# The defaults before this tuning, kept to show what the tuning bought.
PREVIOUS_WEIGHTS: dict[str, float] = {
    "danceability": 1.0, "energy": 1.0, "valence": 0.8, "acousticness": 1.0,
    "instrumentalness": 0.8, "speechiness": 1.0, "liveness": 0.3, "loudness": 0.7, "tempo": 0.5,
    "duration_ms": 0.4, "key": 0.1, "mode": 0.2, "time_signature": 0.1, "year": 1.0,
    "explicit": 0.5}
PREVIOUS_TRANSFORMS: dict[str, Transform] = {
    "danceability": "linear", "energy": "linear", "valence": "linear", "acousticness": "linear",
    "instrumentalness": "sqrt", "speechiness": "sqrt", "liveness": "sqrt", "loudness": "linear",
    "tempo": "linear", "duration_ms": "log", "key": "circle", "mode": "linear",
    "time_signature": "linear", "year": "linear", "explicit": "linear"}
GRID = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.25, 1.6, 2.0, 2.5, 3.2, 4.0)
# Transforms worth trying per feature: a log of a 0..1 feature would be constant (log(max(x,1))).
CHOICES: dict[str, tuple[Transform, ...]] = {
    **{f: ("linear", "sqrt") for f in ("danceability", "energy", "valence", "acousticness",
                                      "instrumentalness", "speechiness", "liveness")},
    "tempo": ("linear", "log"), "duration_ms": ("linear", "log"), "key": ("circle", "linear"),
}
TARGETS = {"genre": 0.50, "subgenre": 0.25}


def library() -> Library:
    """The 30k file built with the current defaults (rebuilt when the defaults change)."""
    path = WORK / "library"
    if (path / "manifest.json").is_file():
        lib = Library.open(path)
        current = {k: v for k, v in DEFAULT_WEIGHTS.items() if lib.has_column(k) and v > 0}
        if lib.info()["features"]["weights"] == current and all(
                f.transform == TRANSFORMS[f.name] for f in lib.pipeline.features):
            return lib
    build_library(REAL_30K, path)
    return Library.open(path)


def standardised(table: pa.Table, name: str, transform: Transform) -> np.ndarray:
    """One feature transformed and standardised, unweighted: shape (n, 1) or (n, 2)."""
    values = np.asarray(table.column(name).to_pandas(), dtype=np.float64)
    identity = FeaturePipeline([FittedFeature(name, transform, 0.0, 1.0, 1.0)])
    pre = identity.standardize(name, values).reshape(len(values), -1)
    if transform == "circle":
        return pre
    known = ~np.isnan(values)
    centre, scale = pre[known].mean(), pre[known].std() or 1.0
    return np.where(known[:, None], (pre - centre) / scale, 0.0)


class Space:
    """Standardised feature columns, combined into unit vectors for any weights/transforms."""

    def __init__(self, table: pa.Table):
        self.table = table
        self.features = [f for f in DEFAULT_WEIGHTS if f in table.column_names]
        self._cache: dict[tuple[str, Transform], np.ndarray] = {}

    def column(self, name: str, transform: Transform) -> np.ndarray:
        if (name, transform) not in self._cache:
            self._cache[name, transform] = standardised(self.table, name, transform)
        return self._cache[name, transform]

    def vectors(self, weights: dict[str, float], transforms: dict[str, Transform]) -> np.ndarray:
        parts = [self.column(f, transforms[f]) * weights[f] for f in self.features
                 if weights.get(f, 0) > 0]
        return normalize(np.hstack(parts))


class Scorer:
    """Genre and subgenre P@10 of exact search over given vectors, for a fixed set of seeds."""

    def __init__(self, lib: Library, truths: list[ev.Truth], seeds: np.ndarray, k: int = 10):
        self.truths = [t for t in truths if t.name in TARGETS]
        self.seeds = seeds
        self.excluded = ev.exclusions(lib, seeds)
        self.k = k

    def precision(self, vectors: np.ndarray) -> dict[str, float]:
        recs = ev.exact_top_k_excluding(vectors, self.seeds, self.excluded, self.k)
        return {t.name: float(t.hits(self.seeds, recs).mean()) for t in self.truths}

    @staticmethod
    def objective(p: dict[str, float]) -> float:
        return float(np.mean([p[name] / target for name, target in TARGETS.items()]))


def artist_halves(lib: Library, rng_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows split in two by (first) artist at random: no artist has songs in both halves."""
    artists = np.asarray(lib.primary_artist)
    codes = np.unique(artists)
    half_a = np.random.default_rng(rng_seed).permutation(codes)[: len(codes) // 2]
    in_a = np.isin(artists, half_a)
    return np.flatnonzero(in_a), np.flatnonzero(~in_a)


def tune(args: argparse.Namespace) -> None:
    lib = library()
    truths = ev.read_truth(lib, REAL_30K, ["genre", "subgenre"])
    t0 = time.perf_counter()
    parts = scorers(lib, truths, args)
    tuning = parts["tuning"]
    tune_seeds = tuning.seeds
    space = Space(lib.table)
    weights = {f: PREVIOUS_WEIGHTS[f] for f in space.features}
    transforms = {f: PREVIOUS_TRANSFORMS[f] for f in space.features}
    best = tuning.objective(tuning.precision(space.vectors(weights, transforms)))
    start = {"weights": dict(weights), "transforms": dict(transforms)}
    trace = [{"round": 0, "objective": best}]
    console.print(f"start: objective {best:.4f} on {len(tune_seeds):,} tuning seeds")
    for round_no in range(1, args.rounds + 1):
        improved = False
        for f in space.features:
            for transform in CHOICES.get(f, (transforms[f],)):
                for w in GRID:
                    trial_w, trial_t = {**weights, f: w}, {**transforms, f: transform}
                    if trial_w == weights and trial_t == transforms:
                        continue
                    score = tuning.objective(tuning.precision(space.vectors(trial_w, trial_t)))
                    if score > best + args.min_gain:
                        best, weights, transforms, improved = score, trial_w, trial_t, True
            console.print(f"round {round_no} {f:<17} {transforms[f]:<6} w={weights[f]:<5g} "
                          f"objective {best:.4f}")
        trace.append({"round": round_no, "objective": best, "weights": dict(weights),
                      "transforms": dict(transforms)})
        if not improved:
            break
    results: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 1),
                               "tuning_seeds": len(tune_seeds), "start": start,
                               "tuned": {"weights": weights, "transforms": transforms},
                               "trace": trace}
    tuned = {"weights": weights, "transforms": transforms}
    results.update(score_variants(space, {"before tuning": start, "tuned": tuned,
                                          "tuned, no year": without_year(tuned)}, parts))
    out = RESULTS / "quality_tuning.json"
    out.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {out}")


def without_year(variant: dict[str, Any]) -> dict[str, Any]:
    return {**variant, "weights": {**variant["weights"], "year": 0.0}}


def scorers(lib: Library, truths: list[ev.Truth], args: argparse.Namespace
            ) -> dict[str, Scorer]:
    """Seeds from the tuning half, all songs of the held-out half, the 2,000 standard seeds."""
    rows_a, rows_b = artist_halves(lib, args.rng_seed)
    rng = np.random.default_rng(args.rng_seed)
    tune_seeds = np.sort(rng.choice(rows_a, size=min(args.seeds, len(rows_a)), replace=False))
    return {"tuning": Scorer(lib, truths, tune_seeds), "held_out": Scorer(lib, truths, rows_b),
            "standard": Scorer(lib, truths, ev.sample_seeds(truths, len(lib),
                                                            ev.DEFAULT_SEEDS, 0))}


def score_variants(space: Space, variants: dict[str, dict[str, Any]],
                   parts: dict[str, Scorer]) -> dict[str, Any]:
    """Genre and subgenre P@10 of each variant on each set of seeds; prints a table."""
    table = Table("weights", *(f"{part} {g}" for part in parts for g in TARGETS),
                  title="P@10, seed's artist and album excluded")
    scores: dict[str, Any] = {}
    for name, v in variants.items():
        vectors = space.vectors(v["weights"], v["transforms"])
        scores[name] = {part: scorer.precision(vectors) for part, scorer in parts.items()}
        table.add_row(name, *(f"{scores[name][p][g]:.4f}" for p in parts for g in TARGETS))
    console.print(table)
    return {"split": "artists halved at random (seeded)",
            "seeds": {part: len(scorer.seeds) for part, scorer in parts.items()},
            "variants": variants, "scores": scores}


def holdout(args: argparse.Namespace) -> None:
    """The shipped defaults against the weights before tuning, on both halves."""
    lib = library()
    truths = ev.read_truth(lib, REAL_30K, ["genre", "subgenre"])
    shipped = {"weights": dict(DEFAULT_WEIGHTS), "transforms": dict(TRANSFORMS)}
    before = {"weights": PREVIOUS_WEIGHTS, "transforms": PREVIOUS_TRANSFORMS}
    results = score_variants(Space(lib.table), {
        "before tuning": before, "DEFAULT_WEIGHTS": shipped,
        "DEFAULT_WEIGHTS, no year": without_year(shipped)}, scorers(lib, truths, args))
    out = RESULTS / "quality_holdout.json"
    out.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {out}")


def report(args: argparse.Namespace) -> None:
    lib = library()
    truths = ev.read_truth(lib, REAL_30K, ["genre", "subgenre"])
    space = Space(lib.table)
    extra = [
        ev.vector_method("musicrec, no year", "our vectors with the release year weighted 0",
                         space.vectors({**DEFAULT_WEIGHTS, "year": 0.0}, TRANSFORMS)),
        ev.vector_method("musicrec, before tuning", "weights and transforms before tuning",
                         space.vectors(PREVIOUS_WEIGHTS, PREVIOUS_TRANSFORMS)),
    ]
    methods = ev.baseline_methods(lib, args.rng_seed, hub_correction=args.hub_correction)
    methods[4:4] = extra
    t0 = time.perf_counter()
    result = ev.evaluate(lib, truths, k=10, seeds=args.seeds, rng_seed=args.rng_seed,
                         methods=methods)
    data = {**result.to_dict(), "seconds": round(time.perf_counter() - t0, 1),
            "source": str(REAL_30K.name), "weights": DEFAULT_WEIGHTS, "transforms": TRANSFORMS,
            "hubness_all_songs": catalogue_hubness(lib, space, args.hub_correction)}
    (RESULTS / "quality_30k.json").write_text(json.dumps(data, indent=2))
    print(markdown(result))
    print(json.dumps(data["hubness_all_songs"], indent=2))


def catalogue_hubness(lib: Library, space: Space, correction: float) -> dict[str, Any]:
    """Hubness with every song as a seed (the usual definition), not only the sampled seeds."""
    rows = np.arange(len(lib))
    excluded = ev.exclusions(lib, rows)
    penalty = correction * hubs.exact_other_artist_similarity(lib.vectors, rows)
    out = {}
    for name, vectors, pen in (
            ("scaled cosine", ev.standardised_audio(lib), None),
            ("musicrec vectors", np.asarray(lib.vectors), None),
            ("musicrec vectors + hub correction", np.asarray(lib.vectors), penalty)):
        recs = ev.exact_top_k_excluding(vectors, rows, excluded, 10, pen)
        occurrences = np.bincount(recs[recs >= 0], minlength=len(lib))
        top = np.sort(occurrences)[::-1]
        out[name] = {"skew": round(float(skew(occurrences)), 3),
                     "most_recommended": int(top[0]),
                     "share_of_slots_top_1pct": round(float(top[:len(lib) // 100].sum()
                                                            / occurrences.sum()), 4),
                     "never_recommended": round(float((occurrences == 0).mean()), 4)}
    return out


def markdown(result: ev.Evaluation) -> str:
    """The evaluation as a markdown table, methods as rows."""
    names = list(next(iter(result.metrics.values())))
    lines = ["| method | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for method, metrics in result.metrics.items():
        cells = [f"{metrics[n]:.0f}" if n == "most recommended" else f"{metrics[n]:.3f}"
                 for n in names]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


MPD_SAMPLE = ROOT.parent / "shared" / "data" / "mpd_sample" / "playlists.csv.gz"


def learn_report(args: argparse.Namespace) -> None:
    """Artist context on both artist halves, hubness, and the playlist table."""
    from musicrec import learn
    from musicrec.catalogue import read_catalogue
    from musicrec.encoder import EncoderConfig

    t0 = time.perf_counter()
    table = read_catalogue(REAL_30K).table
    pipeline = FeaturePipeline.fit(table)
    base = pipeline.transform(table)
    ids = table.column("id").to_numpy(zero_copy_only=False)
    truths = [t for t in ev.read_truth_for_ids(ids, REAL_30K, ["genre", "subgenre"])
              if t.name in TARGETS]
    groups = learn.Groups.from_table(table)
    codes = np.unique(groups.primary)
    half_a = np.random.default_rng(args.rng_seed).permutation(codes)[: len(codes) // 2]
    in_a = np.isin(groups.primary, half_a)
    rows_a, rows_b = np.flatnonzero(in_a), np.flatnonzero(~in_a)
    rng = np.random.default_rng(args.rng_seed)
    seed_sets = {"tuning": np.sort(rng.choice(rows_a, min(args.seeds, len(rows_a)), False)),
                 "held_out": rows_b,
                 "standard": ev.sample_seeds(truths, len(ids), ev.DEFAULT_SEEDS, 0)}
    excluded = {k: ev.table_exclusions(table, v) for k, v in seed_sets.items()}
    default = learn.ContextConfig()
    features = learn.ContextConfig(artist_space="features", artist_weight=1.4)
    # (config, whether the encoder learns from the tuning half only): every learned variant
    # but one is trained on half A's artists, so the held-out half's artists are unseen.
    variants = {
        "shipped weights, no context": (learn.ContextConfig(artist_weight=0.0), False),
        "audio-feature artist mean, weight 1, no scaling": (learn.ContextConfig(
            artist_space="features", artist_weight=1.0, artist_scale={}), False),
        "audio-feature artist mean, weight 1, shrinkage 1 (prior: the song)": (
            learn.ContextConfig(artist_space="features", artist_weight=1.0, artist_scale={},
                                shrinkage=1.0), False),
        "audio-feature artist mean, weight 1.4, scaled (previous default)": (features, False),
        "audio-feature artist mean + album mean 0.5": (features.model_copy(
            update={"album_weight": 0.5}), False),
        "encoded artist mean, weight 1.4": (learn.ContextConfig(artist_weight=1.4), True),
        "encoded artist mean + album mean 0.5": (learn.ContextConfig(album_weight=0.5), True),
        "encoded artist mean, 1,000 steps of 512 pairs": (learn.ContextConfig(
            encoder=EncoderConfig(steps=1000, batch=512)), True),
        "encoded artist mean (default ContextConfig)": (default, True),
        "default, encoder trained on every song (as built)": (default, False),
    }
    artists = groups.primary
    context: dict[str, Any] = {}
    table_out = Table("variant", *(f"{p} {g}" for p in seed_sets for g in TARGETS),
                      "std coverage", "std top-1% share", title="P@10, artist + album excluded")
    for name, (cfg, tuning_half_only) in variants.items():
        vectors = learn.build_context(table, base, cfg, pipeline.dims,
                                      train_rows=rows_a if tuning_half_only else None).vectors
        scores = {}
        for part, seeds in seed_sets.items():
            recs = ev.exact_top_k_excluding(vectors, seeds, excluded[part], 10)
            long = ev.exact_top_k_excluding(vectors, seeds, excluded[part], 60)
            capped = ev.cap_per_artist(long, artists, 10, 2)
            scores[part] = {**{t.name: round(float(t.hits(seeds, recs).mean()), 4)
                               for t in truths}, **slot_stats(recs, len(ids)),
                            "artist diversity": round(ev.artist_diversity(recs, artists), 4),
                            "at most 2 per artist": {
                                **{t.name: round(float(t.hits(seeds, capped).mean()), 4)
                                   for t in truths},
                                "coverage": slot_stats(capped, len(ids))["coverage"]}}
        context[name] = {"config": cfg.model_dump(), "dims": int(vectors.shape[1]),
                         "encoder trained on": "tuning half" if tuning_half_only else "all",
                         "scores": scores}
        table_out.add_row(name, *(f"{scores[p][g]:.4f}" for p in seed_sets for g in TARGETS),
                          f"{scores['standard']['coverage']:.3f}",
                          f"{scores['standard']['top 1% share']:.4f}")
    console.print(table_out)
    paths = shipped_paths(ids, truths, seed_sets)
    results: dict[str, Any] = {
        "source": REAL_30K.name, "k": 10,
        "exclusions": "seed's artists and album",
        "split": f"primary artists halved at random (rng seed {args.rng_seed}); tuning seeds "
                 "from half A, every song of half B held out",
        "seeds": {k: len(v) for k, v in seed_sets.items()},
        "context": context, "every song a seed (coverage, hubness)": paths,
        "playlists": playlist_report(table, ids, learn.context_vectors(
            table, base, default, pipeline.dims), args),
        "seconds": round(time.perf_counter() - t0, 1)}
    out = RESULTS / "quality_learn.json"
    out.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {out}")


def shipped_paths(ids: np.ndarray, truths: list[ev.Truth], seed_sets: dict[str, np.ndarray]
                  ) -> dict[str, Any]:
    """Audio only against the artist context, each without and with the hub correction
    (`hubs.DEFAULT_WEIGHT`, on by default), each built as a library
    and searched exactly (no cap) and through `Library.recommend` (the default per-artist cap;
    and 3 without the correction), with every song a seed: P@10 of the tuning seeds, of the
    held-out artists' songs and of the 2,000 standard seeds, coverage and the top 1%'s share
    of slots over the whole catalogue."""
    from musicrec.build import BuildConfig
    from musicrec.learn import ContextConfig

    hub = hubs.DEFAULT_WEIGHT
    builds = {"audio features only": BuildConfig(context=ContextConfig(artist_weight=0.0),
                                                 hub_weight=0),
              "audio-feature artist context": BuildConfig(context=ContextConfig(
                  artist_space="features", artist_weight=1.4), hub_weight=0),
              "learned artist context": BuildConfig(hub_weight=0),
              f"audio features only + hub correction {hub:g}": BuildConfig(
                  context=ContextConfig(artist_weight=0.0), hub_weight=hub),
              f"learned artist context + hub correction {hub:g} (default)": BuildConfig()}
    parts = {"tuning": seed_sets["tuning"], "held-out": seed_sets["held_out"],
             "standard": seed_sets["standard"]}
    every = np.arange(len(ids))
    out: dict[str, Any] = {}
    columns = [*(f"{p} {t.name}" for p in parts for t in truths), "coverage", "song coverage",
               "top 1% share"]
    grid = Table("vectors", "search", *columns,
                 title="every song a seed, seed's artists and album excluded")
    for i, (name, config) in enumerate(builds.items()):
        path = WORK.parent / f"learn_{i}"
        build_library(REAL_30K, path, config)
        lib = Library.open(path)
        assert (lib.table.column("id").to_numpy(zero_copy_only=False) == ids).all()
        excluded = ev.exclusions(lib, every)
        methods = {"exact search, no cap": ev.vector_method("exact", "", lib.vectors,
                                                            penalty=lib.hub_penalty),
                   "recommend(), default cap (2)": ev.recommender_method(lib)}
        if lib.hub_penalty is None:
            methods["recommend(), at most 3 per artist"] = ev.recommender_method(lib, 3)
        for search, method in methods.items():
            recs = method.recommend(every, excluded, 10)
            row = {f"{part} {t.name}": round(float(t.hits(seeds, recs[seeds]).mean()), 4)
                   for part, seeds in parts.items() for t in truths}
            row.update(slot_stats(recs, len(ids), np.asarray(lib.version_key)))
            out[f"{name}, {search}"] = row
            grid.add_row(name, search, *(f"{row[c]:.4f}" for c in columns))
    console.print(grid)
    return out


def slot_stats(recs: np.ndarray, n: int, version_key: np.ndarray | None = None
               ) -> dict[str, float]:
    """Coverage, share of slots going to the 1% most-recommended songs, skewness; with
    `version_key`, also the coverage of distinct songs (the versions of a song, e.g. the
    single and the album track with identical features, counted once: a list may hold only
    one of them, so which one a search meets first moves row coverage, not song coverage)."""
    occurrences = np.bincount(recs[recs >= 0], minlength=n)
    top = np.sort(occurrences)[::-1]
    out = {"coverage": round(float((occurrences > 0).mean()), 4),
           "top 1% share": round(float(top[: max(1, n // 100)].sum() / occurrences.sum()), 4),
           "skew": round(float(skew(occurrences)), 3), "most recommended": int(top[0])}
    if version_key is not None:
        songs = np.unique(version_key[recs[recs >= 0]])
        out["song coverage"] = round(len(songs) / len(np.unique(version_key)), 4)
    return out


PLAYLIST_COLUMNS = {"hit@10 own": "all hit@10", "hit@10 any": "all any-playlist hit@10",
                    "P@10 own": "all P@10", "cold hit@10 own": "cold hit@10",
                    "cold hit@10 any": "cold any-playlist hit@10", "coverage": "coverage"}


def playlist_tables(source: str, result: dict[str, Any]) -> None:
    """Print one table per exclusion rule: both hit@10 protocols for every method."""
    for rule, per_rule in result["rules"].items():
        grid = Table("method", *PLAYLIST_COLUMNS,
                     title=f"{source} ({result['split']}), {rule}: {per_rule['seeds']} seeds "
                           f"({per_rule['cold seeds']} cold)")
        for name, m in per_rule["methods"].items():
            grid.add_row(name, *(f"{m.get(key, float('nan')):.3f}"
                                 for key in PLAYLIST_COLUMNS.values()))
        console.print(grid)
        cont = per_rule["continuation, 5 seeds (mean query)"]
        console.print("  continuation from 5 seeds, hit@10: " + ", ".join(
            f"{name} {m['hit@10']:.3f}" for name, m in cont.items()))


PLAYLIST_PROTOCOL = (
    "playlists split 80/20 by playlist id (seeded); a further share of the playlist songs "
    "removed from every training playlist (cold-start songs); up to 3 seeds per held-out "
    "playlist with at least 2 catalogue songs; a seed counts only when another song of its "
    "playlist may be recommended. 'own' hit@10: share of seeds with at least one other song of "
    "the same held-out playlist in the top 10; 'any' hit@10: with at least one song sharing "
    "any held-out playlist with the seed (the issue's experiment scored the other half's "
    "co-occurrences); P@10: share of the 10 slots that are own hits; cold: seeds in no "
    "training playlist. Continuation (supplement): 5 seeds from a held-out playlist, query = "
    "normalised mean of their vectors, hit when one of the top 10 is another song of that "
    "playlist. Validation: the held-out playlists set aside, the training playlists split "
    "again the same way (defaults tuned there only).")


def playlist_report(table: pa.Table, ids: np.ndarray, content: np.ndarray,
                    args: argparse.Namespace) -> dict[str, Any]:
    """Both hit@10 protocols, P@10, recall@10, coverage per method: held-out and validation."""
    out: dict[str, Any] = {"protocol": PLAYLIST_PROTOCOL}
    runs = {"mpd_sample, validation": (MPD_SAMPLE, True),
            "mpd_sample": (MPD_SAMPLE, False),
            "30k playlist_id column": (REAL_30K, False)}
    for source, (path, validation) in runs.items():
        result = ev.playlist_evaluation(table, ids, content, path, args.rng_seed,
                                        args.cold_share, validation=validation)
        playlist_tables(source, result)
        out[source] = result
    return out


def content_vectors() -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """(catalogue table, track ids, default content vectors) of the 30k songs."""
    from musicrec import learn
    from musicrec.catalogue import read_catalogue

    table = read_catalogue(REAL_30K).table
    pipeline = FeaturePipeline.fit(table)
    content = learn.context_vectors(table, pipeline.transform(table), learn.ContextConfig(),
                                    pipeline.dims)
    return table, table.column("id").to_numpy(zero_copy_only=False), content


# Each variant changes the defaults in one place; scored on the validation split only.
PLAYLIST_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {}, "no popularity dimension": {"popularity": 0.0},
    "popularity 1": {"popularity": 1.0}, "popularity 3": {"popularity": 3.0},
    "weight 1": {"weight": 1.0}, "weight 3": {"weight": 3.0},
    "dims 32": {"dims": 32}, "dims 128": {"dims": 128},
    "alpha 5": {"alpha": 5.0}, "alpha 50": {"alpha": 50.0},
    "regularization 0.5": {"regularization": 0.5}, "iterations 30": {"iterations": 30},
    "ridge alpha 100": {"ridge_alpha": 100.0}, "no tracks outside the catalogue":
    {"use_unknown_tracks": False}, "PPMI + SVD instead of ALS": {"method": "cooc"}}


def learn_tune(args: argparse.Namespace) -> None:
    """PlaylistConfig variants on the validation split of the MPD sample's training playlists."""
    from musicrec import learn

    table, ids, content = content_vectors()
    rows: dict[str, Any] = {}
    for name, change in PLAYLIST_VARIANTS.items():
        result = ev.playlist_evaluation(table, ids, content, MPD_SAMPLE, args.rng_seed,
                                        args.cold_share, config=learn.PlaylistConfig(**change),
                                        validation=True)
        rows[name] = {"change": change, **{
            rule: {**r["methods"][ev.DEFAULT_PLAYLIST_METHOD],
                   "continuation hit@10": r["continuation, 5 seeds (mean query)"][
                       ev.DEFAULT_PLAYLIST_METHOD]["hit@10"]}
            for rule, r in result["rules"].items()}}
        console.print(name, *(f"{rule.split()[0]}: " + " ".join(
            f"{rows[name][rule][key]:.3f}" for key in PLAYLIST_COLUMNS.values())
            for rule in result["rules"]), highlight=False)
    out = RESULTS / "quality_learn_tuning.json"
    out.write_text(json.dumps({"protocol": PLAYLIST_PROTOCOL, "split": "validation",
                               "columns": list(PLAYLIST_COLUMNS.values()),
                               "variants": rows}, indent=2))
    console.print(f"wrote {out}")


def hub_tune(args: argparse.Namespace) -> None:
    """Hub correction weights (graph penalty, cap 2), scored on the tuning half only."""
    from musicrec.build import BuildConfig
    from musicrec.learn import ContextConfig

    libs = {}
    for name, config in (("audio", BuildConfig(context=ContextConfig(artist_weight=0.0),
                                               hub_weight=0)),
                         ("context", BuildConfig(hub_weight=1.0))):
        path = WORK.parent / f"hub_tune_{name}"
        build_library(REAL_30K, path, config)
        libs[name] = Library.open(path)
    lib = libs["context"]
    truths = [t for t in ev.read_truth(lib, REAL_30K, ["genre", "subgenre"])
              if t.name in TARGETS]
    rows_a, _ = artist_halves(lib, args.rng_seed)
    rng = np.random.default_rng(args.rng_seed)
    tuning = np.sort(rng.choice(rows_a, min(args.seeds, len(rows_a)), replace=False))
    assert lib.hub_penalty is not None
    penalties = {"graph": np.asarray(lib.hub_penalty, dtype=np.float32)}  # weight 1
    grid = [("audio", "none", 0.0, 2), ("context", "none", 0.0, 2)] + [
        ("context", "graph", w, 2) for w in (0.1, 0.2, 0.3, 0.4, 0.5)]
    rows: list[dict[str, Any]] = []
    for name, kind, weight, cap in grid:
        target = libs[name]
        target.hub_penalty = None if kind == "none" else weight * penalties[kind]
        recs = ev.recommender_method(target, cap).recommend(
            rows_a, ev.exclusions(target, rows_a), 10)
        full = np.full((len(target), 10), -1, np.int64)
        full[rows_a] = recs
        row = {"vectors": name, "penalty": kind, "weight": weight, "cap": cap,
               **{f"tuning {t.name}": round(float(t.hits(tuning, full[tuning]).mean()), 4)
                  for t in truths}, **slot_stats(recs, len(target), target.version_key)}
        rows.append(row)
        console.print(row, highlight=False)
    out = RESULTS / "quality_hub_tuning.json"
    out.write_text(json.dumps({"seeds": {"tuning (P@10)": len(tuning),
                                         "tuning half's songs (coverage)": len(rows_a)},
                               "rows": rows}, indent=2))
    console.print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_tune = sub.add_parser("tune", help="coordinate search of weights on one artist half")
    p_tune.add_argument("--seeds", type=int, default=5000, help="tuning seeds (half A)")
    p_tune.add_argument("--rounds", type=int, default=3)
    p_tune.add_argument("--min-gain", type=float, default=0.001)
    p_tune.add_argument("--rng-seed", type=int, default=0)
    p_tune.set_defaults(run=tune)
    p_hold = sub.add_parser("holdout", help="the shipped defaults on both artist halves")
    p_hold.add_argument("--seeds", type=int, default=5000, help="tuning seeds (half A)")
    p_hold.add_argument("--rng-seed", type=int, default=0)
    p_hold.set_defaults(run=holdout)
    p_learn = sub.add_parser("learn", help="artist context and playlists (learn.py)")
    p_learn.add_argument("--seeds", type=int, default=5000, help="tuning seeds (half A)")
    p_learn.add_argument("--rng-seed", type=int, default=0)
    p_learn.add_argument("--cold-share", type=float, default=0.1,
                         help="share of playlist songs removed from training (cold start)")
    p_learn.set_defaults(run=learn_report)
    p_ltune = sub.add_parser("learn-tune", help="playlist settings on a validation split")
    p_ltune.add_argument("--rng-seed", type=int, default=0)
    p_ltune.add_argument("--cold-share", type=float, default=0.1)
    p_ltune.set_defaults(run=learn_tune)
    p_hub = sub.add_parser("hub-tune", help="hub correction weight, tuning half only")
    p_hub.add_argument("--seeds", type=int, default=5000, help="tuning seeds (half A)")
    p_hub.add_argument("--rng-seed", type=int, default=0)
    p_hub.set_defaults(run=hub_tune)
    p_report = sub.add_parser("report", help="the evaluation table on the 30k songs")
    p_report.add_argument("--seeds", type=int, default=ev.DEFAULT_SEEDS)
    p_report.add_argument("--rng-seed", type=int, default=0)
    p_report.add_argument("--hub-correction", type=float, default=0.5)
    p_report.set_defaults(run=report)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.run(args)


if __name__ == "__main__":
    main()
