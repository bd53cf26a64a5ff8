"""A list of songs made by a flow, shown as a table with export buttons and "add to playlist";
the order and variety controls the flow pages share; transitions in words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from musicrec import sequence
from musicrec.app import format as fmt
from musicrec.app import state
from musicrec.flows import GAP_HELP, MAX_GAP
from musicrec.playlists import FORMATS, export, file_name, spotify_url

ROUGH = "⚠"  # the mark of a transition that breaks the DJ's rule


def show(records: list[dict[str, Any]], title: str, key: str,
         mix: sequence.Mix | None = None) -> None:
    """The songs as a table (linked to Spotify), with the transition into each when `mix` is
    given, then export buttons and a button that adds them all to this session's playlist."""
    columns: dict[str, Any] = {
        "#": range(1, len(records) + 1),
        "title": [r["name"] for r in records],
        "artist": [fmt.artists(r["artists"]) for r in records],
        "year": [fmt.year(r.get("year")) for r in records],
        "family": [r["family_name"] for r in records],
    }
    if mix is not None:
        columns["transition"] = transitions(mix, [r["row"] for r in records])
    columns["spotify"] = [spotify_url(r["id"]) for r in records]
    st.dataframe(pd.DataFrame(columns), hide_index=True, key=f"{key}_table", column_config={
        "spotify": st.column_config.LinkColumn("Spotify", display_text="open")})
    with st.container(horizontal=True):
        st.button("Add all to playlist", key=f"{key}_add", icon=":material/playlist_add:",
                  on_click=_add_all, args=(records,))
        for name, spec in FORMATS.items():
            st.download_button(spec.label, export(records, name, title), key=f"{key}_{name}",
                               file_name=file_name(title, name), mime=spec.mime,
                               icon=":material/download:", on_click="ignore")


def transitions(mix: sequence.Mix, rows: Sequence[int | None]) -> list[str]:
    """The transition into each song in words, a rough one marked; "" for the first song and
    beside a song that is not in the library."""
    pairs = [(i, a, b) for i, (a, b) in enumerate(zip(rows[:-1], rows[1:], strict=True), 1)
             if a is not None and b is not None]
    found = mix.transitions([a for _, a, _ in pairs], [b for _, _, b in pairs])
    out = [""] * len(rows)
    for (i, _, _), step in zip(pairs, found, strict=True):
        out[i] = step.text() if step.smooth else f"{ROUGH} {step.text()}"
    return out


def variety(key: str, artist_gap: int | None = None) -> dict[str, Any]:
    """The order, exclusion and (given its default) artist window widgets of a flow page, as
    the fields of its request."""
    with st.expander("Order and variety", icon=":material/tune:"):
        chosen: dict[str, Any] = {"order": st.selectbox(
            "Order", sequence.ORDERS, key=f"{key}_order",
            format_func=sequence.ORDER_WORDS.__getitem__)}
        if artist_gap is not None:
            chosen["artist_gap"] = st.number_input(
                "Artist window (songs)", 0, MAX_GAP, artist_gap, key=f"{key}_gap",
                help=GAP_HELP)
        chosen["exclude_artists"] = _split(st.text_input(
            "Leave out artists (names or ids, separated by ';')", key=f"{key}_no_artists"))
        chosen["exclude_albums"] = _split(st.text_input(
            "Leave out albums (ids, separated by ';')", key=f"{key}_no_albums"))
    return chosen


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _add_all(records: list[dict[str, Any]]) -> None:
    added = sum(state.add_to_playlist(r) for r in records)
    state.announce(f"Added {added} song{'s' * (added != 1)} to the playlist." if added
                   else "Already in the playlist.", ":material/playlist_add_check:")
