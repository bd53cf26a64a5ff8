"""Discover, the start page: search, seeds, mood knobs, results and why each song."""

from __future__ import annotations

from typing import Any

import streamlit as st

from musicrec.app import format as fmt
from musicrec.app import prompt_box, songlist, sounds, state, why
from musicrec.app.building import require_library
from musicrec.app.loading import LoadedLibrary
from musicrec.app.state import KNOBS, LIMIT_CHOICES, PER_ARTIST_CHOICES, DiscoverState, Knob, Seed
from musicrec.errors import MusicrecError
from musicrec.playlists import spotify_url
from musicrec.recommend import Recommendation, Recommendations
from musicrec.request import MAX_SEEDS

SEARCH_SONGS = 6
SEARCH_ARTISTS = 3
SIMILAR_ARTISTS = 6
ANY_FAMILY = -1  # the family picker's "any" (a selectbox shows None as no choice at all)
DIVERSITY_CHOICES = tuple(round(i / 10, 1) for i in range(11))
_RERUN_APP = "discover_rerun_app"
_WHY = "discover_why"
# Widget keys that mirror DiscoverState; removed to make the widgets re-read the state.
_WIDGET_KEYS = ("on_years", "years", "clean_only", "per_artist", "diversity", "limit", "family",
                *(f"on_{k.feature}" for k in KNOBS), *(f"target_{k.feature}" for k in KNOBS))


def render() -> None:
    loaded = require_library()
    s = state.discover()
    st.title("Discover")
    for note in state.take_url_notes():
        st.warning(note, icon=":material/link_off:")
    labels = _checked_seeds(loaded, s)
    _check_filters(loaded, s)
    _search(loaded)
    with st.expander("Or say it in words", icon=":material/auto_awesome:"):
        found = prompt_box.ask(loaded.lib, "discover", s.limit, "Find songs", remember=True)
        if found is not None:
            songlist.show(found.tracks, found.reading.prompt, "discover_prompt")
    sounds.upload_seed()
    _seed_chips(s, labels)
    with st.sidebar:
        _knobs(loaded, s)
    if s.seeds:
        _similar_artists(loaded, s)
        _family_picker(loaded, s)
    state.sync_url(s)
    if not s.seeds:
        _suggestions(loaded)
        return
    try:
        result = loaded.lib.recommend(s.request())
    except MusicrecError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    _results(loaded, s, result, labels)


def _default(key: str, value: Any) -> None:
    """Give a widget its value from the state, unless the widget already holds one."""
    if key not in st.session_state:
        st.session_state[key] = value


def _checked_seeds(loaded: LoadedLibrary, s: DiscoverState) -> dict[str, str]:
    """Labels of the seeds; seeds the library does not have are dropped with a warning."""
    labels = {}
    for seed in list(s.seeds):
        label = loaded.seed_label(seed)
        if label is None:
            s.remove_seed(seed)
            kind = {"track": "song", "artist": "artist", "sound": "sound"}[seed.kind]
            st.warning(f"The link asks for a {kind} `{seed.id}`, which is not in this "
                       "library or cannot be read, so it was left out.",
                       icon=":material/link_off:")
        else:
            labels[seed.id] = label
    return labels


def _check_filters(loaded: LoadedLibrary, s: DiscoverState) -> None:
    """Keep filters from a link within what this library has."""
    count = len(loaded.lib.families.families)
    if s.family is not None and not 0 <= s.family < count:
        st.warning(f"This library has sound families 0 to {count - 1}, not {s.family}; "
                   "showing every family.", icon=":material/link_off:")
        s.family = None
    span = loaded.year_range
    if s.years and span:
        lo, hi = (min(max(y, span[0]), span[1]) for y in s.years)
        s.years = (lo, hi)
    elif s.years:
        s.years = None
    for knob in KNOBS:
        if knob.feature in s.targets and not loaded.lib.has_column(knob.feature):
            st.warning(f"This library has no {fmt.label(knob.feature).lower()} data, so that "
                       "knob is off.", icon=":material/link_off:")
            del s.targets[knob.feature]


# --- search ---------------------------------------------------------------------------------

def _pick(seed: Seed, label: str) -> None:
    state.add_seed(seed, label)
    st.session_state["search"] = ""
    st.session_state[_RERUN_APP] = True


@st.fragment
def _search(loaded: LoadedLibrary) -> None:
    """As-you-type search; only this part reruns while typing."""
    if st.session_state.pop(_RERUN_APP, False):
        st.rerun()  # a pick changes the seeds, which the rest of the page shows
    query = st.text_input("Find songs or artists", key="search", live=True, type="search",
                          placeholder="Title and/or artist; typos are fine",
                          icon=":material/search:")
    if not query or not query.strip():
        return
    songs = loaded.lib.search(query, SEARCH_SONGS).items
    artists = loaded.lib.search_artists(query, SEARCH_ARTISTS).items
    if not songs and not artists:
        st.caption(f"Nothing matches “{query}”. Try fewer words or another spelling.")
        return
    with st.container(border=True, key="search_hits"):
        for song in songs:
            label = f"{song['name']} — {fmt.artists(song['artists'])}"
            _hit(label, f"{song.get('album') or ''} · {fmt.year(song.get('year'))}",
                 Seed("track", song["id"]), ":material/music_note:")
        for artist in artists:
            _hit(artist["name"], f"artist · {fmt.count(artist['tracks'])} songs",
                 Seed("artist", artist["id"]), ":material/person:")


def _hit(label: str, detail: str, seed: Seed, icon: str) -> None:
    text, action = st.columns([5, 1], vertical_alignment="center")
    text.markdown(f"**{fmt.markdown(label)}**  \n:gray[{fmt.markdown(detail)}]")
    action.button("Seed", key=f"pick_{seed.kind}_{seed.id}", icon=icon, on_click=_pick,
                  args=(seed, label), help="Use as a seed", width="stretch")


# --- seeds ----------------------------------------------------------------------------------

def _seed_chips(s: DiscoverState, labels: dict[str, str]) -> None:
    if not s.seeds:
        return
    st.caption(f"Your seeds ({len(s.seeds)} of {MAX_SEEDS}); click one to remove it")
    with st.container(horizontal=True, key="seed_chips"):
        for seed in s.seeds:
            icon = {"track": ":material/music_note:", "artist": ":material/person:",
                    "sound": ":material/graphic_eq:"}[seed.kind]
            st.button(labels[seed.id], key=f"chip_{seed.kind}_{seed.id}", icon=icon,
                      on_click=state.remove_seed, args=(seed,), help="Remove this seed",
                      type="primary")
        st.button("Clear", key="clear_seeds", icon=":material/close:", type="tertiary",
                  on_click=_clear_seeds)


def _similar_artists(loaded: LoadedLibrary, s: DiscoverState) -> None:
    """Artists who sound like the first seed's artist, one click from being seeds."""
    lib = loaded.lib
    seed = s.seeds[0]
    if seed.kind == "artist":
        artist_row = lib.artist_row_of(seed.id)
    elif seed.kind == "track" and (row := lib.row_of(seed.id)) is not None:
        artist_row = int(lib.primary_artist[row])
    else:
        return
    if artist_row is None:
        return
    found = lib.related_artists(artist_row, SIMILAR_ARTISTS)
    if not found:
        return
    st.caption(f"Artists who sound like {fmt.markdown(lib.artist_name(artist_row))}")
    with st.container(horizontal=True, key="similar_artists"):
        for artist in found:
            st.button(artist["name"], key=f"similar_{artist['id']}", icon=":material/person_add:",
                      on_click=state.add_seed, args=(Seed("artist", artist["id"]),
                                                     artist["name"]),
                      help=f"{fmt.count(artist['tracks'])} songs; add as a seed",
                      type="tertiary")


def _clear_seeds() -> None:
    state.discover().seeds.clear()


def _suggestions(loaded: LoadedLibrary) -> None:
    st.info("Pick up to 5 songs or artists you like with the search box, then turn the mood "
            "knobs in the sidebar. Not sure where to start? Try one of these:",
            icon=":material/lightbulb:")
    cols = st.columns(2)
    for i, track in enumerate(loaded.suggestions):
        label = f"{track['name']} — {fmt.artists(track['artists'])}"
        with cols[i % 2]:
            st.button(label, key=f"suggest_{track['id']}", icon=":material/add:",
                      on_click=state.add_seed, args=(Seed("track", track["id"]), label),
                      width="stretch")
            st.caption(track["family_name"])


# --- knobs ----------------------------------------------------------------------------------

def _knob(knob: Knob, s: DiscoverState) -> None:
    on_key, value_key = f"on_{knob.feature}", f"target_{knob.feature}"
    _default(on_key, knob.feature in s.targets)
    _default(value_key, s.targets.get(knob.feature, knob.start))
    on = st.toggle(fmt.label(knob.feature), key=on_key)
    value = st.select_slider(fmt.label(knob.feature), knob.options(), key=value_key,
                             format_func=lambda v, f=knob.feature: fmt.feature(f, v),
                             disabled=not on, label_visibility="collapsed")
    if on:
        s.targets[knob.feature] = value
    else:
        s.targets.pop(knob.feature, None)


def _reset() -> None:
    for key in _WIDGET_KEYS:
        st.session_state.pop(key, None)
    state.reset_discover(keep_seeds=True)


def _knobs(loaded: LoadedLibrary, s: DiscoverState) -> None:
    lib = loaded.lib
    st.header("Mood knobs")
    st.caption("Switch a knob on to aim for a value; off means no preference.")
    for knob in KNOBS:
        if not knob.more:
            _knob(knob, s)
    with st.expander("More knobs"):
        for knob in KNOBS:
            if knob.more and lib.has_column(knob.feature):
                _knob(knob, s)
    if s.targets:
        sounds.play(s.targets, key="play_knobs", label="Hear these knobs")
    st.header("Filters")
    span = loaded.year_range
    if span and span[0] < span[1]:
        _default("on_years", s.years is not None)
        _default("years", s.years or span)
        on = st.toggle("Only these years", key="on_years")
        years = st.slider("Years", span[0], span[1], key="years", disabled=not on,
                          label_visibility="collapsed")
        s.years = (int(years[0]), int(years[1])) if on else None
    if lib.has_column("explicit"):
        _default("clean_only", s.clean_only)
        s.clean_only = st.toggle("Clean songs only", key="clean_only",
                                 help="Leave out songs marked explicit")
    _default("per_artist", s.per_artist)
    s.per_artist = st.select_slider("Songs per artist", PER_ARTIST_CHOICES, key="per_artist",
                                    format_func=lambda c: "any" if c is None else str(c))
    _default("diversity", s.diversity)
    s.diversity = st.select_slider("Variety", DIVERSITY_CHOICES, key="diversity",
                                   format_func=fmt.percent,
                                   help="0%: the closest songs first; more: more varied songs")
    _default("limit", s.limit)
    s.limit = st.select_slider("Results", LIMIT_CHOICES, key="limit")
    st.button("Reset knobs and filters", on_click=_reset, icon=":material/restart_alt:")


def _family_picker(loaded: LoadedLibrary, s: DiscoverState) -> None:
    families = loaded.lib.families.families
    seed_rows = [r for seed in s.seeds if seed.kind == "track" for r in loaded.seed_rows(seed)]
    mine = list(dict.fromkeys(int(loaded.lib.families.labels[r]) for r in seed_rows))
    options = [ANY_FAMILY, *mine, *(f.id for f in families if f.id not in mine)]

    def describe(family_id: int) -> str:
        if family_id == ANY_FAMILY:
            return "Any sound family"
        family = families[family_id]
        note = " · your seed's family" if family_id in mine else ""
        return f"{family.name} ({fmt.count(family.size)} songs){note}"

    _default("family", ANY_FAMILY if s.family is None else s.family)
    chosen = st.selectbox("Songs from this family close to my seeds", options, key="family",
                          format_func=describe)
    s.family = None if chosen == ANY_FAMILY else chosen


# --- results --------------------------------------------------------------------------------

def _add_to_playlist(tracks: list[dict[str, Any]]) -> None:
    added = sum(state.add_to_playlist(t) for t in tracks)
    state.announce(f"Added {added} song{'s' * (added != 1)} to the playlist." if added
             else "Already in the playlist.", ":material/playlist_add_check:")


def _results(loaded: LoadedLibrary, s: DiscoverState, result: Recommendations,
             labels: dict[str, str]) -> None:
    if not result.tracks:
        st.info("No songs pass these filters. Widen the years, allow explicit songs or pick "
                "another family.", icon=":material/filter_alt_off:")
        return
    ids = [r.track["id"] for r in result.tracks]
    if st.session_state.get(_WHY) not in ids:
        st.session_state[_WHY] = ids[0]
    songs, side = st.columns([3, 2], gap="large")
    with songs:
        head, add_all = st.columns([3, 2], vertical_alignment="bottom")
        head.subheader(f"{len(result.tracks)} songs for you")
        add_all.button("Add all to playlist", icon=":material/playlist_add:", key="add_all",
                       on_click=_add_to_playlist, args=([r.track for r in result.tracks],),
                       width="stretch")
        for i, rec in enumerate(result.tracks):
            _result(i, rec)
    with side, st.container(key="why_panel"):
        chosen = next(r for r in result.tracks if r.track["id"] == st.session_state[_WHY])
        _why(loaded, s, chosen, labels)


def _choose(track_id: str) -> None:
    st.session_state[_WHY] = track_id


def _result(i: int, rec: Recommendation) -> None:
    t = rec.track
    track_id = t["id"]
    label = f"{t['name']} — {fmt.artists(t['artists'])}"
    with st.container(border=True, key=f"result_{i}"):
        title, score = st.columns([5, 1])
        title.markdown(f"**{i + 1}. {fmt.markdown(t['name'])}**  \n"
                       f"{fmt.markdown(fmt.artists(t['artists']))}")
        score.markdown(f"**{fmt.percent(max(rec.score, 0.0))}**  \n:gray[match]")
        album = fmt.markdown(t.get("album") or "")
        st.caption(f"{album} · {fmt.year(t.get('year'))} · {fmt.duration(t['duration_ms'])} · "
                   f"{fmt.markdown(t['family_name'])}")
        st.markdown(f":material/lightbulb: {fmt.markdown(rec.explanation)}")
        st.caption(" · ".join(f"{fmt.label(k.feature)} {fmt.feature(k.feature, t[k.feature])}"
                              for k in KNOBS if not k.more))
        with st.container(horizontal=True):
            st.button("More like this", key=f"more_{track_id}", icon=":material/add_circle:",
                      on_click=state.add_seed, args=(Seed("track", track_id), label))
            st.button("Playlist", key=f"playlist_{track_id}", icon=":material/playlist_add:",
                      on_click=_add_to_playlist, args=([t],))
            st.button("Why?", key=f"why_{track_id}", icon=":material/insights:",
                      on_click=_choose, args=(track_id,),
                      type="primary" if st.session_state[_WHY] == track_id else "secondary")
            st.link_button("Spotify", spotify_url(track_id), icon=":material/open_in_new:")


def _why(loaded: LoadedLibrary, s: DiscoverState, rec: Recommendation,
         labels: dict[str, str]) -> None:
    t = rec.track
    st.subheader("Why this song")
    st.markdown(f"**{fmt.markdown(t['name'])}** — {fmt.markdown(fmt.artists(t['artists']))}")
    st.caption(f"{fmt.markdown(rec.explanation)} · similarity "
               f"{fmt.percent(rec.similarity)} to {fmt.markdown(labels.get(rec.seed, rec.seed))}")
    st.plotly_chart(why.figure(loaded, s, rec, labels), key="why_chart",
                    config={"displayModeBar": False})
    why.player(t["id"])
