"""The app's audio: a visitor's own file as a seed, and sketches that render features as sound.

Both need the audio extra; without it each place says how to install it instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from musicrec import schema
from musicrec.app import format as fmt
from musicrec.app import state
from musicrec.app.state import Seed, encode_sound
from musicrec.errors import MusicrecError

FILE_TYPES = ["wav", "flac", "ogg", "mp3"]
SKETCH_SECONDS = 12.0
_INSTALL = "Sound needs the audio extra: `pip install 'musicrec[audio]'`."


def upload_seed() -> None:
    """Analyse an uploaded song into audio features, show them, and offer it as a seed."""
    # A toggle, not an expander: a file uploader inside a closed expander left a loading
    # placeholder on the page, which the browser test waits on to see the page settle.
    if not st.toggle("Start from a song file of your own", key="audio_seed_on"):
        return
    with st.container(border=True):
        uploaded = st.file_uploader("An audio file", type=FILE_TYPES, key="audio_seed")
        if uploaded is None:
            return
        try:
            from musicrec.audio import analyze_upload

            result = analyze_upload(uploaded, uploaded.name)
        except MusicrecError as exc:
            st.error(f"**{fmt.markdown(uploaded.name)}**: {exc}", icon=":material/error:")
            return
        rows = [{"feature": fmt.label(name),
                 "estimate": "unknown" if value is None else fmt.feature(name, value),
                 "note": result.unknown.get(name, "")}
                for name, value in result.features.items() if name in schema.BY_NAME]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        known = {k: float(v) for k, v in result.features.items()
                 if v is not None and k in schema.BY_NAME}
        st.button("Use this sound as a seed", icon=":material/graphic_eq:", key="use_sound",
                  on_click=state.add_seed, args=(Seed("sound", encode_sound(known)),
                                                 f"Your file {uploaded.name}"))


def play(features: Mapping[str, float], key: str, label: str = "Hear it") -> None:
    """A button that renders `features` as a short sketch and plays it."""
    if not st.button(label, icon=":material/volume_up:", key=key):
        return
    try:
        from musicrec.audio import sketch_for_features

        samples = sketch_for_features(dict(features), seconds=SKETCH_SECONDS)
    except MusicrecError:
        st.info(_INSTALL, icon=":material/info:")
        return
    st.audio(samples, sample_rate=22050)
