"""The build's reading, validation and feature stages as Ray tasks and Ray Data batches.

`musicrec build SOURCES --engine ray [--ray-address ADDRESS]` runs:

1. validation: one Ray task per source file (a Parquet dataset's part files, several CSVs),
   each by the same reader as a local build (`musicrec.sources.read_one`); the driver joins
   them in the given order and merges duplicate ids across files (`musicrec.sources.merge`);
2. features: the audio-feature columns as a Ray Dataset of blocks of `BLOCK_ROWS` songs; a
   first pass computes each block's count, mean and squared deviations of every feature after
   its transform, combined on the driver (Chan et al.'s pairwise update) into the same
   centre and spread `FeaturePipeline.fit` computes; a second pass transforms the blocks into
   unit vectors, kept in source order.

Index, lookups, families and the files are then written as in a local build, so the library is
the same apart from float rounding in the fitted centres and spreads. Families are already
fitted on a sample (`musicrec.families`); assigning every song to its family and the HNSW
graph stay on the driver, which at 1.2M songs took 2 s and 35 s (the graph is one faiss add:
built in parts it lost recall, see `musicrec.build`).

Without an address a local Ray is started (`ray.init()`), as the tests do; with one, the build
joins that cluster and nothing else changes. Ray is imported only here (`musicrec[ray]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from musicrec.catalogue import Catalogue
from musicrec.errors import MusicrecError
from musicrec.features import (
    TRANSFORMS,
    FeatureConfig,
    FeaturePipeline,
    FittedFeature,
    _column,
    _pre,
)
from musicrec.sources import SourceFile, merge, read_one

# Songs per Ray Data block: 1.2M songs make 12 blocks, enough to spread over a few workers
# while each block's Arrow columns (~5 MB of features) stay cheap to move.
BLOCK_ROWS = 100_000


def _ray(address: str | None) -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MusicrecError("--engine ray needs Ray: pip install 'musicrec[ray]'") from exc
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise MusicrecError(f"cannot start or join Ray at {address or 'a local Ray'}: "
                                f"{str(exc).splitlines()[0][:160]}") from exc
    return ray


def read(sources: Sequence[SourceFile], address: str | None = None) -> Catalogue:
    """Validate every source file in a Ray task of its own and join them in order."""
    ray = _ray(address)
    task = ray.remote(read_one)
    parts = ray.get([task.remote(s) for s in sources])
    if len(parts) == 1:
        return parts[0]
    return merge(parts, [s.label for s in sources])


def features(table: pa.Table, config: FeatureConfig,
             address: str | None = None) -> tuple[FeaturePipeline, np.ndarray]:
    """Fit the feature pipeline in one pass over Ray Data blocks and transform in a second.

    Returns the fitted pipeline and the vectors (float32 (n, d), unit rows, source order).
    """
    _ray(address)
    import ray.data

    wanted = [name for name, weight in config.weights.items()
              if weight != 0 and name in table.column_names]
    columns = table.select(wanted)
    blocks = [columns.slice(start, BLOCK_ROWS)
              for start in range(0, max(columns.num_rows, 1), BLOCK_ROWS)]
    ds = ray.data.from_arrow(blocks)
    scaled = [n for n in wanted if TRANSFORMS[n] != "circle"]

    def moments(batch: pa.Table) -> pa.Table:
        """Per feature: count of known values, their mean and sum of squared deviations."""
        out: dict[str, list[float]] = {}
        for name in scaled:
            x = _pre(TRANSFORMS[name], _column(batch, name))
            x = x[~np.isnan(x)]
            mean = float(x.mean()) if len(x) else 0.0
            out[f"{name}/n"] = [float(len(x))]
            out[f"{name}/mean"] = [mean]
            out[f"{name}/m2"] = [float(((x - mean) ** 2).sum())]
        return pa.table(out) if out else pa.table({"_": [0]})

    rows = ds.map_batches(moments, batch_format="pyarrow", batch_size=None).take_all()
    fitted = []
    for name, weight in config.weights.items():
        if name not in wanted:
            continue
        if TRANSFORMS[name] == "circle":
            fitted.append(FittedFeature(name, "circle", 0.0, 1.0, weight))
            continue
        n, mean, m2 = _combine([(r[f"{name}/n"], r[f"{name}/mean"], r[f"{name}/m2"])
                                for r in rows])
        center = mean if n else float("nan")
        scale = float(np.sqrt(m2 / n)) if n else float("nan")
        fitted.append(FittedFeature(name, TRANSFORMS[name], center, scale or 1.0, weight))
    pipeline = FeaturePipeline(fitted)

    def transform(batch: pa.Table) -> pa.Table:
        vectors = pipeline.transform(batch)
        return pa.table({"v": pa.FixedSizeListArray.from_arrays(vectors.reshape(-1),
                                                                vectors.shape[1])})

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    parts = ds.map_batches(transform, batch_format="pyarrow", batch_size=None)
    vectors = np.concatenate([
        np.asarray(block.column("v").combine_chunks().flatten(), dtype=np.float32)
        for block in parts.iter_batches(batch_format="pyarrow", batch_size=None)])
    return pipeline, np.ascontiguousarray(vectors.reshape(-1, len(pipeline.dims)))


def _combine(parts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Count, mean and squared deviations of the union of parts (pairwise, stable)."""
    n, mean, m2 = 0.0, 0.0, 0.0
    for nb, mb, m2b in parts:
        if nb == 0:
            continue
        total = n + nb
        delta = mb - mean
        mean += delta * nb / total
        m2 += m2b + delta * delta * n * nb / total
        n = total
    return n, mean, m2
