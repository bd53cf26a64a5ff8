"""Journey: songs that move smoothly from one song to another, with a chart of how each
feature travels along the way."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from musicrec import flows, schema, sequence
from musicrec.app import format as fmt
from musicrec.app import songlist
from musicrec.app.building import require_library
from musicrec.errors import InvalidQueryError, MusicrecError
from musicrec.library import Library

RESULT = "journey_result"
NOTE = "journey_note"


def _track(lib: Library, text: str, which: str) -> str:
    if not text.strip():
        raise InvalidQueryError(f"name the song to start from and the song to end at "
                                f"({which} is empty)")
    found = lib.resolve_seed(text)
    if found.kind != "track":
        raise InvalidQueryError(f"{text!r} is an artist; give a song")
    return found.id


def render() -> None:
    lib = require_library().lib
    st.title("Journey")
    st.caption("From one song to another in small steps: each song close to the last and "
               "nearer the destination, never the same artist twice in a row, and mixing "
               "into the next.")
    left, right = st.columns(2)
    start = left.text_input("From (a song's title and artist, or its id)", key="journey_from")
    end = right.text_input("To", key="journey_to")
    length = st.slider("Songs, both ends included", 3, 30, 10, key="journey_length")
    clean = st.checkbox("Clean songs only", key="journey_clean",
                        disabled=not lib.has_column("explicit"))
    controls = songlist.variety("journey")
    mix = sequence.Mix.of(lib)
    if st.button("Plan the journey", key="journey_go", type="primary", icon=":material/route:"):
        try:
            req = flows.parse(flows.JourneyRequest, length=length,
                              explicit=False if clean else None,
                              **{"from": _track(lib, start, "From"),
                                 "to": _track(lib, end, "To")}, **controls)
            st.session_state[RESULT] = lib.tracks(flows.journey(lib, req))
            st.session_state[NOTE] = mix.note(req.order)
        except MusicrecError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
    if RESULT in st.session_state:
        records = st.session_state[RESULT]
        st.subheader(f"{records[0]['name']} → {records[-1]['name']}")
        features = [f.name for f in schema.LISTED if f.unit and f.name in records[0]]
        chart = pd.DataFrame({fmt.label(f): [r[f] for r in records] for f in features},
                             index=pd.RangeIndex(1, len(records) + 1, name="step"))
        st.line_chart(chart, x_label="step", y_label="value (0 to 1)")
        if "tempo" in records[0]:
            st.line_chart(pd.DataFrame({"tempo (BPM)": [r["tempo"] for r in records]},
                                       index=chart.index), x_label="step", height=160)
        if st.session_state.get(NOTE):
            st.caption(f"Note: {st.session_state[NOTE]}.")
        songlist.show(records, "journey", "journey", mix)
