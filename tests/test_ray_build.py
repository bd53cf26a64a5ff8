"""The Ray engine builds the same library as a local build, from the same sources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from musicrec.build import BuildConfig, build_library
from musicrec.library import Library
from musicrec.schema import KAGGLE_HEADER
from musicrec.synth import synthesize
from test_index import needs_extra

pytestmark = [needs_extra("ray", "ray"), pytest.mark.slow]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray for this module (starting one takes 10-15 s on 2 busy cores)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """2,400 songs in a CSV and a folder of two Parquet parts, with damage and duplicates."""
    folder = tmp_path_factory.mktemp("sources")
    songs = synthesize(2400, seed=3).drop(columns="style")[list(KAGGLE_HEADER)].astype(str)
    songs.loc[10, "energy"] = "2"
    songs.loc[1500, "tempo"] = "n/a"
    songs.loc[2000, "valence"] = ""  # an unknown value: kept, reported
    songs.iloc[:1000].to_csv(folder / "a.csv", index=False)
    (folder / "parts").mkdir()
    for i, part in enumerate((songs.iloc[1000:1700], pd.concat([songs.iloc[1700:],
                                                                 songs.iloc[5:25]]))):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       folder / "parts" / f"part-{i}.parquet")
    return [folder / "a.csv", folder / "parts"]


def test_ray_and_local_builds_agree(sources: list[Path], tmp_path: Path, local_ray: None,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from musicrec.engines import ray_build

    monkeypatch.setattr(ray_build, "BLOCK_ROWS", 500)  # several blocks in each pass
    build_library(sources, tmp_path / "local")
    build_library(sources, tmp_path / "ray", BuildConfig(engine="ray"))
    local, distributed = Library.open(tmp_path / "local"), Library.open(tmp_path / "ray")
    np.testing.assert_allclose(np.asarray(distributed.vectors), np.asarray(local.vectors),
                               atol=1e-6)
    assert distributed.table.equals(local.table)
    assert (tmp_path / "ray" / "rejected.csv").read_text() == \
        (tmp_path / "local" / "rejected.csv").read_text()
    assert "energy" in (tmp_path / "ray" / "rejected.csv").read_text()

    def comparable(path: Path) -> dict:
        manifest = json.loads((path / "manifest.json").read_text())
        # files: checksums, and the two builds' vectors agree to 1e-6, not to the bit
        for varying in ("created", "stage_seconds", "files"):
            manifest.pop(varying)
        manifest["build_config"].pop("engine")
        weights = manifest["features"].pop("weights")
        return manifest | {"weights": sorted(weights)}

    assert comparable(tmp_path / "ray") == comparable(tmp_path / "local")
    np.testing.assert_array_equal(distributed.families.labels, local.families.labels)
    q = np.asarray(local.vectors[:20])
    np.testing.assert_array_equal(distributed.index.search(q, 10)[0], local.index.search(q, 10)[0])
    fitted = {f.name: (f.center, f.scale) for f in local.pipeline.features}
    for f in distributed.pipeline.features:
        np.testing.assert_allclose((f.center, f.scale), fitted[f.name], rtol=1e-9)

