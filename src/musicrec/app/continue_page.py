"""Continue a playlist: drop a file, paste Spotify links, or take this session's playlist."""

from __future__ import annotations

import streamlit as st

from musicrec import flows, sequence
from musicrec.app import songlist, state
from musicrec.app.building import require_library
from musicrec.errors import MusicrecError
from musicrec.playlists import load_playlist

SOURCES = ("Upload a file", "Paste Spotify links", "My playlist")
RESULT = "continue_result"


def render() -> None:
    lib = require_library().lib
    st.title("Continue a playlist")
    st.caption("Songs that fit a whole playlist: its different sounds, not only its average. "
               "No song already in it, no other version of one, no artist twice, and each "
               "song mixing into the next.")
    source = st.radio("Playlist", SOURCES, horizontal=True, key="continue_source")
    ids, text, name = None, None, None
    if source == SOURCES[0]:
        uploaded = st.file_uploader("CSV, M3U, JSPF, XSPF, Spotify URIs or MPD JSON",
                                    type=["csv", "txt", "m3u", "m3u8", "jspf", "xspf", "json"],
                                    key="continue_file")
        if uploaded is not None:
            text, name = uploaded.getvalue(), uploaded.name
    elif source == SOURCES[1]:
        pasted = st.text_area("One Spotify track link or URI per line", key="continue_paste",
                              height=150)
        if pasted.strip():
            text = pasted
    else:
        ids = [s["id"] for s in state.playlist()]
        st.caption(f"{len(ids)} songs in your playlist." if ids else
                   "Your playlist is empty: collect songs on Discover first.")
        ids = ids or None
    count = st.slider("Songs to add", 5, 50, 20, step=5, key="continue_count")
    controls = songlist.variety("continue", artist_gap=1)
    mix = sequence.Mix.of(lib)
    if st.button("Continue the playlist", key="continue_go", type="primary",
                 disabled=ids is None and text is None, icon=":material/playlist_add:"):
        try:
            resolved = load_playlist(lib, ids=ids, text=text, name=name)
            req = flows.parse(flows.ContinueRequest, count=count, max_per_artist=1,
                              **controls)
            rows = flows.continue_playlist(lib, resolved.rows, req)
        except MusicrecError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
        st.session_state[RESULT] = (lib.tracks(rows), len(resolved.rows),
                                    len(resolved.unknown), mix.note(req.order))
    if RESULT in st.session_state:
        records, known, unknown, order_note = st.session_state[RESULT]
        note = f" ({unknown} of its songs are not in this library)" if unknown else ""
        st.subheader(f"{len(records)} songs to follow a playlist of {known}{note}")
        if order_note:
            st.caption(f"Note: {order_note}.")
        songlist.show(records, "continued playlist", "continue", mix)
