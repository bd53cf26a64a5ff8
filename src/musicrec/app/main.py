"""Streamlit entry script: `streamlit run main.py` (or `musicrec app`).

The library comes from MUSICREC_LIBRARY or the per-user default (see `musicrec.config`).
Each page is a small script in `views/` that calls its module's `render()`.
"""

import streamlit as st

from musicrec.app import state

st.set_page_config(page_title="musicrec", page_icon="🎧", layout="wide",
                   menu_items={"About": "musicrec: music recommendations over Spotify audio "
                                        "features, on your own machine."})
state.init_session()
state.show_announcements()
st.navigation([
    st.Page("views/discover.py", title="Discover", icon=":material/explore:", default=True),
    st.Page("views/sound_map.py", title="Sound map", icon=":material/scatter_plot:"),
    st.Page("views/playlist.py", title="Playlist", icon=":material/queue_music:"),
    st.Page("views/continue_page.py", title="Continue", icon=":material/playlist_add:",
            url_path="continue"),
    st.Page("views/journey.py", title="Journey", icon=":material/route:"),
    st.Page("views/radio.py", title="Radio", icon=":material/radio:"),
    st.Page("views/library_page.py", title="Library", icon=":material/library_music:",
            url_path="library"),
], position="top").run()
