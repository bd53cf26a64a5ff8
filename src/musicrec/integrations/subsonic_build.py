"""A library from a Subsonic server: every song listed, downloaded a few at a time, analysed
once (`musicrec.integrations.audio_library`), with the server's ids, titles, artists,
albums, years and genres."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from musicrec.build import BuildConfig, BuildProgress
from musicrec.integrations.audio_library import AudioBuild, Song, build_audio_library
from musicrec.integrations.subsonic_client import SubsonicClient


def song_of(child: dict[str, Any]) -> Song:
    """A server's `Child` as a song to analyse (a missing title falls back to the file's
    name; a missing artist to "unknown artist", as tags do in `musicrec analyze`)."""
    year = child.get("year")
    path = str(child.get("path") or "")
    return Song(id=str(child["id"]),
                title=str(child.get("title") or Path(path).stem or child["id"]),
                artist=str(child.get("artist") or "unknown artist"),
                album=str(child.get("album") or ""),
                year=int(year) if isinstance(year, int) and year > 0 else None,
                genre=str(child.get("genre") or ""),
                size=int(child.get("size") or -1),
                suffix=str(child.get("suffix") or Path(path).suffix.lstrip(".")))


def build_from_subsonic(client: SubsonicClient, dest: Path, cache_dir: Path, *,
                        workers: int | None = None, downloads: int = 4,
                        config: BuildConfig | None = None,
                        progress: BuildProgress | None = None) -> AudioBuild:
    """Build the library at `dest` from every song of the server `client` talks to.

    Raises:
        SubsonicError: the server refused (e.g. wrong credentials, code 40).
        MusicrecError: the server cannot be reached, lists no songs, or none could be
            analysed.
    """
    client.ping()
    songs = list({s.id: s for s in map(song_of, client.songs())}.values())

    def download(song: Song, scratch: Path) -> Path:
        name = hashlib.sha1(song.id.encode()).hexdigest()
        suffix = "".join(c for c in song.suffix if c.isalnum())[:8] or "audio"
        path = scratch / f"{name}.{suffix}"
        client.download(song.id, path)
        return path

    return build_audio_library(songs, download, dest, cache_dir, origin=client.url,
                               workers=workers, fetchers=downloads, config=config,
                               progress=progress)
