"""Library: what is loaded, switching libraries, and building one from an uploaded CSV."""

from __future__ import annotations

import hmac
from pathlib import Path

import pandas as pd
import streamlit as st

from musicrec.app import building, loading, state
from musicrec.app import format as fmt
from musicrec.app.loading import LoadedLibrary
from musicrec.config import Settings
from musicrec.errors import LibraryError, MusicrecError


def render() -> None:
    st.title("Library")
    building.show_last_report()
    try:
        loaded = loading.current()
    except LibraryError as exc:
        st.info(f"No library is loaded. {exc}", icon=":material/info:")
        building.offer_demo()
    else:
        _describe(loaded)
    _switcher()
    _upload()


def _describe(loaded: LoadedLibrary) -> None:
    info = loaded.info
    counts = info["counts"]
    st.subheader("Loaded library")
    cols = st.columns(4)
    cols[0].metric("Songs", fmt.count(counts["rows_kept"]))
    cols[1].metric("Sound families", str(info["families"]["count"]))
    cols[2].metric("Built", info["created"][:10], help=info["created"])
    cols[3].metric("Size on disk", fmt.megabytes(info["bytes_on_disk"]))
    source = info["source"]
    rows = {
        "Folder": info["path"],
        "Source file": f"{source['name']} ({fmt.megabytes(source['bytes'])}, "
                       f"sha256 {source['sha256'][:12]}…)",
        "Rows read": fmt.count(counts["rows_read"]),
        "Rows rejected": fmt.count(counts["rejected"]),
        "Duplicates merged": fmt.count(counts["duplicates"]),
        "Optional columns absent": ", ".join(info["missing_optional"]) or "none",
        "Built by": f"musicrec {info['musicrec_version']} (format {info['format_version']})",
        "Search index": ", ".join(f"{k} {v}" for k, v in info["index"].items()),
    }
    st.dataframe(pd.DataFrame({"detail": list(rows), "value": list(rows.values())}),
                 hide_index=True, width="stretch")
    with st.expander("Sound families"):
        st.dataframe(pd.DataFrame(
            [{"id": f.id, "family": f.name, "songs": f.size,
              "top artists": ", ".join(a for a, _ in f.top_artists[:3])}
             for f in loaded.lib.families.families]), hide_index=True, width="stretch")


def _libraries() -> list[Path]:
    """The shared library and every library this visitor built from an upload."""
    found = [loading.shared_path()]
    uploads = building.uploads_folder()
    if uploads.is_dir():
        found += sorted(p for p in uploads.iterdir() if (p / "manifest.json").is_file())
    active = loading.active_path()
    return found if active in found else [active, *found]


def _switcher() -> None:
    choices = _libraries()
    if len(choices) < 2:
        return
    active = loading.active_path()
    shared = loading.shared_path()
    choice = st.selectbox("Library in use", choices, index=choices.index(active),
                          format_func=lambda p: f"{p.name} (everyone's)" if p == shared
                          else f"{p.name} (yours)")
    if choice != active:
        loading.switch_library(choice)
        state.reset_discover(keep_seeds=False)
        st.rerun()


def _upload() -> None:
    st.subheader("Build a library from a CSV")
    st.caption("A Spotify-features CSV: the Kaggle “Spotify 1.2M+ Songs” file, the 30,000 "
               "songs file or another export with id, name, artists and the audio features "
               "(danceability, energy, key, loudness, mode, speechiness, acousticness, "
               "instrumentalness, liveness, valence, tempo, duration_ms). Rows that cannot be "
               "used are reported, not guessed.")
    uploaded = st.file_uploader("Spotify-features CSV", type=["csv"], key="upload")
    if uploaded is None:
        return
    everyone = _admin()
    st.caption("The library will be shown to every visitor." if everyone else
               "The library will be yours: other visitors keep theirs.")
    if st.button(f"Build a library from {uploaded.name}", type="primary",
                 icon=":material/build:"):
        try:
            building.build_upload(uploaded.name, uploaded, everyone)
        except MusicrecError as exc:
            st.error(f"**{uploaded.name}** is not a usable catalogue: {exc}",
                     icon=":material/error:")
            return
        st.rerun()


def _admin() -> bool:
    """Whether this visitor proved to be the admin (only when the app has an admin token)."""
    expected = Settings().admin_token()
    if expected is None:
        return False
    given = st.text_input("Admin token (to build the library every visitor sees)",
                          type="password", key="admin_token")
    if given and not hmac.compare_digest(given.encode(), expected.encode()):
        st.error("That is not the admin token.", icon=":material/lock:")
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
