"""The prompt boxes of the Discover and Radio pages, in-process with Streamlit's AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from test_app_flows import RADIO, at, click, open_page, run  # noqa: F401 - `at` is a fixture

DISCOVER = "views/discover.py"


def test_discover_answers_a_prompt_and_shows_how_it_was_read(at: AppTest) -> None:  # noqa: F811
    open_page(at, DISCOVER)
    at.text_input(key="discover_prompt").input("fast happy blorp")
    run(at)
    click(at, "discover_prompt_go")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("fast → faster") for c in captions)
    assert any(c.startswith("Not understood") and c.endswith("blorp") for c in captions)
    assert len(at.dataframe[0].value) == 20  # the page's number of songs
    # The answer stays while its text does: adding it all to the playlist keeps it shown.
    click(at, "discover_prompt_add")
    assert len(at.session_state["playlist"]) == 20 and len(at.dataframe[0].value) == 20
    at.text_input(key="discover_prompt").input("calm")
    run(at)
    assert not at.dataframe


def test_a_meaningless_prompt_is_an_error_not_a_traceback(at: AppTest) -> None:  # noqa: F811
    open_page(at, DISCOVER)
    at.text_input(key="discover_prompt").input("blorp")
    run(at)
    click(at, "discover_prompt_go")
    assert at.error and "nothing in the prompt was understood" in at.error[0].value


def test_radio_starts_from_a_prompt(at: AppTest) -> None:  # noqa: F811
    open_page(at, RADIO)
    at.text_input(key="radio_prompt").input("calm instrumental")
    run(at)
    click(at, "radio_prompt_go")
    station = at.session_state["radio_station"]
    assert len(station["songs"]) == 10
