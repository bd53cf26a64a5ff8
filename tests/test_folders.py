"""Library folders: atomic replacement, one build at a time, recovery, clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import musicrec.folders as folders
from musicrec.api import create_app
from musicrec.build import build_library
from musicrec.cli import app as cli_app
from musicrec.errors import LibraryError
from musicrec.library import Library, LiveLibrary
from musicrec.synth import write_catalogue


@pytest.fixture(scope="module")
def other_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("other") / "other.csv"
    write_catalogue(path, 700, seed=99)
    return path


def test_rebuild_swaps_the_link_and_keeps_the_previous_version(small_csv: Path,
                                                               other_csv: Path,
                                                               tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    build_library(small_csv, dest)
    first = dest.resolve()
    old = Library.open(dest)
    kept = build_library(other_csv, dest).rows_kept
    assert dest.is_symlink() and dest.resolve() != first
    assert len(Library.open(dest)) == kept
    assert len(old.tracks([0])) == 1, "a reader of the old version keeps working"
    build_library(small_csv, dest)
    assert len(folders.version_folders(dest)) == folders.KEEP_VERSIONS
    assert not first.exists(), "versions older than the previous one are removed"


def test_a_second_build_of_one_destination_is_refused(small_csv: Path, tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    with folders.build_lock(dest), pytest.raises(LibraryError, match="another build"):
        build_library(small_csv, dest)


def test_a_build_killed_anywhere_leaves_a_library(small_csv: Path, other_csv: Path,
                                                  tmp_path: Path) -> None:
    """kill -9 in the middle of a real build process, then once more right between the two
    steps that move a pre-versioned library aside and link the new one."""
    dest = tmp_path / "lib"
    kept = build_library(small_csv, dest).rows_kept
    script = ("import sys; from musicrec.build import build_library; "
              "build_library(sys.argv[1], sys.argv[2])")
    child = subprocess.Popen([sys.executable, "-c", script, str(other_csv), str(dest)])
    building = tmp_path / f".lib.building-{child.pid}"
    deadline = time.monotonic() + 60
    while not building.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child.kill()
    child.wait()
    assert len(Library.open(dest)) in (kept, 700 - 2, 700 - 1, 700)

    legacy = tmp_path / "legacy"
    shutil.copytree(dest, legacy)  # a real folder, as libraries were before versions
    real_point = folders._point

    def crash(dest_: Path, version: Path) -> None:
        raise KeyboardInterrupt

    folders._point = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            build_library(other_csv, legacy)
    finally:
        folders._point = real_point
    assert not legacy.exists()
    assert len(Library.open(legacy)) > 0, "relinked to its newest version at open"


def test_stale_build_folders_are_removed(small_csv: Path, tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".lib.building-{dead.pid}"
    stale.mkdir()
    (stale / "vectors.npy").write_bytes(b"half")
    mine = tmp_path / f".lib.building-{os.getppid()}"  # a live process: left alone
    mine.mkdir()
    build_library(small_csv, dest)
    assert not stale.exists() and mine.exists()


@pytest.mark.parametrize("where", ["file", "under_file", "read_only"])
def test_bad_destinations_are_one_line_errors(small_csv: Path, tmp_path: Path,
                                              where: str) -> None:
    if where == "file":
        dest = tmp_path / "lib"
        dest.write_text("not a folder")
    elif where == "under_file":
        (tmp_path / "afile").write_text("x")
        dest = tmp_path / "afile" / "lib"
    elif os.geteuid() == 0:  # root writes into read-only folders; /proc refuses even root
        dest = Path("/proc/musicrec-test/lib")
    else:
        parent = tmp_path / "ro"
        parent.mkdir()
        parent.chmod(0o555)
        dest = parent / "lib"
    result = CliRunner().invoke(cli_app, ["build", str(small_csv), "--library", str(dest)])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output


def test_a_running_api_switches_to_a_rebuilt_library(small_csv: Path, other_csv: Path,
                                                     tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    build_library(small_csv, dest)
    old_id = Library.open(dest).tracks([0])[0]["id"]
    client = TestClient(create_app(LiveLibrary(dest)))
    assert client.get(f"/v1/tracks/{old_id}").status_code == 200
    build_library(other_csv, dest)
    new_id = Library.open(dest).tracks([0])[0]["id"]
    time.sleep(0.6)  # the API looks for a new library at most twice a second
    assert client.get(f"/v1/tracks/{old_id}").status_code == 404
    assert client.get(f"/v1/tracks/{new_id}").status_code == 200
