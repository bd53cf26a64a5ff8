"""`musicrec subsonic-sync` against a real supysonic: musicrec's playlists are created, then
refreshed in place; a playlist musicrec did not make is left as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from musicrec.cli import app
from musicrec.integrations.subsonic_client import SubsonicClient
from musicrec.integrations.subsonic_sync import family_playlists, key_of
from musicrec.library import Library

pytestmark = [pytest.mark.audio, pytest.mark.slow]


def test_sync_creates_refreshes_and_leaves_other_playlists_alone(
        subsonic_server: Any, subsonic_library: Path) -> None:
    lib = Library.open(subsonic_library)
    ids = [t["id"] for t in lib.tracks(list(range(len(lib))), ["id"])]
    with SubsonicClient(subsonic_server.url, subsonic_server.user,
                        subsonic_server.password) as client:
        mine = client.create_playlist("Road trip", ids[:3])
        client.update_playlist(mine, comment="my own")
        client.call("star", id=ids[4])
        args = ["subsonic-sync", "--subsonic", subsonic_server.url, "--user", "alice",
                "--password-file", str(subsonic_server.password_file), "--library",
                str(subsonic_library), "--size", "8"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        made = {key_of(p): p for p in client.playlists() if key_of(p)}
        families = [k for k in made if k.startswith("family:")]
        assert len(families) == len(lib.families.families)
        assert f"radio:{ids[4]}" in made and f"more-like:{mine}" in made
        radio = [s["id"] for s in client.playlist_songs(made[f"radio:{ids[4]}"]["id"])]
        assert radio[0] == ids[4] and len(radio) == 8 and len(set(radio)) == 8
        more = [s["id"] for s in client.playlist_songs(made[f"more-like:{mine}"]["id"])]
        assert len(more) == 8 and not set(more) & set(ids[:3])
        assert f"{len(made)} created, 0 refreshed; 1 other playlist(s)" in first.output

        second = CliRunner().invoke(app, args + ["--size", "5"])
        assert second.exit_code == 0, second.output
        again = {key_of(p): p for p in client.playlists() if key_of(p)}
        assert {k: p["id"] for k, p in again.items()} == {k: p["id"] for k, p in made.items()}
        assert len(client.playlist_songs(again[f"radio:{ids[4]}"]["id"])) == 5
        assert f"0 created, {len(made)} refreshed" in second.output
        # The user's own playlist: same songs, same comment, not marked.
        own = next(p for p in client.playlists() if p["id"] == mine)
        assert own["comment"] == "my own" and own["name"] == "Road trip"
        assert [s["id"] for s in client.playlist_songs(mine)] == ids[:3]


def test_a_subfamily_playlist_holds_only_its_subfamily(small_library: Library) -> None:
    families = small_library.families
    wanted = family_playlists(small_library, 12, subfamilies=True)
    assert len(wanted) == sum(f.size >= 2 for f in families.subfamilies) > len(families.families)
    for playlist, sub in zip(wanted, (f for f in families.subfamilies if f.size >= 2),
                             strict=True):
        rows = small_library.rows_of(list(playlist.song_ids))
        assert {int(families.sublabels[r]) for r in rows} == {sub.id}
        assert len(playlist.song_ids) == min(12, sub.size)
        assert len(set(playlist.song_ids)) == len(playlist.song_ids)
