"""Commands for the music servers people use: the build from a Subsonic server or MPD's
music folder (options of `musicrec build`), `subsonic-sync` and `mpd-radio`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from musicrec.build import BuildConfig, BuildProgress
from musicrec.cli.common import LibraryOption, app, library_path
from musicrec.errors import MusicrecError
from musicrec.terminal import console, err_console, user_errors

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
    from musicrec.integrations.subsonic_client import SubsonicClient, check_url, read_password

    check_url(url, "--subsonic")
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


SubsonicOption = Annotated[str, typer.Option("--subsonic", help="The Subsonic or OpenSubsonic "
                                             "server (URL).", show_default=False)]
UserOption = Annotated[str, typer.Option("--user", help="Subsonic user name.",
                                         show_default=False)]
PasswordOption = Annotated[Path, typer.Option("--password-file", help="File holding the "
                                              "Subsonic password.", show_default=False)]


@app.command("subsonic-sync")
def subsonic_sync(
    subsonic: SubsonicOption,
    user: UserOption,
    password_file: PasswordOption,
    library: LibraryOption = None,
    families: Annotated[bool, typer.Option(
        "--families/--no-families", help="A playlist per sound family.")] = True,
    subfamilies: Annotated[bool, typer.Option(
        "--subfamilies/--no-subfamilies", help="A playlist per sound sub-family.")] = False,
    radios: Annotated[bool, typer.Option(
        "--radios/--no-radios", help="A radio from each starred song.")] = True,
    more_like: Annotated[bool, typer.Option(
        "--more-like/--no-more-like", help="\"More like\" each of your playlists.")] = True,
    size: Annotated[int, typer.Option("--size", min=3, max=100,
                                      help="Songs per playlist.")] = 25,
) -> None:
    """Create or refresh musicrec's playlists on a Subsonic server (marked as musicrec's in
    their comment and replaced in place); playlists musicrec did not make are never
    touched. The library must be built from that server (build --subsonic)."""
    from musicrec.integrations import subsonic_sync as playlists
    from musicrec.library import Library

    with user_errors():
        lib = Library.open(library_path(library))
        with subsonic_client(subsonic, user, password_file) as client:
            client.ping()
            wanted = playlists.family_playlists(lib, size) if families else []
            if subfamilies:
                wanted += playlists.family_playlists(lib, size, subfamilies=True)
            if radios:
                wanted += playlists.radio_playlists(lib, client.starred_songs(), size)
            if more_like:
                wanted += playlists.more_like_playlists(lib, client, client.playlists(), user,
                                                        size)
            report = playlists.sync(client, user, wanted)
    for name in report.created:
        console.print(f"created   {escape(name)}", highlight=False)
    for name in report.refreshed:
        console.print(f"refreshed {escape(name)}", highlight=False)
    console.print(f"{len(report.created)} created, {len(report.refreshed)} refreshed; "
                  f"{report.untouched} other playlist(s) left untouched", highlight=False)


@app.command("mpd-radio")
def mpd_radio(
    library: LibraryOption = None,
    host: Annotated[str, typer.Option("--host", help="MPD's address.")] = "localhost",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 6600,
    ahead: Annotated[int, typer.Option(
        "--ahead", min=1, max=50, help="Songs to keep queued after the one playing.")] = 3,
    artist_gap: Annotated[int, typer.Option(
        "--artist-gap", min=0, max=200, help="No artist again within this many songs.")]
    = 50,
    poll: Annotated[float, typer.Option(
        "--poll", min=0.2, max=600, help="Seconds between looks at the queue.")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Top the queue up once and stop.")]
    = False,
) -> None:
    """Keep MPD's queue a few songs ahead with songs that fit what is playing (the radio's
    songs and order). The library must be built from MPD's music folder
    (build --mpd-music-dir); Ctrl+C stops."""
    from musicrec.integrations.mpd_radio import MpdRadio, run
    from musicrec.integrations.subsonic_client import extra
    from musicrec.library import Library

    with user_errors():
        lib = Library.open(library_path(library))
        client = extra("mpd", "mpd").MPDClient()
        try:
            client.connect(host, port)
        except OSError as exc:
            raise MusicrecError(f"cannot reach MPD at {host}:{port}: "
                                f"{exc.strerror or exc}") from exc
        radio = MpdRadio(lib, client, ahead=ahead, artist_gap=artist_gap)
        try:
            run(radio, poll, steps=1 if once else None,
                report=lambda line: console.print(escape(line), highlight=False))
        except KeyboardInterrupt:
            pass
        finally:
            client.disconnect()
