"""A library built from the real 30k songs with the real MPD playlists, end to end: build, open,
recommend, explain, `musicrec info` and `musicrec evaluate --playlists`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musicrec import evaluate as ev
from musicrec.build import BuildConfig, build_library
from musicrec.cli import app
from musicrec.library import Library
from musicrec.request import RecommendRequest

pytestmark = pytest.mark.realdata

PLAYLISTS = "playlists.csv.gz"


@pytest.fixture(scope="module")
def with_playlists(real_30k: Path, mpd_sample: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> Library:
    folder = tmp_path_factory.mktemp("playlists") / "library"
    build_library(real_30k, folder, BuildConfig(playlists=[mpd_sample / PLAYLISTS]))
    return Library.open(folder)


def test_songs_in_playlists_get_a_playlist_part(with_playlists: Library) -> None:
    lib = with_playlists
    learn = lib.manifest.learn
    d = learn.content_dims
    playlist_dims = lib.learned.artist_playlist.shape[1]
    # Content, the playlist space and the popularity dimension after it.
    assert lib.vectors.shape[1] == d + playlist_dims + 1
    assert lib.manifest.features.dims[-1] == "playlist_popularity"
    counts = np.asarray(lib.learned.playlist_counts)
    # The sample's README: 4,980 of the 30k songs are in its playlists; a build learns from
    # all of them (some of those songs merge as duplicates of one track).
    assert 4500 < int((counts > 0).sum()) <= 4980
    # Every song, in a playlist or not, has a playlist part (the cold-start mapping).
    assert np.linalg.norm(lib.vectors[:, d:d + playlist_dims], axis=1).min() > 0


def test_a_seed_in_playlists_gets_songs_people_put_together(with_playlists: Library) -> None:
    lib = with_playlists
    counts = np.asarray(lib.learned.playlist_counts)
    busiest = int(np.argmax(counts))
    seed = str(lib.table.column("id")[busiest].as_py())
    result = lib.recommend(RecommendRequest(seed_tracks=[seed], limit=10))
    assert len(result.tracks) == 10
    together = [r for r in result.tracks if r.explanation.startswith("people put these together")]
    assert together, [r.explanation for r in result.tracks]
    # Only songs that are in training playlists are said to be put together by people.
    assert all(counts[r.track["row"]] > 0 for r in together)


def test_a_seed_in_no_playlist_is_explained_by_sound(with_playlists: Library) -> None:
    lib = with_playlists
    counts = np.asarray(lib.learned.playlist_counts)
    cold = int(np.flatnonzero(counts == 0)[0])
    seed = str(lib.table.column("id")[cold].as_py())
    result = lib.recommend(RecommendRequest(seed_tracks=[seed], limit=10))
    assert len(result.tracks) == 10
    assert all(r.track["row"] != cold for r in result.tracks)


def test_info_and_evaluate_say_what_the_lists_are_based_on(with_playlists: Library,
                                                           mpd_sample: Path) -> None:
    runner = CliRunner()
    info = runner.invoke(app, ["info", "--library", str(with_playlists.path)])
    assert info.exit_code == 0, info.output
    assert "songs people put together" in _words(info.output)
    words = len(with_playlists.vocabulary)  # type: ignore[arg-type]
    titles = len(with_playlists.titled_playlists)  # type: ignore[arg-type]
    assert f"{words} words and {titles} titles for prompts" in _words(info.output)
    evaluated = runner.invoke(app, ["evaluate", "--library", str(with_playlists.path),
                                    "--playlists", str(mpd_sample / PLAYLISTS), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    scores = json.loads(evaluated.output)
    methods = scores["rules"]["strict (seed's artists and album excluded)"]["methods"]
    content = methods["content only (artist context)"]
    blended = methods[ev.DEFAULT_PLAYLIST_METHOD]
    # What playlists add, and what the cold-start query gives seeds in no training playlist
    # (README: 0.505 against 0.087; cold seeds 0.317 against 0.072).
    assert blended["all hit@10"] > 0.4 > 0.15 > content["all hit@10"]
    assert blended["cold hit@10"] > 2 * content["cold hit@10"]
    assert blended["all any-playlist hit@10"] > 0.75


def _words(output: str) -> str:
    """A table's text without its borders, one space between words, however it wraps."""
    return " ".join("".join(c for c in output if c.isalnum() or c.isspace()).split())
