"""MPD's queue kept a few songs ahead by the radio (`musicrec mpd-radio`).

The library is analysed from MPD's music folder (`musicrec build --mpd-music-dir DIR`), so
its track ids are MPD's file URIs. Whenever fewer than `ahead` songs follow the one playing,
the station adds the next ones: `musicrec.radio.radio_next`, sequenced as `musicrec radio`
is, never a song already in the queue. The station starts from the song playing (or, when
nothing plays, the last one queued) and starts again from a song the listener picks that is
not one it added.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from musicrec.errors import InvalidQueryError
from musicrec.radio import RECENT_ARTISTS, RadioState, radio_next

if TYPE_CHECKING:
    from musicrec.library import Library


@dataclass
class Step:
    """What one look at the queue did: the URIs added, or why none could be."""

    added: list[str] = field(default_factory=list)
    note: str = ""


class MpdRadio:
    """A station over one MPD connection (a `mpd.MPDClient`, already connected)."""

    def __init__(self, lib: Library, client: Any, ahead: int = 3,
                 artist_gap: int = RECENT_ARTISTS):
        self.lib = lib
        self.client = client
        self.ahead = ahead
        self.artist_gap = artist_gap
        self.state: RadioState | None = None

    def step(self) -> Step:
        """Top the queue up to `ahead` songs after the one playing."""
        status = self.client.status()
        queue = [str(s.get("file", "")) for s in self.client.playlistinfo()]
        if not queue:
            return Step(note="the queue is empty: add a song to start the radio")
        position = int(status.get("song", len(queue) - 1))
        missing = self.ahead - (len(queue) - position - 1)
        if missing <= 0:
            return Step()
        rows = self.lib.rows_of(queue)
        current = rows[position]
        if current is None:
            return Step(note=f"{queue[position]} is not in the library (build it with "
                             "--mpd-music-dir)")
        if self.state is None or current not in self.state.played:
            # A song the station did not add: a new station from it.
            self.state = RadioState(seeds=[current], artist_gap=self.artist_gap)
        known = [r for r in rows[:position + 1] if r is not None]
        self.state.played = list(dict.fromkeys([*self.state.played, *known]))
        try:
            added = radio_next(self.lib, self.state, count=missing)
        except InvalidQueryError as exc:
            return Step(note=str(exc))
        uris = [t["id"] for t in self.lib.tracks(added, ["id"])]
        for uri in uris:
            self.client.add(uri)
        return Step(added=uris)


def run(radio: MpdRadio, poll_s: float = 2.0, steps: int | None = None,
        report: Any = print) -> None:
    """Look at the queue every `poll_s` seconds (`steps` times, or until interrupted),
    reporting each song added and each new reason why none could be."""
    last_note = ""
    done = 0
    while steps is None or done < steps:
        step = radio.step()
        for uri in step.added:
            report(f"queued {uri}")
        if step.note and step.note != last_note:
            report(step.note)
        last_note = step.note
        done += 1
        if steps is None or done < steps:
            time.sleep(poll_s)
