"""Playlist: the songs collected on Discover, in an order the person sets (by hand, or
re-ordered by `musicrec.sequence`) with each transition shown, for export in that order."""

from __future__ import annotations

from typing import Any

import streamlit as st

from musicrec import sequence
from musicrec.app import format as fmt
from musicrec.app import loading, songlist, state
from musicrec.errors import LibraryError
from musicrec.library import Library
from musicrec.playlists import FORMATS, export, file_name, spotify_url, to_uris


def _move(i: int, step: int) -> None:
    songs = state.playlist()
    j = i + step
    if 0 <= j < len(songs):
        songs[i], songs[j] = songs[j], songs[i]


def _remove(i: int) -> None:
    del state.playlist()[i]


def _clear() -> None:
    state.playlist().clear()


def _reorder(lib: Library, order: str) -> None:
    """The songs of the library in `order`; any others after them, as they were."""
    songs = state.playlist()
    rows = lib.rows_of([s["id"] for s in songs])
    known = {row: song for row, song in zip(rows, songs, strict=True) if row is not None}
    arranged = sequence.arrange(sequence.Mix.of(lib), list(known), len(known), order)
    songs[:] = [known[r] for r in arranged] + [
        s for s, row in zip(songs, rows, strict=True) if row is None]


def _library() -> Library | None:
    try:
        return loading.current().lib
    except LibraryError:
        return None


def _order_and_transitions(songs: list[dict[str, Any]]) -> list[str]:
    """The re-order controls, and the transition into each song in words ("" for the first;
    all "" without a library)."""
    lib = _library()
    if lib is None:
        return [""] * len(songs)
    mix = sequence.Mix.of(lib)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    order = left.selectbox("Order", sequence.ORDERS, key="playlist_order",
                           format_func=sequence.ORDER_WORDS.__getitem__)
    right.button("Re-order", key="playlist_reorder", icon=":material/sort:",
                 on_click=_reorder, args=(lib, order))
    if note := mix.note(order):
        st.caption(f"Note: {note}.")
    steps = songlist.transitions(mix, lib.rows_of([s["id"] for s in songs]))
    rough = sum(step.startswith(songlist.ROUGH) for step in steps)
    known = sum(bool(step) for step in steps)
    st.caption(f"{known - rough} of {known} transitions smooth (tempo within 6 % and keys "
               f"neighbours on the Camelot wheel); {songlist.ROUGH} marks a rough one.")
    return steps


def render() -> None:
    st.title("Playlist")
    songs = state.playlist()
    if not songs:
        st.info("Your playlist is empty. On Discover, add songs with **Playlist** on a result, "
                "or **Add all to playlist**.", icon=":material/queue_music:")
        st.page_link("views/discover.py", label="Go to Discover", icon=":material/explore:")
        return
    total = sum(s["duration_ms"] or 0 for s in songs)
    st.caption(f"{len(songs)} song{'s' * (len(songs) != 1)} · {fmt.duration(total)}")
    title = st.text_input("Playlist name", value="musicrec playlist", key="playlist_title")
    steps = _order_and_transitions(songs)
    for i, song in enumerate(songs):
        with st.container(border=True, key=f"song_{i}"):
            text, buttons = st.columns([3, 2], vertical_alignment="center")
            text.markdown(f"**{i + 1}. [{fmt.markdown(song['name'])}]"
                          f"({spotify_url(song['id'])})** — "
                          f"{fmt.markdown(fmt.artists(song['artists']))} "
                          f":gray[{fmt.duration(song['duration_ms'])}]")
            if steps[i]:
                text.caption(fmt.markdown(steps[i]))
            with buttons, st.container(horizontal=True, horizontal_alignment="right"):
                st.button("", key=f"up_{i}", icon=":material/arrow_upward:", help="Move up",
                          on_click=_move, args=(i, -1), disabled=i == 0)
                st.button("", key=f"down_{i}", icon=":material/arrow_downward:",
                          help="Move down", on_click=_move, args=(i, 1),
                          disabled=i == len(songs) - 1)
                st.button("", key=f"remove_{i}", icon=":material/delete:", help="Remove",
                          on_click=_remove, args=(i,))
    st.subheader("Export")
    with st.container(horizontal=True):
        for name, spec in FORMATS.items():
            st.download_button(spec.label, export(songs, name, title), key=f"export_{name}",
                               file_name=file_name(title, name), mime=spec.mime,
                               icon=":material/download:", on_click="ignore")
        st.button("Clear playlist", key="clear_playlist", icon=":material/clear_all:",
                  type="tertiary", on_click=_clear)
    st.caption("To fill a Spotify playlist, copy these lines and paste them into it in the "
               "Spotify desktop app:")
    st.code(to_uris(songs), language=None)
