"""A library whose index is a Milvus collection: built from the CLI, opened and recommended
from like any other, on Milvus Lite in the library or on a server by URI with a token file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musicrec.build import BuildConfig, build_library
from musicrec.cli import app
from musicrec.errors import LibraryError
from musicrec.index import ExactIndex
from musicrec.library import Library
from musicrec.request import RecommendRequest
from test_index import MILVUS, clustered

pytestmark = MILVUS


@pytest.fixture(scope="module")
def milvus_library(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3,000-song library with its index in Milvus Lite, built by the CLI."""
    dest = tmp_path_factory.mktemp("milvus") / "lib"
    result = CliRunner().invoke(app, ["build", str(small_csv), "--library", str(dest),
                                      "--index", "milvus"])
    assert result.exit_code == 0, result.stdout + result.stderr
    return dest


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Milvus endpoint on a loopback port (Milvus Lite's gRPC server), as a remote one."""
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(str(tmp_path_factory.mktemp("server") / "m.db"))
    yield f"http://127.0.0.1:{port}"
    server.stop(grace=0)
    db.close()


def test_a_milvus_library_opens_and_recommends_like_an_hnsw_one(
        milvus_library: Path, small_library: Library) -> None:
    from musicrec.index_milvus import LITE_DIR, MilvusIndex

    lib = Library.open(milvus_library)
    assert isinstance(lib.index, MilvusIndex) and lib.manifest.index["kind"] == "milvus"
    assert (milvus_library / LITE_DIR).is_dir() and not (milvus_library / "index.faiss").exists()
    seed = lib.tracks([42])[0]["id"]
    request = RecommendRequest(seed_tracks=[seed], limit=10, max={"tempo": 120.0})
    got = lib.recommend(request)
    expected = small_library.recommend(request)
    assert [t.track["id"] for t in got.tracks] == [t.track["id"] for t in expected.tracks]
    assert all(t.track["tempo"] <= 120.0 for t in got.tracks)
    queries = np.asarray(lib.vectors[:50])
    np.testing.assert_array_equal(lib.index.search(queries, 10)[0],
                                  ExactIndex(lib.vectors).search(queries, 10)[0])


def test_a_server_collection_is_named_by_uri_and_the_token_stays_in_its_file(
        small_csv: Path, tmp_path: Path, milvus_server: str) -> None:
    token = tmp_path / "token"
    token.write_text("root:s3cret-token\n")
    config = BuildConfig(index="milvus", milvus_uri=milvus_server,
                         milvus_token_file=str(token))
    build_library(small_csv, tmp_path / "lib", config)
    manifest = (tmp_path / "lib" / "manifest.json").read_text()
    assert "s3cret" not in manifest
    lib = Library.open(tmp_path / "lib")
    params = lib.manifest.index
    assert params["uri"] == milvus_server and params["token_file"] == str(token.resolve())
    assert params["collection"].startswith("musicrec_") and params["rows"] == len(lib)
    ids, _ = lib.index.search(np.asarray(lib.vectors[:5]), 3)
    assert (ids[:, 0] == np.arange(5)).all() or np.allclose(  # a duplicate may come first
        np.asarray(lib.vectors)[ids[:, 0]], np.asarray(lib.vectors[:5]), atol=1e-6)
    # A rebuild makes a new collection: servers reading the old one are not disturbed.
    build_library(small_csv, tmp_path / "lib2", config)
    assert Library.open(tmp_path / "lib2").manifest.index["collection"] != params["collection"]


def test_damage_is_a_one_line_library_error(milvus_library: Path, tmp_path: Path,
                                            milvus_server: str) -> None:
    from musicrec.index_milvus import MilvusIndex

    lib = Library.open(milvus_library)
    params = lib.manifest.index
    with pytest.raises(LibraryError, match="Milvus Lite data missing"):
        MilvusIndex.load(tmp_path, lib.vectors, params)
    x = clustered(np.random.default_rng(1), n=300)
    built = MilvusIndex.build(x, uri=milvus_server, collection="three_hundred")
    saved = built.save(tmp_path)
    with pytest.raises(LibraryError, match="has 300 vectors, the library has 299"):
        MilvusIndex.load(tmp_path, x[:299], saved)
    with pytest.raises(LibraryError, match="has no collection nope"):
        MilvusIndex.load(tmp_path, x, {**saved, "collection": "nope"})
    with pytest.raises(LibraryError, match="cannot read the Milvus token file"):
        MilvusIndex.load(tmp_path, x, {**saved, "token_file": str(tmp_path / "absent")})
    with pytest.raises(LibraryError, match="incomplete"):
        MilvusIndex.load(tmp_path, x, {"kind": "milvus"})


def test_milvus_options_need_index_milvus(small_csv: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", str(small_csv), "--library", str(tmp_path / "l"),
                                      "--milvus-uri", "http://localhost:19530"])
    assert result.exit_code == 2 and "need --index milvus" in result.output


def test_opening_an_hnsw_library_does_not_import_pymilvus(small_library_path: Path) -> None:
    code = ("import sys; from musicrec.library import Library; import musicrec.build; "
            f"Library.open({str(small_library_path)!r}); "
            "assert 'pymilvus' not in sys.modules, 'pymilvus imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
