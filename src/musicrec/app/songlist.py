"""A list of songs made by a flow, shown as a table with export buttons and "add to playlist"."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from musicrec.app import format as fmt
from musicrec.app import state
from musicrec.playlists import FORMATS, export, file_name, spotify_url


def show(records: list[dict[str, Any]], title: str, key: str) -> None:
    """The songs as a table (linked to Spotify), then export buttons and a button that adds
    them all to this session's playlist."""
    frame = pd.DataFrame({
        "#": range(1, len(records) + 1),
        "title": [r["name"] for r in records],
        "artist": [fmt.artists(r["artists"]) for r in records],
        "year": [fmt.year(r.get("year")) for r in records],
        "family": [r["family_name"] for r in records],
        "spotify": [spotify_url(r["id"]) for r in records],
    })
    st.dataframe(frame, hide_index=True, key=f"{key}_table", column_config={
        "spotify": st.column_config.LinkColumn("Spotify", display_text="open")})
    with st.container(horizontal=True):
        st.button("Add all to playlist", key=f"{key}_add", icon=":material/playlist_add:",
                  on_click=_add_all, args=(records,))
        for name, spec in FORMATS.items():
            st.download_button(spec.label, export(records, name, title), key=f"{key}_{name}",
                               file_name=file_name(title, name), mime=spec.mime,
                               icon=":material/download:", on_click="ignore")


def _add_all(records: list[dict[str, Any]]) -> None:
    added = sum(state.add_to_playlist(r) for r in records)
    state.announce(f"Added {added} song{'s' * (added != 1)} to the playlist." if added
                   else "Already in the playlist.", ":material/playlist_add_check:")
