"""Commands for the music servers people use: the build from a Subsonic server or MPD's
music folder (options of `musicrec build`), `subsonic-sync` and `mpd-radio`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from musicrec.build import BuildConfig, BuildProgress
from musicrec.errors import MusicrecError
from musicrec.terminal import console, err_console

if TYPE_CHECKING:
    from musicrec.integrations.audio_library import AudioBuild


def build_elsewhere(dest: Path, config: BuildConfig, progress: BuildProgress, *,
                    subsonic: str | None, user: str | None, password_file: Path | None,
                    music_dir: Path | None, workers: int | None) -> AudioBuild:
    """`musicrec build --subsonic URL` or `--mpd-music-dir DIR`: the songs analysed (those
    the cache lacks) and built into the library at `dest`."""
    from musicrec.integrations.audio_library import build_from_folder, default_cache

    if subsonic and music_dir:
        raise MusicrecError("give --subsonic or --mpd-music-dir, not both")
    if music_dir is not None:
        return build_from_folder(music_dir, dest, default_cache(dest), workers=workers,
                                 config=config, progress=progress)
    with subsonic_client(subsonic or "", user, password_file) as client:
        from musicrec.integrations.subsonic_build import build_from_subsonic

        return build_from_subsonic(client, dest, default_cache(dest), workers=workers,
                                   config=config, progress=progress)


def subsonic_client(url: str, user: str | None, password_file: Path | None):  # noqa: ANN201
    """A client for the server at `url`, the password read from its file."""
    from musicrec.integrations.subsonic_client import SubsonicClient, read_password

    if not user or password_file is None:
        raise MusicrecError("a Subsonic server needs --user and --password-file")
    return SubsonicClient(url, user, read_password(password_file))


def print_audio_build(built: AudioBuild) -> None:
    """What the analysis did, after the build's report: counts, then each failure."""
    console.print(f"analysed {built.analysed} song(s), {built.reused} from the cache",
                  highlight=False)
    for song, reason in built.failures:
        err_console.print(f"[yellow]not analysed:[/] {escape(song.title or song.id)}: "
                          f"{escape(reason)}", highlight=False, soft_wrap=True)
