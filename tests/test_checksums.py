"""Checksums of a library's files (issue 31, damaged libraries): recorded at build time,
every file hashed by `musicrec info --verify`, sizes and small files checked at every open,
and a file truncated under an open library noticed before it is read.

Damage is done to a copy of the small library, never to the session's.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import musicrec.library as library_module
from musicrec.api import create_app, deps
from musicrec.artefacts import FILES
from musicrec.build import rebuild_families
from musicrec.cli import app as cli_app
from musicrec.errors import LibraryError
from musicrec.library import Library, LiveLibrary

REFERENCE_V2 = Path(__file__).parent / "data" / "library_v2"
BIG = ("vectors.npy", "index.faiss", "catalogue.arrow")  # the mapped files of 1.2M songs


def recorded(path: Path) -> list[str]:
    return sorted(json.loads((path / FILES["manifest"]).read_text())["files"])


def flip(path: Path, count: int = 64) -> None:
    """Invert `count` bytes in the middle of a file, in place."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + count] = bytes(b ^ 0xFF for b in data[middle:middle + count])
    path.write_bytes(bytes(data))


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


@pytest.fixture
def copy(small_library_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "lib"
    shutil.copytree(small_library_path, path)
    return path


def test_the_build_records_every_file_but_the_manifest(small_library_path: Path) -> None:
    on_disk = sorted(p.relative_to(small_library_path).as_posix()
                     for p in small_library_path.rglob("*") if p.is_file())
    assert recorded(small_library_path) == [p for p in on_disk if p != FILES["manifest"]]
    code, output = cli("info", "--verify", "--library", str(small_library_path))
    assert code == 0 and output.strip() == f"all {len(on_disk) - 1} files match"


@pytest.mark.parametrize("name", ["text/rows.npy", "text/vocab.npy", "features.json",
                                  "families/labels.npy", "learn.json", *BIG])
def test_a_flipped_file_is_one_line_everywhere(copy: Path, name: str) -> None:
    flip(copy / name)

    code, output = cli("info", "--verify", "--library", str(copy))
    assert code == 1
    assert output.splitlines() == [f"error: library file {copy / name} is missing or damaged "
                                   "(its SHA-256 differs from the one the build recorded); "
                                   "rebuild the library with `musicrec build`"]

    with pytest.raises(LibraryError) as caught:  # every file of a small library is hashed
        Library.open(copy)
    message = str(caught.value)
    assert name in message and "\n" not in message

    code, output = cli("search", "love", "--library", str(copy))
    assert code == 1 and output == f"error: {message}\n"

    client = TestClient(create_app(LiveLibrary(copy)), raise_server_exceptions=False)
    answer = client.get("/v1/search", params={"q": "love", "type": "track"})
    assert answer.status_code == 503
    assert answer.json() == {"error": {"status": 503, "message": message}}


def test_verify_names_every_damaged_file(copy: Path) -> None:
    flip(copy / "text/rows.npy")
    (copy / "families/map_xy.npy").unlink()
    os.truncate(copy / "vectors.npy", 1000)
    code, output = cli("info", "--verify", "--library", str(copy))
    assert code == 1
    lines = output.splitlines()
    assert len(lines) == 3
    assert "families/map_xy.npy" in lines[0] and "(No such file or directory)" in lines[0]
    assert "text/rows.npy" in lines[1] and "SHA-256" in lines[1]
    assert "vectors.npy" in lines[2] and "1,000 bytes, the manifest records" in lines[2]


@pytest.mark.parametrize("name", BIG)
def test_a_big_file_truncated_is_one_line_at_open(copy: Path, name: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "OPEN_CHECK_BYTES", 0)  # sizes only, as at 1.2M songs
    size = (copy / name).stat().st_size
    os.truncate(copy / name, size - 4096)
    code, output = cli("search", "love", "--library", str(copy))
    assert code == 1
    assert output == (f"error: library file {copy / name} is missing or damaged ({size - 4096:,} "
                      f"bytes, the manifest records {size:,}); rebuild the library with "
                      "`musicrec build`\n")


def test_a_flip_in_a_big_file_waits_for_verify(copy: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """What is not protected at open: a same-sized big file is not read whole."""
    monkeypatch.setattr(library_module, "OPEN_CHECK_BYTES", 0)
    flip(copy / "vectors.npy", 4)
    Library.open(copy)
    assert cli("info", "--verify", "--library", str(copy))[0] == 1


def test_the_word_index_is_hashed_whatever_its_size(copy: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "OPEN_CHECK_BYTES", 0)
    flip(copy / "text/vocab.npy")
    lib = Library.open(copy)
    with pytest.raises(LibraryError, match=r"text/vocab\.npy .*SHA-256"):
        lib.search("love")


def test_a_file_truncated_after_open_is_noticed_before_it_is_read(
        copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the lost pages would be a SIGBUS: the size is compared first."""
    monkeypatch.setattr(deps, "RECHECK_S", 0.0)
    live = LiveLibrary(copy)
    client = TestClient(create_app(live), raise_server_exceptions=False)
    assert client.get("/health").status_code == 200
    os.truncate(copy / "vectors.npy", 4096)
    answer = client.get("/health")
    assert answer.status_code == 503 and "vectors.npy" in answer.json()["error"]["message"]
    with pytest.raises(LibraryError, match="4,096 bytes"):
        live.get()


def test_a_library_without_checksums_opens_and_says_so() -> None:
    assert Library.open(REFERENCE_V2).manifest.files is None
    code, output = cli("info", "--verify", "--library", str(REFERENCE_V2))
    assert code == 1 and "built before musicrec recorded checksums" in output


@pytest.mark.parametrize(("name", "message"), [
    ("text/rows.npy", "names rows beyond"), ("text/vocab.npy", "vocab.npy is damaged")])
def test_a_damaged_word_index_without_checksums_is_one_line(copy: Path, name: str,
                                                            message: str) -> None:
    manifest = json.loads((copy / FILES["manifest"]).read_text())
    del manifest["files"]  # as a library built before checksums
    (copy / FILES["manifest"]).write_text(json.dumps(manifest))
    flip(copy / name)
    with pytest.raises(LibraryError, match=message):
        Library.open(copy).search("love")


def test_rebuilt_families_keep_the_checksums_true(copy: Path) -> None:
    rebuild_families(copy, 4)
    assert cli("info", "--verify", "--library", str(copy)) == (
        0, f"all {len(recorded(copy))} files match\n")
