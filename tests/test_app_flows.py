"""The Continue, Journey, Radio and Playlist pages in-process with Streamlit's AppTest: the
flows, their order and variety controls, and the transitions they show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import musicrec.app
from musicrec.library import Library

MAIN = Path(musicrec.app.__file__).parent / "main.py"
CONTINUE, JOURNEY, RADIO = "views/continue_page.py", "views/journey.py", "views/radio.py"


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch, small_library_path: Path) -> AppTest:
    monkeypatch.setenv("MUSICREC_LIBRARY", str(small_library_path))
    st.cache_resource.clear()
    return AppTest.from_file(MAIN, default_timeout=60)


def button(at: AppTest, key: str):  # noqa: ANN201 - AppTest's widget type is private
    return next(b for b in at.button if b.key == key)


def click(at: AppTest, key: str) -> AppTest:
    button(at, key).click()
    return run(at)


def open_page(at: AppTest, page: str) -> AppTest:
    run(at)  # st.navigation registers the pages on the first run
    return run(at.switch_page(page))


def test_continue_pasted_links(at: AppTest, small_library: Library) -> None:
    open_page(at, CONTINUE)
    assert at.title[0].value == "Continue a playlist"
    assert button(at, "continue_go").disabled  # nothing to continue yet
    at.radio(key="continue_source").set_value("Paste Spotify links")
    run(at)
    tracks = small_library.tracks(list(range(0, 200, 10)))
    at.text_area(key="continue_paste").input(
        "\n".join(f"https://open.spotify.com/track/{t['id']}" for t in tracks))
    at.slider(key="continue_count").set_value(10)
    run(at)
    click(at, "continue_go")
    assert "10 songs to follow a playlist of 20" in at.subheader[0].value
    titles = at.dataframe[0].value["title"].tolist()
    assert len(titles) == 10
    assert {d.proto.label for d in at.get("download_button")} >= {"M3U", "XSPF", "JSPF"}


def test_continue_bad_paste_is_an_error_not_a_traceback(at: AppTest) -> None:
    open_page(at, CONTINUE)
    at.radio(key="continue_source").set_value("Paste Spotify links")
    run(at)
    at.text_area(key="continue_paste").input("spotify:track:0000000000000000000000\nhello")
    run(at)
    click(at, "continue_go")
    assert at.error and "line 2" in at.error[0].value


def test_continue_my_playlist_and_add_back(at: AppTest, small_library: Library) -> None:
    open_page(at, CONTINUE)
    at.radio(key="continue_source").set_value("My playlist")
    run(at)
    assert button(at, "continue_go").disabled
    at.session_state["playlist"] = [dict(t) for t in small_library.tracks([1, 2, 3, 4, 5])]
    run(at)
    click(at, "continue_go")
    assert len(at.dataframe[0].value) == 20
    click(at, "continue_add")
    assert len(at.session_state["playlist"]) == 25


def test_journey_chart_and_songs(at: AppTest, small_library: Library) -> None:
    a, b = small_library.tracks([3, 1800])
    open_page(at, JOURNEY)
    at.text_input(key="journey_from").input(a["id"])
    at.text_input(key="journey_to").input(b["id"])
    at.slider(key="journey_length").set_value(8)
    run(at)
    click(at, "journey_go")
    assert at.subheader[0].value == f"{a['name']} → {b['name']}"
    assert len(at.get("vega_lite_chart")) == 2  # the features, and the tempo
    songs = at.dataframe[0].value
    assert len(songs) == 8 and songs["title"].iloc[0] == a["name"]


def test_journey_missing_end_is_an_error(at: AppTest, small_library: Library) -> None:
    open_page(at, JOURNEY)
    at.text_input(key="journey_from").input(small_library.tracks([3])[0]["id"])
    run(at)
    click(at, "journey_go")
    assert at.error and "To is empty" in at.error[0].value


def test_radio_plays_learns_and_grows(at: AppTest, small_library: Library) -> None:
    seed = small_library.tracks([12])[0]
    open_page(at, RADIO)
    click(at, "radio_start")
    assert at.error and "1 to 5 songs" in at.error[0].value
    at.text_input(key="radio_seeds").input(seed["id"])
    run(at)
    click(at, "radio_start")
    first = [b.key.removeprefix("like_") for b in at.button if b.key.startswith("like_")]
    assert len(first) == 10 and seed["id"] not in first
    click(at, f"like_{first[0]}")
    click(at, f"skip_{first[1]}")
    station = at.session_state["radio_station"]
    assert first[0] in station["liked"] and first[1] in station["skipped"]
    click(at, "radio_more")
    played = [b.key.removeprefix("like_") for b in at.button if b.key.startswith("like_")]
    assert len(played) == 20 == len(set(played)) and played[:10] == first
    assert at.session_state["radio_station"]["sent"] == {first[0], first[1]}


# --- orders, exclusions, the artist window and transitions ------------------------------------

PLAYLIST = "views/playlist.py"


def station_ids(at: AppTest) -> list[str]:
    return [b.key.removeprefix("like_") for b in at.button if b.key.startswith("like_")]


def test_radio_with_order_window_and_exclusions(at: AppTest, small_library: Library) -> None:
    seed = small_library.tracks([12])[0]
    open_page(at, RADIO)
    at.text_input(key="radio_seeds").input(seed["id"])
    run(at)
    click(at, "radio_start")
    track = small_library.tracks([small_library.row_of(station_ids(at)[0])])[0]
    at.selectbox(key="radio_order").set_value("energy-up")
    at.number_input(key="radio_gap").set_value(12)
    at.text_input(key="radio_no_artists").input(track["artists"][0])
    run(at)
    click(at, "radio_start")
    run(at)  # "More songs" shows from the run after a start
    click(at, "radio_more")
    played = station_ids(at)
    assert len(played) == 20
    rows = small_library.rows_of(played)
    assert track["artist_ids"][0] not in {a for t in small_library.tracks(rows)
                                          for a in t["artist_ids"]}
    artists = small_library.primary_artist[rows].tolist()
    assert all(a not in artists[max(0, i - 12):i] for i, a in enumerate(artists))
    energy = small_library.numeric("energy")[rows[:10]]
    assert np.corrcoef(np.arange(10), energy)[0, 1] > 0.5
    # Each song after the first says how it follows the one before.
    steps = [c.value for c in at.caption if "BPM" in c.value]
    assert len(steps) == 19
    assert at.dataframe[0].value["transition"].tolist()[1:] == [
        s.replace("\\", "") for s in steps]


def test_continue_and_journey_leave_out_an_artist(at: AppTest, small_library: Library) -> None:
    open_page(at, CONTINUE)
    at.radio(key="continue_source").set_value("Paste Spotify links")
    run(at)
    tracks = small_library.tracks(list(range(0, 200, 10)))
    at.text_area(key="continue_paste").input(
        "\n".join(f"spotify:track:{t['id']}" for t in tracks))
    at.slider(key="continue_count").set_value(10)
    run(at)
    click(at, "continue_go")
    first = at.dataframe[0].value
    artist = first["artist"].iloc[0].split(", ")[0]
    at.text_input(key="continue_no_artists").input(artist)
    at.selectbox(key="continue_order").set_value("arc")
    run(at)
    click(at, "continue_go")
    songs = at.dataframe[0].value
    assert len(songs) == 10 and not any(artist in a.split(", ") for a in songs["artist"])
    assert songs["transition"].iloc[0] == "" and "BPM" in songs["transition"].iloc[1]
    a, b = small_library.tracks([3, 1800])
    open_page(at, JOURNEY)
    at.text_input(key="journey_from").input(a["id"])
    at.text_input(key="journey_to").input(b["id"])
    at.text_input(key="journey_no_artists").input("No Such Artist")
    run(at)
    click(at, "journey_go")
    assert at.error and "artist 'No Such Artist' is not in the library" in at.error[0].value


def test_playlist_shows_transitions_and_reorders(at: AppTest, small_library: Library) -> None:
    rows = list(range(500, 510))
    at.session_state["playlist"] = [dict(t) for t in small_library.tracks(rows)]
    open_page(at, PLAYLIST)
    steps = [c.value for c in at.caption if "BPM" in c.value]
    assert len(steps) == 9
    assert any("transitions smooth" in c.value for c in at.caption)
    at.selectbox(key="playlist_order").set_value("energy-down")
    run(at)
    click(at, "playlist_reorder")
    uris = at.code[0].value.splitlines()
    energy = small_library.numeric("energy")[small_library.rows_of(
        [u.removeprefix("spotify:track:") for u in uris])]
    assert len(uris) == 10 and (np.diff(energy) <= 0).all()
    at.selectbox(key="playlist_order").set_value("smooth")
    run(at)
    click(at, "playlist_reorder")
    assert sorted(at.code[0].value.splitlines()) == sorted(uris)
