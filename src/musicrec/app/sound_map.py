"""Sound map: a sample of songs drawn by family, or on any two features; click to seed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from musicrec import schema
from musicrec.app import format as fmt
from musicrec.app import sounds, state
from musicrec.app.building import require_library
from musicrec.app.loading import LoadedLibrary
from musicrec.app.state import Seed

FAMILY_VIEW = "Sound families"
FEATURE_VIEW = "Two features"
CHART_KEY = "sound_map"
# SVG draws crisper points and lets a browser test click one; WebGL stays fast for many.
WEBGL_FROM = 5_000
MAX_LEGEND = 30
ALL = -1  # the zoom picker's "all families" (a selectbox shows None as no choice at all)
PALETTE = px.colors.qualitative.Alphabet  # 26 mid-tone colours, readable on dark and light


def render() -> None:
    loaded = require_library()
    st.title("Sound map")
    st.caption("Each dot is a song from a sample of the library, coloured by its sound family: "
               "songs that sound alike sit together. Zoom into a family to see its "
               "sub-families. Hover to see a song; click one to make it a seed on Discover.")
    families = loaded.lib.families.families
    zoom = st.selectbox("Zoom into", (ALL, *range(len(families))), key="map_zoom",
                        format_func=lambda i: "All sound families" if i == ALL else
                        f"{families[i].name} ({fmt.count(families[i].size)} songs)")
    family = None if zoom == ALL else int(zoom)
    view = st.radio("Arrange songs by", (FAMILY_VIEW, FEATURE_VIEW), horizontal=True,
                    key="map_view")
    if view == FEATURE_VIEW:
        axes = loaded.axes
        across, up = st.columns(2)
        x = across.selectbox("Across", axes, index=axes.index("energy"), key="map_x",
                             format_func=fmt.label)
        y = up.selectbox("Up", axes, index=axes.index("valence"), key="map_y",
                         format_func=fmt.label)
    else:
        x, y = "map_x", "map_y"
    seeds = [s.id for s in state.discover().seeds if s.kind == "track"]
    fig = figure(loaded, x, y, seeds, family)
    st.plotly_chart(fig, key=CHART_KEY, on_select=_on_select, selection_mode="points",
                    config={"displayModeBar": False, "scrollZoom": False})
    st.page_link("views/discover.py", label="Back to Discover", icon=":material/explore:")
    _family_table(loaded, family)


def _axis(name: str) -> dict[str, Any]:
    if name in ("map_x", "map_y"):
        return {"showticklabels": False, "title": None, "zeroline": False}
    feature = schema.BY_NAME[name]
    if feature.unit:
        return {"tickformat": ".0%", "title": fmt.label(name)}
    tickformat, suffix, _ = feature.tick or ("", "", 1.0)
    return {"tickformat": tickformat, "ticksuffix": suffix, "title": fmt.label(name)}


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    tick = schema.BY_NAME[name].tick if name in schema.BY_NAME else None
    return frame[name].to_numpy() * (tick[2] if tick else 1.0)


def figure(loaded: LoadedLibrary, x: str, y: str, seed_ids: Sequence[str],
           family: int | None = None) -> go.Figure:
    """One trace per family, or, zoomed into a `family`, per sub-family of it; points carry
    [id, title, artist, family or sub-family name] for hover and clicks."""
    frame = loaded.map_frame
    level, names = "family", "family_name"
    if family is not None:
        frame = frame[frame["family"] == family]
        level, names = "subfamily", "subfamily_name"
    scatter = go.Scattergl if len(frame) >= WEBGL_FROM else go.Scatter
    fig = go.Figure()
    for group_id, group in frame.groupby(level, sort=True):
        fig.add_trace(scatter(
            x=_values(group, x), y=_values(group, y), mode="markers",
            name=group[names].iloc[0],
            marker={"size": 6, "opacity": 0.75, "color": PALETTE[int(group_id) % len(PALETTE)]},
            customdata=group[["id", "title", "artist", names]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<br>"
                          "<i>%{customdata[3]}</i><extra></extra>"))
    if seed_ids:
        seeds = _seed_points(loaded, seed_ids, x, y)
        fig.add_trace(go.Scatter(
            x=_values(seeds, x), y=_values(seeds, y), mode="markers", name="Your seeds",
            marker={"symbol": "star", "size": 18, "line": {"width": 1.5}},
            customdata=seeds[["id", "title", "artist", "family_name"]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<br>"
                          "<i>your seed</i><extra></extra>"))
    fig.update_layout(
        height=600, margin={"l": 10, "r": 10, "t": 10, "b": 10}, hovermode="closest",
        showlegend=len(fig.data) <= MAX_LEGEND,
        legend={"title": "Sound family" if family is None else "Sub-family",
                "itemsizing": "constant"},
        xaxis=_axis(x), yaxis=_axis(y), clickmode="event+select", dragmode="pan")
    return fig


def _seed_points(loaded: LoadedLibrary, seed_ids: Sequence[str], x: str,
                 y: str) -> pd.DataFrame:
    """The seed songs with the same columns as the map's points."""
    lib = loaded.lib
    rows = np.array([r for r in (lib.row_of(i) for i in seed_ids) if r is not None],
                    dtype=np.int64)
    tracks = lib.tracks(rows)
    frame = pd.DataFrame({
        "id": [t["id"] for t in tracks], "title": [t["name"] for t in tracks],
        "artist": [fmt.artists(t["artists"]) for t in tracks],
        "family_name": [t["family_name"] for t in tracks]})
    for name in {x, y}:
        if name in ("map_x", "map_y"):
            frame[name] = np.asarray(lib.families.map_xy[rows])[:, 0 if name == "map_x" else 1]
        else:
            frame[name] = lib.numeric(name)[rows]
    return frame


def seed_from_selection(selection: Mapping[str, Any]) -> tuple[Seed, str] | None:
    """The seed a click on the map asks for, with its label; None for an empty selection."""
    for point in selection.get("points", ()):
        data = point.get("customdata")
        if data:
            return Seed("track", str(data[0])), f"{data[1]} — {data[2]}"
    return None


def _on_select() -> None:
    event = st.session_state[CHART_KEY]
    picked = seed_from_selection(event["selection"])
    if picked is not None:
        state.add_seed(*picked)


def _family_table(loaded: LoadedLibrary, family: int | None) -> None:
    """The families (or, zoomed in, one family's sub-families): a table, a sound sketch of one,
    and its most typical songs."""
    lib = loaded.lib
    if family is None:
        shown = lib.families.families
        st.subheader(f"{len(shown)} sound families")
    else:
        shown = lib.families.related(lib.families.families[family])[1]
        st.subheader(f"{len(shown)} sub-families of {lib.families.families[family].name}")
    rows = [{"family": f.name, "songs": f.size,
             "years": f"{f.years[0]}–{f.years[2]}" if f.years[1] else fmt.UNKNOWN,
             "energy": fmt.percent(f.feature_means.get("energy")),
             "mood": fmt.percent(f.feature_means.get("valence")),
             "tempo": fmt.bpm(f.feature_means.get("tempo")),
             "top artists": ", ".join(name for name, _ in f.top_artists[:3])}
            for f in shown]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"songs": st.column_config.NumberColumn(format="localized")})
    pick, listen = st.columns([3, 1], vertical_alignment="bottom")
    chosen = shown[pick.selectbox("Hear what it sounds like", range(len(shown)),
                                  format_func=lambda i: shown[i].name, key="hear_family")]
    with listen:
        sounds.play(chosen.feature_means, key="play_family", label="Play a sketch")
    # Releases of one song (a single and its album track) are shown once, nearest first.
    examples, seen = [], set()
    for t in lib.tracks(chosen.central_rows):
        if (song := (t["name"].casefold(), tuple(t["artists"]))) not in seen:
            seen.add(song)
            examples.append(t)
    st.caption(f"The most typical songs of {chosen.name}:")
    st.dataframe(pd.DataFrame({"title": [t["name"] for t in examples],
                               "artist": [fmt.artists(t["artists"]) for t in examples]}),
                 hide_index=True, width="stretch", key="family_examples")
