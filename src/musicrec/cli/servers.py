"""Commands that start a server: the REST API (`serve`) and the web app (`app`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from musicrec.cli.common import (
    LibraryOption,
    app,
    library_path,
)
from musicrec.config import Settings
from musicrec.errors import MusicrecError
from musicrec.terminal import console, user_errors


@app.command()
def serve(
    library: LibraryOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    token_file: Annotated[Path | None, typer.Option(
        "--token-file", help="File holding the bearer token every request must carry.")] = None,
    allow_remote_without_token: Annotated[bool, typer.Option(
        "--allow-remote-without-token",
        help="Serve a non-loopback address without a token.")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Worker processes (default: one per core).")] = None,
    public_url: Annotated[str | None, typer.Option(
        "--public-url", help="The address clients reach the API at, for hrefs (default "
        "http://HOST:PORT).")] = None,
    cors_origin: Annotated[list[str] | None, typer.Option(
        "--cors-origin", help="An origin whose browser apps may call the API (repeatable; * "
        "for any).")] = None,
    subsonic_upstream: Annotated[str | None, typer.Option(
        "--subsonic-upstream", help="Also be a Subsonic server at /rest for this Subsonic or "
        "OpenSubsonic server (URL): sonic answers from the library, everything else passed "
        "on (see docs/music-servers.md).", show_default=False)] = None,
) -> None:
    """Serve the REST API compatible with Spotify's Web API for the catalogue's songs (and,
    with --subsonic-upstream, a Subsonic proxy)."""
    from musicrec.api.server import serve as serve_api

    with user_errors():
        if subsonic_upstream:
            from musicrec.integrations.subsonic_client import check_url, extra

            extra("httpx", "subsonic")
            check_url(subsonic_upstream, "--subsonic-upstream")
        serve_api(Settings(library=library_path(library), host=host, port=port,
                           token_file=token_file,
                           allow_remote_without_token=allow_remote_without_token,
                           workers=workers, public_url=public_url,
                           cors_origins=cors_origin or [],
                           subsonic_upstream=subsonic_upstream))


@app.command("app")
def run_app(
    library: LibraryOption = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8501,
    address: Annotated[str, typer.Option(
        "--address", help="Address to listen on; 0.0.0.0 serves the whole network.")]
    = "localhost",
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Serve a non-loopback address (anyone who reaches it can use "
        "the app and build libraries of their own).")] = False,
    admin_token_file: Annotated[Path | None, typer.Option(
        "--admin-token-file", help="File holding a token that lets a visitor build the "
        "library every visitor sees (without it, uploads are per visitor).")] = None,
) -> None:
    """Start the web app (Streamlit) at http://ADDRESS:PORT; Ctrl+C stops it."""
    import os
    import sys

    from musicrec.api.server import is_loopback, read_token

    with user_errors():
        if not is_loopback(address) and not allow_remote:
            raise MusicrecError(f"--address {address} would open the app to other machines: "
                                "add --allow-remote if that is what you want")
        if admin_token_file is not None:
            read_token(admin_token_file)  # a missing or empty file is an error now, not later
    main = Path(__file__).parents[1] / "app" / "main.py"
    env = {**os.environ, "MUSICREC_LIBRARY": str(library_path(library))}
    if admin_token_file is not None:
        env["MUSICREC_ADMIN_TOKEN_FILE"] = str(admin_token_file.resolve())
    command = [sys.executable, "-m", "streamlit", "run", str(main),
               "--server.port", str(port), "--server.address", address,
               "--server.headless", "true", "--server.fileWatcherType", "none",
               "--server.maxUploadSize", "2048", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "minimal"]
    console.print(f"musicrec app on http://{address}:{port} "
                  f"(library {env['MUSICREC_LIBRARY']})", highlight=False)
    sys.stdout.flush()
    # Replace this process, so Ctrl+C and signals reach Streamlit directly.
    os.execve(sys.executable, command, env)
