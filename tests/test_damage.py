"""A damaged library fails with one line naming the file, in every interface, never a traceback.

Each artefact is damaged in turn (deleted, truncated, overwritten with garbage) in a copy of a
built library; opening it must raise `LibraryError`, the CLI must print one line and exit 1,
and the API must answer `/health` (and every other request) with a 503 in Spotify's error
shape.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from musicrec.api import create_app
from musicrec.artefacts import FILES
from musicrec.cli import app as cli_app
from musicrec.errors import LibraryError
from musicrec.library import Library, LiveLibrary

# Every file of a library, including those inside its sub-folders.
ARTEFACTS = [FILES[r] for r in ("manifest", "catalogue", "vectors", "features", "artists",
                                "track_keys", "track_order", "artist_keys", "artist_order",
                                "artist_rows", "artist_offsets", "primary_artist",
                                "version_key")] + [
    "index.faiss", "text/vocab.npy", "text/offsets.npy", "text/rows.npy", "text/n_docs.npy",
    "artist_text/vocab.npy", "families/families.json", "families/labels.npy",
    "families/centroids.npy", "families/map_xy.npy", "learn.json", "artist_vectors.npy"]
DAMAGE = ("delete", "truncate", "garbage")


def damage(path: Path, how: str) -> None:
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: max(1, len(data) // 3)])
    else:
        path.write_bytes(b"\x00garbage{not what was here" * 7)


@pytest.fixture(scope="module")
def pristine(small_library_path: Path) -> Path:
    return small_library_path


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("artefact", ARTEFACTS)
def test_damaged_artefact_is_one_clear_error(pristine: Path, tmp_path: Path, artefact: str,
                                             how: str) -> None:
    lib_path = tmp_path / "lib"
    shutil.copytree(pristine, lib_path)
    damage(lib_path / artefact, how)

    with pytest.raises(LibraryError) as caught:
        Library.open(lib_path)
    message = str(caught.value)
    assert "\n" not in message and "build" in message
    assert Path(artefact).parts[0] in message or "manifest" in message

    result = CliRunner().invoke(cli_app, ["info", "--library", str(lib_path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "build" in result.output

    client = TestClient(create_app(LiveLibrary(lib_path)), raise_server_exceptions=False)
    for url in ("/health", "/v1/recommendations?seed_tracks=x"):
        answer = client.get(url)
        assert answer.status_code == 503
        assert answer.json() == {"error": {"status": 503, "message": message}}


@pytest.fixture(scope="module")
def partitioned(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small library built with a partition (`musicrec.index.Partition`), which only
    libraries of more than about 67k songs get by themselves."""
    from musicrec import index
    from musicrec.build import build_library

    path = tmp_path_factory.mktemp("partitioned") / "lib"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "EXACT_BELOW", 10)
        build_library(small_csv, path)
    return path


def test_a_large_library_keeps_its_partition(partitioned: Path) -> None:
    lib = Library.open(partitioned)
    assert lib.manifest.index["partition"]["lists"] == lib.index.partition.lists > 1
    assert lib.index.partition.index.ntotal == len(lib)


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_partition_is_one_clear_error(partitioned: Path, tmp_path: Path,
                                              how: str) -> None:
    lib_path = tmp_path / "lib"
    shutil.copytree(partitioned, lib_path)
    damage(lib_path / "partition.faiss", how)
    with pytest.raises(LibraryError, match="partition.faiss.*rebuild the library"):
        Library.open(lib_path)


def test_api_switches_to_a_repaired_library(pristine: Path, tmp_path: Path) -> None:
    lib_path = tmp_path / "lib"
    shutil.copytree(pristine, lib_path)
    damage(lib_path / "vectors.npy", "truncate")
    client = TestClient(create_app(LiveLibrary(lib_path)))
    assert client.get("/health").status_code == 503
    shutil.rmtree(lib_path)
    shutil.copytree(pristine, lib_path)  # a rebuild writes a new manifest
    (lib_path / "manifest.json").touch()
    assert client.get("/health").json()["status"] == "ok"
