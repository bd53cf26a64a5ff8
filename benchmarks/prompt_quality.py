"""Title-only prompts on held-out MPD-sample playlists: do a playlist's words find its songs?

The MPD sample's playlists are split in halves by playlist (`musicrec.evaluate.prompts`, rng
seed 0). A library of the 30k songs is built with the training half (its vocabulary learned
from their titles) and served by `musicrec serve`'s own server on a loopback port; every
held-out playlist with at least 5 catalogue songs is asked for by its title alone through
`GET /v1/musicrec/prompt?q=TITLE&limit=100`. hit@10 (one of its songs in the top 10) and
R-precision, beside three baselines over the same training playlists: popularity, the songs of
training playlists with the same title, and those of training playlists sharing a title word.
Each request's round trip is timed, beside `/v1/recommendations` seeded with each held-out
playlist's first song (run it with nothing else running).
One more row, not an answer of the API, counts the prompts it refuses (400: nothing
understood) as the popular songs, as the baselines do for titles they do not know.

`--tune` never reads the held-out half: three times, it splits the training half again (a
quarter held out for validation), builds a library with the rest, and tries
`answer.PLAYLISTS` (the weight of the playlists titled like the prompt that hold a song,
against its similarity to the prompt's queries), `answer.TITLED` (the weight of a word's
appearing in a song's title, for words known nowhere else) and `answer.POPULAR`
(`answer.PLAYLISTS` when no title is like the prompt); earlier runs settled `titles.PRIOR`
(20 of 5, 20, 50), `titles.SERVED` (0.8 of 0.4, 0.65, 0.8) and `titles.SHARPNESS` (2 of 2,
3).

    PYTHONPATH=src .venv/bin/python benchmarks/prompt_quality.py [--tune]

Results: benchmarks/results/prompt_quality.json (`--tune`: prompt_tuning.json).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import running_server  # noqa: E402
from musicrec.build import BuildConfig, build_library  # noqa: E402
from musicrec.data import demo_catalogue  # noqa: E402
from musicrec.evaluate import prompts as evaluation  # noqa: E402
from musicrec.learn import read_playlists  # noqa: E402
from musicrec.library import Library  # noqa: E402
from musicrec.prompts import answer  # noqa: E402

PLAYLISTS = ROOT.parent / "shared" / "data" / "mpd_sample" / "playlists.csv.gz"
RESULTS = ROOT / "benchmarks" / "results"
# Settings tried by --tune: (module, constant) -> values, every combination.
TUNING = {(answer, "PLAYLISTS"): (8.0, 16.0, 32.0), (answer, "TITLED"): (0.0, 0.5, 2.0),
          (answer, "POPULAR"): (0.3, 16.0)}

VALIDATIONS = 3  # draws of a validation quarter in --tune
CURVE = (0.25, 0.5, 1.0)  # shares of the training playlists in --curve
CURVE_DRAWS = 5


def build(folder: Path, train: object, ids: np.ndarray) -> Library:
    folder.mkdir(exist_ok=True)
    evaluation.write_playlists(train, ids, folder / "train.csv")  # type: ignore[arg-type]
    build_library(demo_catalogue(), folder / "library",
                  BuildConfig(playlists=[folder / "train.csv"]))
    return Library.open(folder / "library")


def api_answer(base: str, lib: Library, seconds: list[float]) -> evaluation.Answer:
    """Our prompts through the API; a 400 (nothing understood) is an empty list. Each
    request's round trip is appended to `seconds`."""
    def ask(title: str) -> np.ndarray:
        query = urllib.parse.urlencode({"q": title, "limit": evaluation.MAX_LIST,
                                        "market": "US"})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{base}/v1/musicrec/prompt?{query}") as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                return np.empty(0, np.int64)
            raise
        finally:
            seconds.append(time.perf_counter() - start)
        rows = lib.rows_of([t["id"] for t in body["tracks"]])
        return np.array([r for r in rows if r is not None], dtype=np.int64)
    return ask


def recommendation_seconds(base: str, lib: Library, test: object) -> list[float]:
    """Round trips of `/v1/recommendations` seeded with each held-out playlist's first song
    and as many songs as a prompt asks: the reference for the prompts' times."""
    matrix = test.matrix.tocsr()  # type: ignore[attr-defined]
    ids = lib.table.column("id").to_numpy(zero_copy_only=False)
    seconds = []
    for p in range(matrix.shape[0]):
        seed = ids[matrix.indices[matrix.indptr[p]]]
        query = urllib.parse.urlencode({"seed_tracks": seed, "limit": evaluation.MAX_LIST,
                                        "market": "US"})
        start = time.perf_counter()
        with urllib.request.urlopen(f"{base}/v1/recommendations?{query}") as response:
            json.load(response)
        seconds.append(time.perf_counter() - start)
    return seconds


def timing(seconds: list[float]) -> dict[str, float]:
    return {"requests": len(seconds), "p50 ms": 1000 * float(np.percentile(seconds, 50)),
            "p95 ms": 1000 * float(np.percentile(seconds, 95))}


def learning_curve(split: evaluation.TitleSplit) -> None:
    """The baselines' hit@10 on the held-out titles as the training playlists grow (a share
    of them drawn CURVE_DRAWS times; the mean and the lowest and highest draw)."""
    out = {}
    for share in CURVE:
        draws = [np.random.default_rng(seed).permutation(len(split.train))[
            :round(share * len(split.train))] for seed in range(CURVE_DRAWS if share < 1 else 1)]
        scores = [{name: evaluation.score_titles(m, split.test)[f"hit@{evaluation.K}"]
                   for name, m in evaluation.baselines(split.train.subset(np.sort(d))).items()}
                  for d in draws]
        out[len(draws[0])] = {name: [float(np.mean([s[name] for s in scores])),
                                     min(s[name] for s in scores), max(s[name] for s in scores)]
                              for name in scores[0]}
        print(len(draws[0]), out[len(draws[0])], flush=True)
    (RESULTS / "prompt_curve.json").write_text(json.dumps(
        {"held-out playlists": len(split.test),
         "hit@10 by training playlists: mean, lowest, highest": out}, indent=2) + "\n")


def tune(folder: Path, split: evaluation.TitleSplit, ids: np.ndarray) -> None:
    """Each TUNING setting's hit@10 on VALIDATIONS draws of a quarter of the training
    playlists, each scored by a library built with the other three quarters."""
    hits: dict[str, list[float]] = {}
    sizes, trained = [], 0
    for draw in range(1, VALIDATIONS + 1):
        inner = evaluation.split_titles(split.train, rng_seed=draw, test_share=0.25)
        lib = build(folder / f"draw{draw}", inner.train, ids)
        sizes.append(len(inner.test))
        trained = len(inner.train)
        for values in itertools.product(*TUNING.values()):
            for (module, constant), value in zip(TUNING, values, strict=True):
                setattr(module, constant, value)
            name = ", ".join(f"{constant} {value:g}"
                             for (_, constant), value in zip(TUNING, values, strict=True))
            hits.setdefault(name, []).append(evaluation.score_titles(
                evaluation.library_answer(lib), inner.test)[f"hit@{evaluation.K}"])
            print(draw, name, hits[name][-1], flush=True)
    mean = {name: float(np.average(h, weights=sizes)) for name, h in hits.items()}
    out = {"train playlists per draw": trained, "validation playlists per draw": sizes,
           f"hit@{evaluation.K} by setting, mean over draws": dict(
               sorted(mean.items(), key=lambda item: -item[1]))}
    print(json.dumps(out, indent=2))
    (RESULTS / "prompt_tuning.json").write_text(json.dumps(out, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--curve", action="store_true",
                        help="the baselines trained on a quarter, a half and all of the "
                             "training playlists: how hit@10 grows with more titles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prompt-quality-") as tmp:
        folder = Path(tmp)
        build_library(demo_catalogue(), folder / "plain")
        ids = Library.open(folder / "plain").table.column("id").to_numpy(zero_copy_only=False)
        split = evaluation.split_titles(read_playlists(PLAYLISTS, ids))
        if args.tune:
            tune(folder, split, ids)
            return
        if args.curve:
            learning_curve(split)
            return
        lib = build(folder, split.train, ids)
        scores = {name: evaluation.score_titles(m, split.test)
                  for name, m in evaluation.baselines(split.train).items()}
        seconds: list[float] = []
        with running_server(lib.path) as (host, port):
            ask = api_answer(f"http://{host}:{port}", lib, seconds)
            scores["prompts (API)"] = evaluation.score_titles(ask, split.test)
            times = {"prompt": timing(seconds), "recommendations, one seed song": timing(
                recommendation_seconds(f"http://{host}:{port}", lib, split.test))}
            # Not what the API does (it answers 400 when it understood nothing): where the
            # gap to the baselines is.
            popular = evaluation.baselines(split.train)["popularity"]
            scores["prompts, a 400 counted as the popular songs"] = evaluation.score_titles(
                lambda title: ask(title) if len(ask(title)) else popular(title), split.test)
        out = {"train playlists": len(split.train), "held-out playlists": len(split.test),
               "min songs": evaluation.MIN_SONGS, "methods": scores,
               f"round trips, limit {evaluation.MAX_LIST}": times}
    print(json.dumps(out, indent=2))
    (RESULTS / "prompt_quality.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
