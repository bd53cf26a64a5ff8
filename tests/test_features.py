"""The feature pipeline: transforms, weights, targets, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from musicrec.features import FeatureConfig, FeaturePipeline


def table(rng: np.random.Generator, n: int = 500, with_year: bool = True) -> pa.Table:
    cols = {f: rng.random(n).astype(np.float32) for f in (
        "danceability", "energy", "valence", "acousticness", "instrumentalness", "speechiness",
        "liveness")}
    cols.update(loudness=rng.uniform(-30, 0, n).astype(np.float32),
                tempo=rng.uniform(60, 200, n).astype(np.float32),
                duration_ms=rng.uniform(6e4, 6e5, n).astype(np.float32),
                key=rng.integers(0, 12, n).astype(np.int8),
                mode=rng.integers(0, 2, n).astype(np.int8))
    data = {k: pa.array(v) for k, v in cols.items()}
    if with_year:
        year = rng.integers(1950, 2021, n).astype(np.int16)
        data["year"] = pa.array(year, mask=np.arange(n) == 0)  # row 0: unknown year
    return pa.table(data)


def test_vectors_are_unit_float32_c_order(rng: np.random.Generator) -> None:
    t = table(rng)
    v = FeaturePipeline.fit(t).transform(t)
    assert v.dtype == np.float32 and v.flags.c_contiguous
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)


def test_key_is_a_circle(rng: np.random.Generator) -> None:
    p = FeaturePipeline.fit(table(rng))
    z = p.standardize("key", np.array([11.0, 0.0, 6.0, -1.0]))
    assert np.linalg.norm(z[0] - z[1]) < np.linalg.norm(z[1] - z[2])  # B is next to C
    assert np.all(z[3] == 0)  # no key detected -> neutral


def test_missing_columns_and_zero_weights_are_left_out(rng: np.random.Generator) -> None:
    weights = {**FeatureConfig().weights, "liveness": 0.0}
    p = FeaturePipeline.fit(table(rng, with_year=False), FeatureConfig(weights=weights))
    assert "year" not in p.names and "liveness" not in p.names
    assert "explicit" not in p.names and "energy" in p.names


def test_unknown_values_become_the_mean(rng: np.random.Generator) -> None:
    p = FeaturePipeline.fit(table(rng))
    assert p.standardize("year", np.array([np.nan]))[0] == 0.0


def test_targets_move_the_vector(rng: np.random.Generator) -> None:
    t = table(rng)
    p = FeaturePipeline.fit(t)
    w = p.weighted(t.slice(0, 3))
    moved = p.apply_targets(w, [{"energy": 1.0}, {}, {"energy": 0.0, "key": 5}])
    i, k = p.dims.index("energy"), p.dims.index("key_sin")
    assert moved[0, i] > w[0, i] or t.column("energy")[0].as_py() == pytest.approx(1.0)
    assert np.delete(moved[0], i) == pytest.approx(np.delete(w[0], i))
    assert moved[1] == pytest.approx(w[1])
    # Each vector's own targets, the same values as one at a time.
    assert moved[2, i] == pytest.approx(p.standardize("energy", np.array([0.0]))[0] * p.features[
        [f.name for f in p.features].index("energy")].weight)
    assert moved[2, k:k + 2] == pytest.approx(p.standardize("key", np.array([5.0]))[0] * p.features[
        [f.name for f in p.features].index("key")].weight)


def test_config_rejects_unknown_and_negative() -> None:
    with pytest.raises(ValueError, match="unknown feature"):
        FeatureConfig(weights={"loudnes": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        FeatureConfig(weights={"energy": -1.0})
    with pytest.raises(ValueError, match="Extra inputs"):
        FeatureConfig(weight={"energy": 1.0})  # type: ignore[call-arg]


def test_save_load_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    t = table(rng)
    p = FeaturePipeline.fit(t)
    p.save(tmp_path / "f.json")
    q = FeaturePipeline.load(tmp_path / "f.json")
    np.testing.assert_array_equal(p.transform(t), q.transform(t))
