"""musicrec's playlists written to a Subsonic server, and refreshed in place.

Three kinds, each chosen by the caller:

- one per sound family, or per sub-family: its most central songs, then the songs the
  recommender finds from them inside it;
- a radio from each starred song: the song, then the station that follows it
  (`musicrec.radio.radio_next`, sequenced as `musicrec radio` is);
- "more like" each of the user's own playlists: songs that continue it
  (`musicrec.flows.continue_playlist`).

Each playlist musicrec makes carries its key in its comment (`[musicrec:KEY]`). A sync
replaces the songs of the user's playlist with the same key (its id stays, so clients that
pinned it keep it) and creates the others; a playlist without the mark, or owned by someone
else, is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from musicrec.flows import ContinueRequest, continue_playlist, parse
from musicrec.integrations.subsonic_client import SubsonicClient
from musicrec.radio import RadioState, radio_next
from musicrec.request import MAX_LIMIT, MAX_SEEDS, RecommendRequest

if TYPE_CHECKING:
    from musicrec.families import Family
    from musicrec.library import Library

NOTE = "made by musicrec subsonic-sync, which replaces its songs"
_MARK = re.compile(r"\[musicrec:(.+)\]\s*$")
MIN_SONGS = 2
# How many of its family's songs are asked for per song a sub-family's playlist needs.
SUB_OVERSHOOT = 4


@dataclass(frozen=True)
class Wanted:
    """A playlist to have on the server: its key (in the comment), name and songs (ids)."""

    key: str
    name: str
    song_ids: tuple[str, ...]

    @property
    def comment(self) -> str:
        return f"{NOTE} [musicrec:{self.key}]"


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    # Playlists on the server that are not musicrec's, left as they were.
    untouched: int = 0


def key_of(playlist: dict[str, Any]) -> str | None:
    """The musicrec key in a playlist's comment, or None for a playlist musicrec did not
    make."""
    found = _MARK.search(str(playlist.get("comment") or ""))
    return found.group(1) if found else None


def family_playlists(lib: Library, size: int, subfamilies: bool = False) -> list[Wanted]:
    """One playlist per sound family (or per sub-family): its central songs, then more from
    inside it."""
    level = lib.families.subfamilies if subfamilies else lib.families.families
    return [_family(lib, f, size) for f in level if f.size >= MIN_SONGS]


def _family(lib: Library, family: Family, size: int) -> Wanted:
    seeds = family.central_rows[:min(MAX_SEEDS, size)]
    ids = [t["id"] for t in lib.tracks(seeds, ["id"])]
    if size > len(ids):
        # The filter knows top-level families; a sub-family's songs are picked from its
        # family's, of which the recommender is asked for a few times as many.
        sub = family.parent is not None
        found = lib.recommend(RecommendRequest(
            seed_tracks=ids, families=[family.parent if sub else family.id],
            limit=min(MAX_LIMIT, (size - len(ids)) * (SUB_OVERSHOOT if sub else 1)),
            max_per_artist=None)).tracks
        if sub:
            found = [r for r in found if lib.families.sublabels[r.track["row"]] == family.id]
        ids += [r.track["id"] for r in found[:size - len(ids)]]
    return Wanted(f"family:{family.name}", f"musicrec · {family.name}", tuple(ids))


def radio_playlists(lib: Library, starred: Sequence[dict[str, Any]],
                    size: int) -> list[Wanted]:
    """A radio from each starred song the library knows."""
    wanted = []
    for song in starred:
        row = lib.row_of(str(song.get("id")))
        if row is None:
            continue
        rows = [row, *radio_next(lib, RadioState(seeds=[row]), count=max(1, size - 1))]
        wanted.append(Wanted(f"radio:{song['id']}",
                             f"musicrec radio · {song.get('title') or lib.label(row)}",
                             tuple(t["id"] for t in lib.tracks(rows, ["id"]))))
    return wanted


def more_like_playlists(lib: Library, client: SubsonicClient, playlists: Sequence[dict[str, Any]],
                        user: str, size: int) -> list[Wanted]:
    """Songs that continue each of the user's own playlists (of songs the library knows)."""
    wanted = []
    for playlist in playlists:
        if key_of(playlist) is not None or playlist.get("owner") not in (None, user):
            continue
        songs = client.playlist_songs(str(playlist["id"]))
        rows = [r for r in lib.rows_of([str(s.get("id")) for s in songs]) if r is not None]
        if not rows:
            continue
        added = continue_playlist(lib, rows, parse(ContinueRequest, count=size))
        wanted.append(Wanted(f"more-like:{playlist['id']}",
                             f"musicrec · more like {playlist.get('name') or playlist['id']}",
                             tuple(t["id"] for t in lib.tracks(added, ["id"]))))
    return wanted


def sync(client: SubsonicClient, user: str, wanted: Sequence[Wanted]) -> SyncReport:
    """Create or refresh the wanted playlists; musicrec's own (by key and owner) are
    replaced in place, every other playlist left alone."""
    report = SyncReport()
    mine: dict[str, dict[str, Any]] = {}
    for playlist in client.playlists():
        key = key_of(playlist)
        if key is not None and playlist.get("owner") in (None, user):
            mine.setdefault(key, playlist)
        else:
            report.untouched += 1
    for want in wanted:
        existing = mine.get(want.key)
        if existing is None:
            playlist_id = client.create_playlist(want.name, want.song_ids)
            client.update_playlist(playlist_id, comment=want.comment)
            report.created.append(want.name)
        else:
            client.replace_playlist(str(existing["id"]), want.song_ids)
            client.update_playlist(str(existing["id"]), name=want.name, comment=want.comment)
            report.refreshed.append(want.name)
    return report
