"""The Streamlit app, in-process with `AppTest`: every page, empty states and errors.

Every run goes through `run()`, which fails the test on any exception the app shows: the
person must never see a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

import musicrec.app
from musicrec.app import format as fmt
from musicrec.app.sound_map import seed_from_selection
from musicrec.app.state import KNOBS, DiscoverState, Seed
from musicrec.cli import app as musicrec_cli
from musicrec.library import Library

MAIN = Path(musicrec.app.__file__).parent / "main.py"
SOUND_MAP, PLAYLIST, LIBRARY = "views/sound_map.py", "views/playlist.py", "views/library_page.py"
DISCOVER = "views/discover.py"


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def keys(at: AppTest, prefix: str) -> list[str]:
    """Keys of the buttons whose key starts with `prefix`, prefix removed, in page order."""
    return [b.key.removeprefix(prefix) for b in at.button if b.key and b.key.startswith(prefix)]


def result_ids(at: AppTest) -> list[str]:
    return keys(at, "more_")


def app_for(monkeypatch: pytest.MonkeyPatch, library: Path) -> AppTest:
    monkeypatch.setenv("MUSICREC_LIBRARY", str(library))
    st.cache_resource.clear()  # the opened library is kept per process, like in production
    return AppTest.from_file(MAIN, default_timeout=60)


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch, small_library_path: Path) -> AppTest:
    return app_for(monkeypatch, small_library_path)


@pytest.fixture
def empty_at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    """The app with no library built yet at its library path."""
    return app_for(monkeypatch, tmp_path / "data" / "library")


def seeded(at: AppTest, *track_ids: str, **params: str) -> AppTest:
    at.query_params["seed"] = list(track_ids)
    for key, value in params.items():
        at.query_params[key] = value
    return run(at)


def energies(lib: Library, ids: list[str]) -> np.ndarray:
    return np.array([lib.numeric("energy")[lib.row_of(i)] for i in ids])


# --- no library -----------------------------------------------------------------------------

def test_no_library_offers_the_demo_and_builds_it(empty_at: AppTest,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    run(empty_at)
    assert empty_at.title[0].value == "No music library yet"
    assert "no library at" in empty_at.info[0].value
    assert not empty_at.error
    next(b for b in empty_at.button if b.label == "Build the demo library").click()
    run(empty_at)
    assert empty_at.title[0].value == "Discover"
    assert len(keys(empty_at, "suggest_")) >= 2  # a library with songs to suggest


def test_every_page_without_a_library(empty_at: AppTest) -> None:
    run(empty_at)
    for page in (SOUND_MAP, PLAYLIST, LIBRARY):
        run(empty_at.switch_page(page))
        assert not empty_at.error
    assert empty_at.title[0].value == "Library"
    assert any(b.label == "Build the demo library" for b in empty_at.button)
    assert empty_at.get("file_uploader")


# --- Discover -------------------------------------------------------------------------------

def test_no_seeds_suggests_songs_and_one_click_starts(at: AppTest) -> None:
    run(at)
    assert at.title[0].value == "Discover"
    assert "Pick up to 5 songs" in at.info[0].value
    suggestions = keys(at, "suggest_")
    assert len(suggestions) >= 3
    at.button(key=f"suggest_{suggestions[0]}").click()
    run(at)
    assert at.query_params["seed"] == suggestions[0]
    assert keys(at, "chip_track_") == [suggestions[0]]
    assert 0 < len(result_ids(at)) <= 20
    assert suggestions[0] not in result_ids(at)
    assert "Added" in at.toast[0].value


def test_search_as_you_type_picks_a_seed(at: AppTest, small_library: Library) -> None:
    song = small_library.tracks([10])[0]
    run(at)
    at.text_input(key="search").input(song["name"][:-1])  # a prefix, as while typing
    run(at)
    assert song["id"] in keys(at, "pick_track_")
    at.button(key=f"pick_track_{song['id']}").click()
    run(at)
    assert keys(at, "chip_track_") == [song["id"]]
    assert at.text_input(key="search").value == ""  # cleared for the next search
    assert at.query_params["seed"] == song["id"]


def test_search_finds_artists_as_seeds(at: AppTest, small_library: Library) -> None:
    artist = small_library.artist(small_library.primary_artist[0])
    run(at)
    at.text_input(key="search").input(artist["name"])
    run(at)
    at.button(key=f"pick_artist_{artist['id']}").click()
    run(at)
    assert at.query_params["artist"] == artist["id"]
    assert keys(at, "chip_artist_") == [artist["id"]]
    assert result_ids(at)


def test_search_without_hits_says_so(at: AppTest) -> None:
    run(at)
    at.text_input(key="search").input("zzzzqqqqxxxx")
    run(at)
    assert any("Nothing matches" in c.value for c in at.caption)


def test_unknown_seed_in_url_is_dropped_with_a_warning(at: AppTest,
                                                       small_library: Library) -> None:
    good = small_library.tracks([3])[0]["id"]
    seeded(at, "NoSuchTrack000000000000", good)
    assert any("NoSuchTrack000000000000" in w.value for w in at.warning)
    assert at.query_params["seed"] == good  # the link is repaired
    assert 0 < len(result_ids(at)) <= 20


def test_only_unknown_seeds_fall_back_to_suggestions(at: AppTest) -> None:
    seeded(at, "NoSuchTrack000000000000")
    assert any("not in this library" in w.value for w in at.warning)
    assert keys(at, "suggest_") and not at.error


def test_unusable_url_values_become_notes(at: AppTest, small_library: Library) -> None:
    seeded(at, small_library.tracks([3])[0]["id"], target_energy="loud",
           target_sparkle="0.5", family="99", per_artist="lots")
    notes = " ".join(w.value for w in at.warning)
    assert "target_energy was ignored: invalid target_energy: 'loud' is not a number" in notes
    assert "no 'sparkle' knob" in notes
    assert "sound families 0 to" in notes
    assert "per_artist" in notes
    assert result_ids(at) and not at.error


def test_url_state_restores_every_control(at: AppTest, small_library: Library) -> None:
    seed = small_library.tracks([3])[0]["id"]
    seeded(at, seed, target_energy="0.83", target_tempo="128", min_year="2000",
           max_year="2015", explicit="0", per_artist="1", family="2", diversity="0.3",
           limit="10")
    assert at.toggle(key="on_energy").value and at.select_slider(key="target_energy").value \
        == 0.83
    assert at.toggle(key="on_tempo").value and at.select_slider(key="target_tempo").value == 128
    assert not at.toggle(key="on_valence").value
    assert at.toggle(key="on_years").value and at.slider(key="years").value == (2000, 2015)
    assert at.toggle(key="clean_only").value
    assert at.select_slider(key="per_artist").value == 1
    assert at.select_slider(key="diversity").value == 0.3
    assert at.selectbox(key="family").value == 2
    ids = result_ids(at)
    assert 0 < len(ids) <= 10
    lib = small_library
    for track in lib.tracks([lib.row_of(i) for i in ids]):
        assert 2000 <= track["year"] <= 2015 and not track["explicit"] and track["family"] == 2
    assert len({lib.primary_artist[lib.row_of(i)] for i in ids}) == len(ids)
    # The URL keeps the whole state, so the link can be shared.
    assert at.query_params["target_energy"] == "0.83" and at.query_params["family"] == "2"
    assert at.query_params["explicit"] == "0" and at.query_params["limit"] == "10"


def test_a_knob_changes_results_and_the_url(at: AppTest, small_library: Library) -> None:
    seed = small_library.tracks([3])[0]["id"]
    before = result_ids(seeded(at, seed))
    at.toggle(key="on_energy").set_value(True)
    run(at)
    at.select_slider(key="target_energy").set_value(1.0)
    run(at)
    after = result_ids(at)
    assert after != before
    assert energies(small_library, after).mean() > energies(small_library, before).mean()
    assert at.query_params["target_energy"] == "1"
    at.toggle(key="on_energy").set_value(False)
    run(at)
    assert "target_energy" not in at.query_params
    assert result_ids(at) == before


def test_knobs_survive_a_visit_to_another_page(at: AppTest, small_library: Library) -> None:
    seeded(at, small_library.tracks([3])[0]["id"], target_valence="0.2")
    run(at.switch_page(SOUND_MAP))
    run(at.switch_page(DISCOVER))
    assert at.toggle(key="on_valence").value
    assert at.select_slider(key="target_valence").value == 0.2


def test_reset_turns_knobs_off_and_keeps_seeds(at: AppTest, small_library: Library) -> None:
    seed = small_library.tracks([3])[0]["id"]
    seeded(at, seed, target_energy="0.9", explicit="0")
    next(b for b in at.button if b.label == "Reset knobs and filters").click()
    run(at)
    assert not at.toggle(key="on_energy").value and not at.toggle(key="clean_only").value
    assert dict(at.query_params) == {"seed": seed}


def test_more_like_this_and_removing_seeds(at: AppTest, small_library: Library) -> None:
    seed = small_library.tracks([3])[0]["id"]
    seeded(at, seed)
    first = result_ids(at)[0]
    at.button(key=f"more_{first}").click()
    run(at)
    assert keys(at, "chip_track_") == [seed, first]
    assert at.query_params["seed"] == [seed, first]
    at.button(key=f"chip_track_{seed}").click()
    run(at)
    assert keys(at, "chip_track_") == [first]
    next(b for b in at.button if b.key == "clear_seeds").click()
    run(at)
    assert not keys(at, "chip_track_") and keys(at, "suggest_")


def test_at_most_five_seeds(at: AppTest, small_library: Library) -> None:
    seeds = [t["id"] for t in small_library.tracks([1, 2, 3, 4, 5])]
    seeded(at, *seeds)
    candidate = result_ids(at)[0]
    at.button(key=f"more_{candidate}").click()
    run(at)
    assert keys(at, "chip_track_") == seeds
    assert "remove one first" in at.toast[0].value


def test_why_this_song_follows_the_chosen_result(at: AppTest, small_library: Library) -> None:
    seeded(at, small_library.tracks([3])[0]["id"])
    ids = result_ids(at)
    assert at.subheader[1].value == "Why this song"
    assert at.get("plotly_chart") and at.get("link_button")
    at.button(key=f"why_{ids[2]}").click()
    run(at)
    assert at.button(key=f"why_{ids[2]}").proto.type == "primary"
    player = next(h for h in at.get("html") if "open.spotify.com/embed/track" in h.proto.body)
    assert ids[2] in player.proto.body


def test_family_picker_keeps_results_in_the_family(at: AppTest,
                                                  small_library: Library) -> None:
    seed = small_library.tracks([3])[0]
    seeded(at, seed["id"])
    picker = at.selectbox(key="family")
    assert picker.options[0] == "Any sound family"
    assert picker.options[1].endswith("your seed's family")  # the seed's family comes first
    other = next(f.id for f in small_library.families.families if f.id != seed["family"])
    picker.set_value(other)
    run(at)
    assert at.query_params["family"] == str(other)
    tracks = small_library.tracks([small_library.row_of(i) for i in result_ids(at)])
    assert tracks and all(t["family"] == other for t in tracks)


def test_filters_that_exclude_everything_say_so(at: AppTest, small_library: Library) -> None:
    years = small_library.numeric("year")
    first = int(np.nanmin(years))
    labels = small_library.families.labels
    empty_family = next(f.id for f in small_library.families.families
                        if not np.any(years[labels == f.id] == first))
    seeded(at, small_library.tracks([3])[0]["id"], min_year=str(first), max_year=str(first),
           family=str(empty_family))
    assert not result_ids(at) and not at.error
    assert "No songs pass these filters" in at.info[0].value


def test_core_errors_show_as_st_error(at: AppTest, small_library: Library,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from musicrec.errors import InvalidQueryError

    def broken(self: Library, request: object) -> None:
        raise InvalidQueryError("target_energy=7 is outside 0..1")

    monkeypatch.setattr(Library, "recommend", broken)
    seeded(at, small_library.tracks([3])[0]["id"])
    assert at.error[0].value == "target_energy=7 is outside 0..1"


# --- Sound map ------------------------------------------------------------------------------

def test_sound_map_draws_families_and_feature_axes(at: AppTest, small_library: Library) -> None:
    seeded(at, small_library.tracks([3])[0]["id"])
    run(at.switch_page(SOUND_MAP))
    assert at.title[0].value == "Sound map"
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert len(table) == len(small_library.families.families)
    assert list(table["family"]) == [f.name for f in small_library.families.families]
    at.radio(key="map_view").set_value("Two features")
    run(at)
    at.selectbox(key="map_x").set_value("tempo")
    at.selectbox(key="map_y").set_value("duration_ms")
    run(at)
    assert len(at.get("plotly_chart")) == 1


def test_sound_map_zooms_into_a_family(at: AppTest, small_library: Library) -> None:
    run(at.switch_page(SOUND_MAP))
    families = small_library.families
    at.selectbox(key="map_zoom").set_value(0)
    run(at)
    subs = [families.subfamilies[i] for i in families.families[0].children]
    assert list(at.dataframe[0].value["family"]) == [f.name for f in subs]
    traces = at.get("plotly_chart")[0].proto.spec
    assert all(sub.name in traces for sub in subs)
    at.selectbox(key="hear_family").set_value(len(subs) - 1)
    run(at)
    examples = small_library.tracks(subs[-1].central_rows)
    assert list(at.dataframe[1].value["title"]) == [t["name"] for t in examples]


def test_a_click_on_the_map_names_its_song() -> None:
    click = {"points": [{"curve_number": 2, "point_index": 7,
                         "customdata": ["abc123", "Song", "Artist", "Family"]}]}
    assert seed_from_selection(click) == (Seed("track", "abc123"), "Song — Artist")
    assert seed_from_selection({"points": []}) is None


# --- Playlist -------------------------------------------------------------------------------

def test_playlist_empty_then_collect_reorder_export(at: AppTest,
                                                    small_library: Library) -> None:
    seeded(at, small_library.tracks([3])[0]["id"])
    ids = result_ids(at)[:3]
    run(at.switch_page(PLAYLIST))
    assert "playlist is empty" in at.info[0].value
    run(at.switch_page(DISCOVER))
    for track_id in ids:
        at.button(key=f"playlist_{track_id}").click()
        run(at)
    at.button(key=f"playlist_{ids[0]}").click()  # twice: kept once
    run(at)
    run(at.switch_page(PLAYLIST))
    uris = at.code[0].value.splitlines()
    assert uris == [f"spotify:track:{i}" for i in ids]
    at.button(key="down_0").click()
    run(at)
    assert at.code[0].value.splitlines() == [f"spotify:track:{i}" for i in (ids[1], ids[0],
                                                                            ids[2])]
    at.button(key="remove_2").click()
    run(at)
    assert len(at.code[0].value.splitlines()) == 2
    assert [d.label for d in at.get("download_button")] == ["CSV", "Spotify URIs", "JSPF",
                                                            "M3U", "XSPF"]
    at.button(key="clear_playlist").click()
    run(at)
    assert "playlist is empty" in at.info[0].value


def test_add_all_results_to_the_playlist(at: AppTest, small_library: Library) -> None:
    seeded(at, small_library.tracks([3])[0]["id"], limit="10")
    at.button(key="add_all").click()
    run(at)
    assert "Added 10 songs" in at.toast[0].value
    run(at.switch_page(PLAYLIST))
    assert len(at.code[0].value.splitlines()) == 10


# --- Library --------------------------------------------------------------------------------

def test_library_page_describes_the_library(at: AppTest, small_library: Library) -> None:
    run(at)
    run(at.switch_page(LIBRARY))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Songs"] == fmt.count(len(small_library))
    assert metrics["Sound families"] == str(len(small_library.families.families))
    details = dict(zip(*at.dataframe[0].value.to_dict("list").values(), strict=True))
    assert details["Folder"] == str(small_library.path)


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    run(at.switch_page(LIBRARY))
    at.get("file_uploader")[0].set_value((name, content, "text/csv"))
    run(at)
    next(b for b in at.button if b.label.startswith("Build a library from")).click()
    return run(at)


def test_upload_that_is_not_a_catalogue_shows_the_core_error(empty_at: AppTest) -> None:
    run(empty_at)
    upload(empty_at, "notes.csv", b"when,what\nmonday,shopping\n")
    assert "notes.csv** is not a usable catalogue" in empty_at.error[0].value
    assert "missing required column(s) id, name, artists" in empty_at.error[0].value
    uploads = Path(empty_at.session_state["library_path"]).parent if "library_path" in \
        empty_at.session_state else None
    assert uploads is None or not (uploads / "notes.csv").exists()  # not kept after failing


def test_upload_with_no_valid_row_shows_the_rejection_count(empty_at: AppTest,
                                                            small_csv: Path) -> None:
    lines = small_csv.read_text().splitlines()[:4]
    header = lines[0].split(",")
    energy = header.index("energy")
    bad = []
    for line in lines[1:]:
        cells = line.split(",")
        cells[energy] = "loud"
        bad.append(",".join(cells))
    run(empty_at)
    upload(empty_at, "bad.csv", "\n".join([lines[0], *bad]).encode())
    message = empty_at.error[0].value
    assert "no valid rows (3 problems" in message and "energy" in message


def test_upload_builds_reports_rejections_and_switches(empty_at: AppTest, small_csv: Path,
                                                       small_library: Library) -> None:
    lines = small_csv.read_text().splitlines()[:401]
    lines[5] = lines[5].replace(lines[5].split(",")[0], "", 1)  # an empty id
    lines.append("too,few,fields")
    run(empty_at)
    upload(empty_at, "my songs.csv", ("\n".join(lines) + "\n").encode())
    assert "the app now shows it" in empty_at.success[0].value
    metrics = {m.label: m.value for m in empty_at.metric}
    assert metrics["Rows read"] == "401" and metrics["Rejected"] == "2"
    reasons = empty_at.dataframe[0].value
    assert reasons["rows"].sum() == 2
    assert any(d.label.startswith("Download every rejected row")
               for d in empty_at.get("download_button"))
    # The new library is the one every page now shows.
    assert metrics["Songs"] == metrics["Songs kept"] != fmt.count(len(small_library))
    run(empty_at.switch_page(DISCOVER))
    assert empty_at.title[0].value == "Discover" and keys(empty_at, "suggest_")
    assert (Path(empty_at.session_state["library_path"]) / "manifest.json").is_file()


def test_an_upload_is_only_for_the_visitor_who_made_it(at: AppTest, small_csv: Path,
                                                        small_library: Library) -> None:
    lines = small_csv.read_text().splitlines()[:301]
    run(at)
    upload(at, "mine.csv", ("\n".join(lines) + "\n").encode())
    assert "the app now shows it" in at.success[0].value
    assert {m.label: m.value for m in at.metric}["Songs"] != fmt.count(len(small_library))
    other = AppTest.from_file(MAIN, default_timeout=60)  # another visitor, same process
    run(other)
    run(other.switch_page(LIBRARY))
    assert {m.label: m.value for m in other.metric}["Songs"] == fmt.count(len(small_library))


def test_with_the_admin_token_an_upload_is_for_everyone(
        at: AppTest, small_csv: Path, small_library: Library, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    token = tmp_path / "admin-token"
    token.write_text("open-sesame\n")
    monkeypatch.setenv("MUSICREC_ADMIN_TOKEN_FILE", str(token))
    lines = small_csv.read_text().splitlines()[:301]
    run(at)
    run(at.switch_page(LIBRARY))
    at.get("file_uploader")[0].set_value(("ours.csv", ("\n".join(lines) + "\n").encode(),
                                          "text/csv"))
    run(at)
    at.text_input(key="admin_token").set_value("wrong")
    run(at)
    assert "not the admin token" in at.error[0].value
    at.text_input(key="admin_token").set_value("open-sesame")
    run(at)
    next(b for b in at.button if b.label.startswith("Build a library from")).click()
    run(at)
    other = AppTest.from_file(MAIN, default_timeout=60)
    run(other)
    run(other.switch_page(LIBRARY))
    assert {m.label: m.value for m in other.metric}["Songs"] != fmt.count(len(small_library))


def test_the_app_refuses_a_public_address_without_permission() -> None:
    result = CliRunner().invoke(musicrec_cli, ["app", "--address", "0.0.0.0"])
    assert result.exit_code == 1 and "--allow-remote" in result.output


# --- state, formatting and the command ------------------------------------------------------

def test_state_round_trips_through_query_params() -> None:
    state = DiscoverState(seeds=[Seed("track", "a"), Seed("artist", "b"), Seed("track", "c")],
                          targets={"energy": 0.8, "tempo": 124.0}, years=(1990, 2005),
                          clean_only=True, per_artist=None, family=4, diversity=0.3, limit=50)
    params = state.to_params()
    assert params["seed"] == ["a", "c"] and params["artist"] == ["b"]
    assert params["per_artist"] == ["any"] and params["target_tempo"] == ["124"]
    again, notes = DiscoverState.from_params(params)
    assert notes == []
    assert again.to_params() == params
    assert DiscoverState().to_params() == {}  # defaults keep links short


def test_state_from_odd_params() -> None:
    state, notes = DiscoverState.from_params({
        "seed": ["a", "a", "b", "c", "d", "e", "f", " "], "target_energy": ["1.7"],
        "target_tempo": ["nan"], "min_year": ["2010"], "diversity": ["0.26"], "limit": ["17"]})
    assert [s.id for s in state.seeds] == ["a", "b", "c", "d", "e"]
    assert any("'f' was left out" in n for n in notes)
    assert state.targets == {"energy": 1.0}  # clamped and snapped to the slider
    assert any("target_tempo" in n and "'nan' is not a number" in n for n in notes)
    assert state.years == (2010, 2100) and state.diversity == 0.3 and state.limit == 20


def test_request_carries_every_choice() -> None:
    state = DiscoverState(seeds=[Seed("track", "a"), Seed("artist", "b")],
                          targets={"energy": 0.8}, years=(1990, 2005), clean_only=True,
                          family=3)
    request = state.request()
    assert request.seed_tracks == ["a"] and request.seed_artists == ["b"]
    assert request.min == {"year": 1990} and request.max == {"year": 2005}
    assert request.explicit is False and request.families == [3]


def test_knob_grids_hold_their_start() -> None:
    for knob in KNOBS:
        assert knob.start in knob.options()
        assert knob.snap(knob.hi + 1) == knob.hi and knob.snap(knob.lo - 1) == knob.lo


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("energy", 0.834, "83%"), ("tempo", 121.96, "122 BPM"), ("loudness", -5.25, "−5.2 dB"),
    ("duration_ms", 225_000, "3:45"), ("duration_ms", 3_723_000, "1:02:03"),
    ("year", 1999.0, "1999"), ("key", 1, "C♯"), ("mode", 0, "minor"),
    ("popularity", 62, "62/100"), ("time_signature", 3, "3/4"), ("energy", None, "–"),
    ("tempo", math.nan, "–"),
])
def test_formatting(name: str, value: float | None, shown: str) -> None:
    assert fmt.feature(name, value) == shown


def test_markdown_escaping() -> None:
    assert fmt.markdown("*Hit* [live] #1 $5 :red[x]") == \
        r"\*Hit\* \[live\] \#1 \$5 \:red\[x\]"


def test_cli_app_runs_streamlit_on_main(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    import os

    from musicrec.cli import app

    calls: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(os, "execve", lambda path, args, env: calls.append((path, args, env)))
    result = CliRunner().invoke(app, ["app", "--library", str(tmp_path), "--port", "8600"])
    assert result.exit_code == 0, result.output
    (_, args, env), = calls
    assert args[1:5] == ["-m", "streamlit", "run", str(MAIN)]
    flags = dict(zip(args[5::2], args[6::2], strict=True))
    assert flags["--server.port"] == "8600" and flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert env["MUSICREC_LIBRARY"] == str(tmp_path)


# --- sound ----------------------------------------------------------------------------------

def test_an_audio_file_becomes_a_seed(at: AppTest, tmp_path: Path) -> None:
    pytest.importorskip("soundfile")
    from musicrec.audio import sketch_for_features, write_wav

    wav = tmp_path / "mine.wav"
    write_wav(wav, sketch_for_features({"tempo": 126, "energy": 0.9}, seconds=10))
    run(at)
    at.toggle(key="audio_seed_on").set_value(True)
    run(at)
    uploader = next(u for u in at.get("file_uploader") if u.proto.id.endswith("audio_seed")
                    or "audio" in str(u.proto.label).lower())
    uploader.set_value(("mine.wav", wav.read_bytes(), "audio/wav"))
    run(at)
    estimates = at.dataframe[0].value
    assert "Tempo" in estimates["feature"].tolist()
    next(b for b in at.button if b.key == "use_sound").click()
    run(at)
    assert any(b.key and b.key.startswith("chip_sound_") for b in at.button)
    assert len(result_ids(at)) > 0
    assert "tempo=" in str(at.query_params["sound"])


def test_a_family_can_be_heard(at: AppTest) -> None:
    pytest.importorskip("soundfile")
    run(at)
    run(at.switch_page(SOUND_MAP))
    next(b for b in at.button if b.key == "play_family").click()
    run(at)
    assert at.get("audio")


def test_similar_artists_become_seeds(at: AppTest, small_library: Library) -> None:
    seeded(at, small_library.tracks([3])[0]["id"])
    similar = [b for b in at.button if b.key and b.key.startswith("similar_")]
    assert similar
    similar[0].click()
    run(at)
    assert any(b.key and b.key.startswith("chip_artist_") for b in at.button)
