"""Building and opening libraries: manifest, lookups, atomic replacement, version checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import musicrec.build as build_module
from musicrec.artefacts import FORMAT_VERSION
from musicrec.build import build_library
from musicrec.errors import LibraryError
from musicrec.library import Library
from musicrec.request import RecommendRequest


def test_manifest_describes_the_library(small_library: Library, small_csv: Path) -> None:
    info = small_library.info()
    assert info["format_version"] == FORMAT_VERSION
    assert info["source"]["name"] == small_csv.name and len(info["source"]["sha256"]) == 64
    assert info["counts"]["rows_kept"] == len(small_library)
    assert info["index"]["kind"] == "hnsw"
    assert info["features"]["dims"][:2] == ["danceability", "energy"]
    assert info["bytes_on_disk"] > 0
    assert small_library.vectors.shape == (len(small_library), len(info["features"]["dims"]))


def test_vectors_are_memory_mapped_float32(small_library: Library) -> None:
    # A plain ndarray view whose memory is the file's mapping, not a copy in the heap.
    vectors = small_library.vectors
    assert not isinstance(vectors, np.memmap) and isinstance(vectors.base, np.memmap)
    assert not vectors.flags.writeable
    assert vectors.dtype == np.float32


def test_every_track_and_artist_id_round_trips(small_library: Library) -> None:
    ids = small_library.table.column("id").to_pylist()
    assert [small_library.row_of(i) for i in ids[:500]] == list(range(500))
    assert small_library.row_of("no-such-id") is None
    first_artist = small_library.table.column("artist_ids")[0].as_py()[0]
    a_row = small_library.artist_row_of(first_artist)
    assert a_row is not None and 0 in small_library.rows_of_artist(a_row)


def test_search_finds_a_song_by_title_and_artist(small_library: Library) -> None:
    rec = small_library.tracks([123])[0]
    hits = small_library.search(f"{rec['name']} {rec['artists'][0]}", 5).items
    assert hits[0]["id"] == rec["id"] or rec["id"] in [h["id"] for h in hits]


def test_open_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no library at .*musicrec demo"):
        Library.open(tmp_path / "nothing")


def test_incompatible_format_is_refused(small_library_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(small_library_path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 0
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LibraryError, match="format version 0.*rebuild"):
        Library.open(copy)


def test_interrupted_build_leaves_previous_library_intact(
        small_library_path: Path, small_csv: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "lib"
    shutil.copytree(small_library_path, dest)
    before = (dest / "manifest.json").read_text()

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "build_families", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_library(small_csv, dest)
    assert (dest / "manifest.json").read_text() == before
    assert len(Library.open(dest)) > 0
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".lib.lock", "lib"], "no temporary folder left behind"


def test_rebuild_replaces_library_and_writes_rejections(small_csv: Path, tmp_path: Path) -> None:
    broken = tmp_path / "with_bad_rows.csv"
    lines = small_csv.read_text().splitlines()
    lines.insert(3, "only,three,fields")
    broken.write_text("\n".join(lines[:400]) + "\n")
    dest = tmp_path / "lib"
    report = build_library(broken, dest)
    assert report.rejected == {"*: malformed": 1}
    rejected = (dest / "rejected.csv").read_text()
    assert '4,*,"malformed: 3 fields, expected 24","only,three,fields"' in rejected
    report2 = build_library(small_csv, dest)
    assert Library.open(dest).info()["counts"]["rows_kept"] == report2.rows_kept


def test_refuses_to_replace_a_folder_that_is_not_a_library(small_csv: Path,
                                                          tmp_path: Path) -> None:
    dest = tmp_path / "photos"
    dest.mkdir()
    (dest / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(LibraryError, match="not a musicrec library"):
        build_library(small_csv, dest)
    assert (dest / "holiday.jpg").exists()


def test_committed_version_1_library_asks_for_a_rebuild() -> None:
    with pytest.raises(LibraryError, match=r"format version 1 .*rebuild it"):
        Library.open(Path(__file__).parent / "data" / "library_v1")


def test_committed_version_2_library_still_opens() -> None:
    lib = Library.open(Path(__file__).parent / "data" / "library_v2")
    assert lib.manifest.format_version == 2 and len(lib) == 300
    seed = lib.table.column("id")[0].as_py()
    result = lib.recommend(RecommendRequest.parse(seed_tracks=[seed], limit=5))
    assert len(result.tracks) == 5 and seed not in [r.track["id"] for r in result.tracks]


def test_one_level_families_ask_for_a_rebuild_that_fixes_them(tmp_path: Path) -> None:
    """Families of format 1 (one level, before sub-families): the library asks for a rebuild,
    and `rebuild_families` (what `musicrec families` runs) is enough."""
    from musicrec.build import rebuild_families

    path = tmp_path / "library_v2"
    shutil.copytree(Path(__file__).parent / "data" / "library_v2", path)
    meta_path = path / "families" / "families.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "format_version": 1}))
    with pytest.raises(LibraryError, match="families format version 1.*rebuild the library"):
        Library.open(path)
    rebuild_families(path)
    assert len(Library.open(path).families.subfamilies) >= len(
        Library.open(path).families.families)


def test_tracks_can_read_only_some_columns(small_library: Library) -> None:
    full = small_library.tracks([3, 1])
    some = small_library.tracks([3, 1], ["id", "name", "no_such_column"])
    assert [set(r) for r in some] == [{"id", "name", "row", "family", "family_name",
                                       "subfamily", "subfamily_name"}] * 2
    assert [(r["id"], r["name"], r["row"], r["family"]) for r in some] == \
        [(r["id"], r["name"], r["row"], r["family"]) for r in full]


def _mapped_file(address: int) -> str:
    """The file whose mapping holds `address` in this process ("" for anonymous memory)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if low <= address < high:
            return Path(fields[5]).name if len(fields) > 5 else ""
    raise AssertionError(f"{address:#x} is not mapped")


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs Linux /proc")
def test_big_arrays_and_the_index_are_file_backed(small_library_path: Path) -> None:
    """What a library holds per song is the files' mapping, not a copy on the heap: forked
    server workers and other processes then share it in the page cache (see Prefork)."""
    from musicrec.index import MMAP_FLAGS, HNSWIndex

    lib = Library.open(small_library_path)
    assert _mapped_file(lib.vectors.ctypes.data) == "vectors.npy"
    for name, array in lib._arrays.items():
        assert _mapped_file(array.ctypes.data) == f"{name}.npy"
    assert _mapped_file(lib.table.column("name").chunk(0).buffers()[2].address) == \
        "catalogue.arrow"
    assert _mapped_file(lib.families.labels.ctypes.data) == "labels.npy"
    index = lib.index
    assert isinstance(index, HNSWIndex)
    if not MMAP_FLAGS:
        pytest.skip("this faiss reads indexes onto the heap (no IO_FLAG_MMAP_IFC)")
    import faiss

    graph, storage = index.index.hnsw.neighbors, faiss.downcast_index(index.index.storage).codes
    for part in (graph, storage):
        assert not part.is_owned
        assert _mapped_file(int(part.data())) == "index.faiss"
