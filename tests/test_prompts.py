"""Prompts in words: reading, the learned vocabulary, negative seeds, the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from musicrec.api import create_app
from musicrec.build import BuildConfig, build_library
from musicrec.cli import app
from musicrec.data import demo_catalogue
from musicrec.errors import InvalidQueryError
from musicrec.evaluate.prompts import baselines, score_titles, split_titles
from musicrec.features import normalize
from musicrec.learn import read_playlists
from musicrec.library import Library, LiveLibrary
from musicrec.prompts.answer import answer_prompt
from musicrec.prompts.parse import MAX_PROMPT_CHARS, read_prompt
from musicrec.prompts.words import key, keys

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The built-in 28,352 songs, no playlists: no learned words."""
    folder = tmp_path_factory.mktemp("prompts") / "demo"
    build_library(demo_catalogue(), folder)
    return Library.open(folder)


@pytest.fixture(scope="module")
def titled(small_library: Library, tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The small synthetic catalogue with 80 titled playlists: 20 "chill vibes" playlists of
    its calmest songs, 20 "workout 💪" playlists of its most energetic ones, and 40 of any
    songs titled as people do."""
    energy = small_library.numeric("energy")
    order = np.argsort(energy)
    calm, energetic = order[:60], order[-60:]
    ids = small_library.table.column("id").to_numpy(zero_copy_only=False)
    rng = np.random.default_rng(3)
    rows = []
    others = ["road trip", "party", "summer 2017", "my mix", "Favorites", "throwbacks",
              "country", "rap"]
    for pid in range(80):
        title, pool = (("Chill Vibezzz", calm) if pid % 2 else ("workout 💪", energetic)
                       ) if pid < 40 else (others[pid % len(others)], order)
        rows += [{"pid": pid, "playlist_name": title, "track_uri": f"spotify:track:{ids[r]}"}
                 for r in rng.choice(pool, 15, replace=False)]
    folder = tmp_path_factory.mktemp("titled")
    pd.DataFrame(rows).to_csv(folder / "playlists.csv", index=False)
    build_library(small_library.manifest.source.path, folder / "library",
                  BuildConfig(playlists=[folder / "playlists.csv"]))
    lib = Library.open(folder / "library")
    lib.test_groups = {"calm": calm, "energetic": energetic}  # type: ignore[attr-defined]
    return lib


def test_title_words_are_read_alike() -> None:
    assert key("Chillin") == key("chill") == key("CHILLL")
    assert keys("Chill Vibezzz") == keys("chill vibes")
    assert keys("workout 💪💪") == ["workout", "💪"]
    assert key("sing") == "sing"  # too short a stem to cut


def test_a_library_without_playlists_reads_each_part(demo: Library) -> None:
    found = answer_prompt(demo, "calm acoustic 70s like Joni Mitchell", 10)
    parts = {p.text: p for p in found.reading.parts}
    assert parts["Joni Mitchell"].kind == "seed" and "Joni Mitchell (artist)" in \
        parts["Joni Mitchell"].meaning and not parts["Joni Mitchell"].guessed
    assert parts["70s"].meaning == "released 1970–1979"
    assert parts["calm"].kind == "target" and "energy about 0.20" in parts["calm"].meaning
    assert parts["acoustic"].kind == "target" and "more acoustic" in parts["acoustic"].meaning
    assert found.reading.unknown == []
    assert len(found.tracks) == 10
    assert all(1970 <= t["year"] <= 1979 for t in found.tracks)
    # Calmer and more acoustic than the decade's songs on average.
    years = demo.numeric("year")
    decade = (years >= 1970) & (years <= 1979)
    assert np.mean([t["energy"] for t in found.tracks]) < demo.numeric("energy")[decade].mean()
    assert np.mean([t["acousticness"] for t in found.tracks]) > \
        demo.numeric("acousticness")[decade].mean()


def test_numbers_genres_and_quoted_titles(demo: Library) -> None:
    reading = read_prompt(demo, '1990-1995 #rock under 100 bpm "Bohemian Rhapsody" flurbish')
    assert (reading.min["year"], reading.max["year"]) == (1990, 1995)
    assert reading.max["tempo"] == 100
    assert reading.seed_genres == ["rock"]
    assert len(reading.seed_tracks) == 1 and "Bohemian Rhapsody" in reading.parts[0].meaning
    assert reading.unknown == ["flurbish"]  # listed, never an error
    assert read_prompt(demo, "120 bpm").target["tempo"] == 120


def test_empty_meaningless_and_long_prompts_are_refused(demo: Library) -> None:
    for prompt in ("", "   ", "qqzx vvwk"):
        with pytest.raises(InvalidQueryError):
            read_prompt(demo, prompt)
    with pytest.raises(InvalidQueryError, match="at most"):
        read_prompt(demo, "calm " * (MAX_PROMPT_CHARS // 4))
    # Only what to leave out: nothing to look for (the answer would be empty).
    with pytest.raises(InvalidQueryError, match="only says what to leave out"):
        read_prompt(demo, "not Drake")
    assert read_prompt(demo, "rap not Drake").negative_artists


def test_a_negative_seed_pushes_its_neighbours_down(demo: Library) -> None:
    """Known answer: Drake's nearest rap songs rank lower, and his own songs go, with
    "not Drake"."""
    drake = demo.search_artists("Drake", 1).items[0]
    drake_rows = demo.rows_of_artist(demo.artist_row_of(drake["id"]))
    centre = normalize(np.asarray(demo.vectors[drake_rows]).mean(axis=0)[None, :])[0]

    def closeness(prompt: str) -> float:
        rows = [t["row"] for t in answer_prompt(demo, prompt, 30).tracks]
        assert not set(rows) & set(drake_rows.tolist()) or "not" not in prompt
        return float(np.mean(np.asarray(demo.vectors[rows]) @ centre))

    plain, without = closeness("#rap"), closeness("#rap not Drake")
    assert without < plain - 0.02
    assert closeness("#rap -Drake") == pytest.approx(without)
    reading = read_prompt(demo, "workout rap but not Drake")
    assert reading.negative_artists == [drake["id"]]


def test_words_learned_from_playlist_titles(titled: Library) -> None:
    vocabulary = titled.vocabulary
    assert vocabulary is not None and vocabulary.find(key("chill")) is not None
    chill = vocabulary.find(key("chill"))
    assert vocabulary.playlists[chill] == 20
    assert vocabulary.clear_shifts(chill)["energy"] < 0
    found = answer_prompt(titled, "chillin", 10)
    word, playlists = found.reading.parts
    assert word.kind == "word" and "calmer" in word.meaning and "20 playlists" in word.meaning
    assert playlists.kind == "playlists" and "20 playlists titled like it, such as " \
        "'Chill Vibezzz'" in playlists.meaning
    # The calm songs first; some later ones hedge towards the other playlists, as a held-out
    # playlist's title may say less than it seems (`musicrec.prompts.titles.PRIOR`).
    calm = set(titled.test_groups["calm"].tolist())  # type: ignore[attr-defined]
    is_calm = [t["row"] in calm for t in found.tracks]
    assert all(is_calm[:3]) and sum(is_calm) >= 7, is_calm
    energetic = set(titled.test_groups["energetic"].tolist())  # type: ignore[attr-defined]
    emoji = answer_prompt(titled, "💪", 10)
    is_energetic = [t["row"] in energetic for t in emoji.tracks]
    assert all(is_energetic[:3]) and sum(is_energetic) >= 7, is_energetic


def test_titles_are_read_from_mpd_json_and_csv(tmp_path: Path) -> None:
    slice_ = {"info": {}, "playlists": [
        {"pid": 7, "name": "Road Trip", "tracks": [{"track_uri": "spotify:track:a"}]}]}
    (tmp_path / "mpd.slice.json").write_text(json.dumps(slice_))
    pd.DataFrame({"pid": [8], "playlist_name": ["sad songs"], "track_uri": ["b"]}).to_csv(
        tmp_path / "more.csv", index=False)
    read = read_playlists(tmp_path, np.array(["a", "b"], dtype=object))
    assert dict(zip(read.pids.tolist(), read.titles.tolist(), strict=True)) == {
        "7": "Road Trip", "8": "sad songs"}


def test_the_api_answers_tracks_with_the_interpretation(titled: Library, demo: Library
                                                       ) -> None:
    client = TestClient(create_app(LiveLibrary(demo.path)))
    response = client.get("/v1/musicrec/prompt", params={"q": "happy fast blorp", "limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["tracks"]) == 5 and all(t["type"] == "track" for t in body["tracks"])
    interpretation = body["musicrec"]["interpretation"]
    assert [p["text"] for p in interpretation["parts"]] == ["happy", "fast"]
    assert interpretation["unknown"] == ["blorp"]
    for q in ("", "blorp", "not Drake", "x" * (MAX_PROMPT_CHARS + 1)):
        error = client.get("/v1/musicrec/prompt", params={"q": q})
        assert error.status_code == 400 and set(error.json()) == {"error"}
        assert error.json()["error"]["message"].startswith("q: ")


def test_the_cli_prints_each_part_and_fails_in_one_line(demo: Library) -> None:
    shown = runner.invoke(app, ["prompt", "sad instrumental", "--library", str(demo.path),
                                "--limit", "3"])
    assert shown.exit_code == 0, shown.output
    assert "sad → sadder" in shown.output and "instrumental → more instrumental" in shown.output
    failed = runner.invoke(app, ["prompt", "blorp", "--library", str(demo.path)])
    assert failed.exit_code != 0 and "Traceback" not in failed.output
    assert "nothing in the prompt was understood" in failed.output


def test_titles_score_against_the_baselines(titled: Library, tmp_path: Path) -> None:
    """The evaluation's split and scores on the synthetic playlists, where the titles of half
    of them say everything: the words and the prompts beat popularity (40 held-out playlists
    are too few to rank the two; the MPD sample does, in benchmarks/prompt_quality.py)."""
    ids = titled.table.column("id").to_numpy(zero_copy_only=False)
    playlists = read_playlists(titled.path.parent / "playlists.csv", ids)
    split = split_titles(playlists, rng_seed=0)
    assert len(split.train) + len(split.test) == 80
    methods = baselines(split.train)
    words = score_titles(methods["title words"], split.test)
    assert words["hit@10"] >= 0.5
    popular = score_titles(methods["popularity"], split.test)
    assert popular["R-precision"] < words["R-precision"]
    evaluated = runner.invoke(app, ["evaluate", "--library", str(titled.path), "--playlists",
                                    str(titled.path.parent / "playlists.csv"), "--prompts",
                                    "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    data = json.loads(evaluated.output)
    assert data["methods"]["prompts"]["hit@10"] > popular["hit@10"]


def test_a_word_known_only_from_song_titles_is_a_guess(demo: Library) -> None:
    found = answer_prompt(demo, "champions", 10)
    [part] = found.reading.parts
    assert part.kind == "title" and part.guessed and "'champions' in their titles" in part.meaning
    assert any("champions" in t["name"].lower() for t in found.tracks[:3])


@pytest.mark.parametrize(("file", "loaded"), [("vocabulary.npz", "vocabulary"),
                                               ("titled_playlists.npz", "titled_playlists")])
def test_a_damaged_prompt_file_is_one_clear_error(titled: Library, tmp_path: Path, file: str,
                                                  loaded: str) -> None:
    import shutil

    from musicrec.errors import LibraryError

    copy = tmp_path / "library"
    shutil.copytree(titled.path, copy)
    (copy / file).write_bytes((copy / file).read_bytes()[:100])
    with pytest.raises(LibraryError, match=file):
        getattr(Library.open(copy), loaded)


def test_a_library_built_before_titled_playlists_asks_for_a_rebuild(titled: Library,
                                                                   tmp_path: Path) -> None:
    import shutil

    from musicrec.errors import LibraryError

    copy = tmp_path / "library"
    shutil.copytree(titled.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["learn"]["playlists"]["titles"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LibraryError, match="rebuild the library"):
        Library.open(copy).titled_playlists  # noqa: B018 - the property loads the file


def test_a_library_without_years_or_popularity_says_so(tmp_path: Path) -> None:
    from test_api_spec import bare_library

    bare = bare_library(tmp_path)
    reading = read_prompt(bare, "90s popular calm 1983")
    assert [p.text for p in reading.parts] == ["calm"]
    assert reading.unknown == ["90s (this library has no release years)",
                               "1983 (this library has no release years)",
                               "popular (this library has no popularity data)"]
    assert answer_prompt(bare, "90s calm", 5).tracks
