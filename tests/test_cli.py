"""The command line, in-process with Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musicrec.cli import app
from musicrec.cli.common import knob_pairs
from musicrec.errors import InvalidQueryError
from musicrec.library import Library
from musicrec.request import read_knobs

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_synth_and_build_print_a_summary(tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    code, out, _ = run("synth", "--rows", "800", "--out", str(csv), "--seed", "3")
    assert code == 0 and csv.exists() and "800" in out
    code, out, _ = run("build", str(csv), "--library", str(tmp_path / "lib"))
    assert code == 0, out
    assert "rows read" in out and "rows kept" in out and "time: index" in out


def test_info(small_library_path: Path) -> None:
    code, out, _ = run("info", "--library", str(small_library_path))
    assert code == 0
    assert "songs" in out and "sound families" in out and "hnsw" in out


def test_search_json(small_library: Library, small_library_path: Path) -> None:
    name = small_library.tracks([10])[0]["name"]
    code, out, _ = run("search", name, "--library", str(small_library_path), "--json")
    assert code == 0
    assert name in [hit["name"] for hit in json.loads(out)]


def test_recommend_with_knobs_as_json(small_library: Library, small_library_path: Path) -> None:
    seed = small_library.tracks([0])[0]["id"]
    code, out, err = run("recommend", "--seed", seed, "--library", str(small_library_path),
                         "--limit", "5", "--target-energy", "0.8", "--min-year", "1990",
                         "--max-tempo=150", "--no-explicit", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["tracks"]) == 5
    for t in data["tracks"]:
        assert t["year"] >= 1990 and t["tempo"] <= 150 and t["explicit"] is False
        assert t["explanation"]


def test_recommend_table_by_query_seed(small_library: Library, small_library_path: Path) -> None:
    rec = small_library.tracks([42])[0]
    code, out, err = run("recommend", "--seed", rec["name"], "--library", str(small_library_path))
    assert code == 0, err
    assert "Seeds:" in out and "why" in out


@pytest.mark.parametrize(("args", "message"), [
    (["recommend", "--seed", "zzqqxxyy", "--target-energy", "0.5"], "matches any song"),
    (["recommend", "--seed", "x", "--target-colour", "1"], "unknown knob target-colour"),
    (["recommend", "--seed", "x", "--target-energy", "loud"], "is not a number"),
])
def test_mistakes_are_one_line_errors(small_library_path: Path, args: list[str],
                                      message: str) -> None:
    code, out, err = run(*args, "--library", str(small_library_path))
    assert code == 1
    assert message in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) <= 2


def test_missing_library_and_bad_csv_are_one_line_errors(tmp_path: Path) -> None:
    code, _, err = run("info", "--library", str(tmp_path / "none"))
    assert code == 1 and "no library at" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    code, _, err = run("build", str(bad), "--library", str(tmp_path / "lib"))
    assert code == 1 and "missing required column" in err and "Traceback" not in err


def test_library_from_environment(small_library_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSICREC_LIBRARY", str(small_library_path))
    code, out, _ = run("info")
    assert code == 0 and str(small_library_path) in out.replace("\n", "")


def test_knob_options_are_read_as_every_interface_reads_knobs() -> None:
    knobs = read_knobs(knob_pairs(["--target-energy", "0.8", "--min-duration-ms=1000"]))
    assert (knobs.target, knobs.min, knobs.max) == ({"energy": 0.8}, {"duration_ms": 1000.0}, {})
    with pytest.raises(InvalidQueryError, match="needs a value"):
        knob_pairs(["--max-tempo"])
    with pytest.raises(InvalidQueryError, match="unknown knob"):
        read_knobs(knob_pairs(["--min-loudnes", "3"]))


def test_families_show_and_one_family(small_library: Library, small_library_path: Path) -> None:
    code, out, _ = run("families", "--show", "--library", str(small_library_path))
    assert code == 0
    assert f"{len(small_library.families.families)} sound families" in out
    name = small_library.families.families[1].name
    code, out, err = run("family", "1", "--library", str(small_library_path))
    assert code == 0, err
    assert name in out and "Best examples" in out
    code, _, err = run("family", "no such family", "--library", str(small_library_path))
    assert code == 1 and "no such family" in err


def test_families_json_has_both_levels_with_evidence(small_library: Library,
                                                     small_library_path: Path) -> None:
    code, out, err = run("families", "--json", "--library", str(small_library_path))
    assert code == 0, err
    body = json.loads(out)
    families, subs = small_library.families.families, small_library.families.subfamilies
    assert [f["name"] for f in body["families"]] == [f.name for f in families]
    assert [(s["key"], s["parent"]) for s in body["subfamilies"]] == [
        (s.key, s.parent) for s in subs]
    first = body["families"][0]
    assert {"id", "key", "parent", "name", "size", "profile", "top_artists", "words"} <= set(first)
    assert first["parent"] is None and first["words"] == families[0].words
    sub = subs[-1]
    code, out, err = run("family", sub.key, "--library", str(small_library_path))
    assert code == 0, err
    assert sub.name in out and f"sub-family of {families[sub.parent].name}" in out


def test_families_rebuild_with_a_new_count(small_csv: Path, tmp_path: Path) -> None:
    from musicrec.build import build_library

    build_library(small_csv, tmp_path / "lib")
    code, out, err = run("families", "--count", "5", "--library", str(tmp_path / "lib"))
    assert code == 0, err
    lib = Library.open(tmp_path / "lib")
    assert len(lib.families.families) == 5 and lib.info()["families"]["count"] == 5
    assert not [p for p in (tmp_path / "lib").iterdir() if p.name.startswith(".")]


def test_evaluate_needs_labels_or_playlists(small_library_path: Path) -> None:
    code, _, err = run("evaluate", "--library", str(small_library_path))
    assert code == 1 and "--labels FILE or --playlists PATH" in err
