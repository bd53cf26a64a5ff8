"""Radio: an endless station from 1 to 5 songs that learns from like and skip, in the order
chosen (smooth transitions by default), each transition shown."""

from __future__ import annotations

from typing import Any

import streamlit as st

from musicrec import flows, radio, sequence
from musicrec.app import format as fmt
from musicrec.app import prompt_box, songlist
from musicrec.app.building import require_library
from musicrec.errors import InvalidQueryError, MusicrecError
from musicrec.library import Library
from musicrec.playlists import spotify_url
from musicrec.request import MAX_SEEDS

PAGE = 10
# {"cursor": str, "songs": [record], "liked": set, "skipped": set, "sent": set, "note": str}
STATION = "radio_station"


def _seeds(lib: Library, text: str) -> list[str]:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if not parts:
        raise InvalidQueryError("name 1 to 5 songs to start the station from")
    out = []
    for part in parts:
        found = lib.resolve_seed(part)
        if found.kind != "track":
            raise InvalidQueryError(f"{part!r} is an artist; give a song")
        out.append(found.id)
    return out


def _more(lib: Library, req: radio.RadioRequest, station: dict[str, Any] | None) -> None:
    page = radio.radio_page(lib, req)
    songs = (station["songs"] if station else []) + lib.tracks(page.rows)
    st.session_state[STATION] = {"cursor": page.cursor, "songs": songs,
                                 "liked": station["liked"] if station else set(),
                                 "skipped": station["skipped"] if station else set(),
                                 "sent": station["sent"] if station else set(),
                                 "note": page.note}


def _verdict(track_id: str, liked: bool) -> None:
    station = st.session_state[STATION]
    (station["liked"] if liked else station["skipped"]).add(track_id)
    (station["skipped"] if liked else station["liked"]).discard(track_id)


def render() -> None:
    lib = require_library().lib
    st.title("Radio")
    st.caption("An endless station near your songs that keeps moving, never repeats a song "
               "and avoids the artists it just played, each song mixing into the next. Like "
               "or skip songs to steer it.")
    text = st.text_input("Start from songs (titles or ids, separated by ';')", key="radio_seeds")
    with st.expander("Or start from words", icon=":material/auto_awesome:"):
        found = prompt_box.ask(lib, "radio", MAX_SEEDS, "Start from these words")
    controls = songlist.variety("radio", radio.RECENT_ARTISTS)
    station = st.session_state.get(STATION)
    try:
        if found is not None and found.tracks:  # the prompt's best songs seed the station
            _more(lib, flows.parse(radio.RadioRequest, seeds=[t["id"] for t in found.tracks],
                                   count=PAGE, **controls), None)
            station = st.session_state[STATION]
        elif st.button("Start the station", key="radio_start", type="primary",
                     icon=":material/radio:"):
            _more(lib, flows.parse(radio.RadioRequest, seeds=_seeds(lib, text), count=PAGE,
                                   **controls), None)
            station = st.session_state[STATION]
        elif station and st.button("More songs", key="radio_more", icon=":material/add:"):
            new = {"liked": station["liked"] - station["sent"],
                   "skipped": station["skipped"] - station["sent"]}
            _more(lib, flows.parse(radio.RadioRequest, cursor=station["cursor"], count=PAGE,
                                   liked=sorted(new["liked"]), skipped=sorted(new["skipped"]),
                                   **controls), station)
            station = st.session_state[STATION]
            station["sent"] |= new["liked"] | new["skipped"]
    except MusicrecError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    if not station:
        return
    if station["note"]:
        st.caption(f"Note: {station['note']}.")
    mix = sequence.Mix.of(lib)
    steps = songlist.transitions(mix, [s["row"] for s in station["songs"]])
    for i, (song, step) in enumerate(zip(station["songs"], steps, strict=True), 1):
        track_id = song["id"]
        mark = " ♥" if track_id in station["liked"] else \
            " ⏭" if track_id in station["skipped"] else ""
        with st.container(border=True, key=f"radio_song_{i}"):
            words, buttons = st.columns([4, 1], vertical_alignment="center")
            words.markdown(f"**{i}. [{fmt.markdown(song['name'])}]({spotify_url(track_id)})** — "
                           f"{fmt.markdown(fmt.artists(song['artists']))}{mark}")
            if step:
                words.caption(fmt.markdown(step))
            with buttons, st.container(horizontal=True, horizontal_alignment="right"):
                st.button("", key=f"like_{track_id}", icon=":material/thumb_up:", help="Like",
                          on_click=_verdict, args=(track_id, True))
                st.button("", key=f"skip_{track_id}", icon=":material/skip_next:",
                          help="Skip", on_click=_verdict, args=(track_id, False))
    songlist.show(station["songs"], "radio", "radio", mix)
