"""Shared fixtures: seeded randomness, small generated catalogues and libraries, real data."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from musicrec.library import Library

REAL_30K = Path(__file__).resolve().parents[2] / "shared" / "data" / "spotify_30k_songs" / \
    "spotify_songs.csv"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 synthetic songs in the Kaggle schema."""
    from musicrec.synth import write_catalogue

    path = tmp_path_factory.mktemp("catalogue") / "tracks_features.csv"
    write_catalogue(path, 3000, seed=7)
    return path


@pytest.fixture(scope="session")
def small_library_path(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from musicrec.build import build_library

    path = tmp_path_factory.mktemp("libraries") / "small"
    build_library(small_csv, path)
    return path


@pytest.fixture(scope="session")
def small_library(small_library_path: Path) -> Library:
    from musicrec.library import Library

    return Library.open(small_library_path)


@pytest.fixture(scope="session")
def real_30k() -> Path:
    """The real 30k-songs file; its absence fails in CI and skips elsewhere."""
    if not REAL_30K.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the real data is missing at {REAL_30K}")
        pytest.skip(f"real data not found at {REAL_30K} (needs ../shared beside the project)")
    return REAL_30K


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `audio` need the audio extra: skipped without it, a failure in CI."""
    if item.get_closest_marker("audio") is None:
        return
    for module in ("soundfile", "soxr"):
        try:
            importlib.import_module(module)
        except ImportError:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"{module} not installed (pip install 'musicrec[audio]')")
