"""Why this song: a chart of a result's features against the seeds', and a Spotify player."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from musicrec import schema
from musicrec.app import format as fmt
from musicrec.app.loading import CHART_FEATURES, LoadedLibrary
from musicrec.app.state import KNOB_BY_FEATURE, DiscoverState
from musicrec.playlists import spotify_url
from musicrec.recommend import Recommendation

_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
_SHORT = 28
_GRID = "rgba(128, 128, 128, 0.35)"
# Seeds in colours apart from the song's (the theme's first colour, a blue).
_SEED_COLOURS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#e377c2")


def _scaled(name: str, value: float) -> float:
    """A feature on the chart's 0..1 scale: 0..1 features as they are, others by knob range."""
    if schema.BY_NAME[name].unit:
        return value
    knob = KNOB_BY_FEATURE[name]
    return float(np.clip((value - knob.lo) / (knob.hi - knob.lo), 0.0, 1.0))


def _axis(name: str) -> str:
    """A feature's short name on the chart (it must fit a phone's width)."""
    return schema.BY_NAME[name].axis or name


def _trace(name: str, values: Mapping[str, float], **style: object) -> go.Scatterpolar:
    names = [n for n in CHART_FEATURES if np.isfinite(values.get(n, np.nan))]
    return go.Scatterpolar(
        r=[_scaled(n, values[n]) for n in names] + [_scaled(names[0], values[names[0]])],
        theta=[_axis(n) for n in names] + [_axis(names[0])],
        text=[fmt.feature(n, values[n]) for n in names] + [fmt.feature(names[0],
                                                                      values[names[0]])],
        hovertemplate="%{theta}: %{text}<extra>" + html.escape(name) + "</extra>",
        name=name, **style)


def figure(loaded: LoadedLibrary, state: DiscoverState, rec: Recommendation,
           seed_labels: Mapping[str, str]) -> go.Figure:
    """A radar chart: the song (filled), each seed (lines) and any targets (diamonds)."""
    song = {n: float(rec.track[n]) if rec.track.get(n) is not None else np.nan
            for n in CHART_FEATURES}
    fig = go.Figure()
    fig.add_trace(_trace("This song", song, fill="toself", mode="lines+markers",
                         line={"width": 3}))
    for seed, colour in zip(state.seeds, _SEED_COLOURS, strict=False):
        profile = loaded.seed_profile(seed)
        if not any(np.isfinite(profile.get(n, np.nan)) for n in CHART_FEATURES):
            continue  # nothing known to draw (a sound of which only the tempo is known)
        label = seed_labels.get(seed.id, seed.id)
        fig.add_trace(_trace(label if len(label) <= _SHORT else label[:_SHORT - 1] + "…",
                             profile, mode="lines",
                             line={"width": 2, "dash": "dot", "color": colour}))
    targets = {n: v for n, v in state.targets.items() if n in CHART_FEATURES}
    if targets:
        fig.add_trace(_trace("Your targets", targets, mode="markers",
                             marker={"symbol": "diamond", "size": 11}))
    fig.update_layout(
        # A transparent background and grey grid read well on dark and light themes; the
        # rotation keeps the long axis names off the narrow left and right edges.
        polar={"bgcolor": "rgba(0,0,0,0)",
               "radialaxis": {"range": [0, 1], "showticklabels": False, "ticks": "",
                              "gridcolor": _GRID, "linecolor": _GRID},
               "angularaxis": {"rotation": 90, "direction": "clockwise", "gridcolor": _GRID,
                               "linecolor": _GRID}},
        legend={"orientation": "h", "y": -0.12}, margin={"l": 60, "r": 60, "t": 30, "b": 30},
        height=420)
    return fig


def player(track_id: str) -> None:
    """Spotify's embedded player where the browser can reach Spotify, else just the link.

    The page first shows the link; a script asks Spotify for the player and swaps it in only
    if that request succeeds, so an offline browser keeps the link and shows no error.
    """
    url = spotify_url(track_id)
    st.link_button("Open in Spotify", url, icon=":material/open_in_new:")
    if not _SPOTIFY_ID.match(track_id):  # not a Spotify id: nothing to embed
        return
    embed = f"https://open.spotify.com/embed/track/{track_id}"
    box = f"mr-player-{track_id}"
    st.html(f"""
<div id="{box}" class="mr-player"></div>
<script>
(() => {{
  const box = document.getElementById({json.dumps(box)});
  if (!box || !navigator.onLine) return;
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 4000);
  fetch({json.dumps(embed)}, {{mode: "no-cors", signal: abort.signal}}).then(() => {{
    const frame = document.createElement("iframe");
    frame.src = {json.dumps(embed)};
    frame.title = "Spotify player";
    frame.width = "100%";
    frame.height = "152";
    frame.loading = "lazy";
    frame.allow = "autoplay; clipboard-write; encrypted-media; fullscreen; picture-in-picture";
    frame.style.border = "0";
    frame.style.borderRadius = "12px";
    box.replaceChildren(frame);
  }}).catch(() => {{}});
}})();
</script>""", unsafe_allow_javascript=True)
