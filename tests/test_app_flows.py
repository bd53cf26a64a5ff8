"""The Continue, Journey and Radio pages in-process with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

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
