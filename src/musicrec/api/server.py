"""Running the API with uvicorn: token file, safe binding, one or several worker processes."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from musicrec.api.app import create_app
from musicrec.config import Settings
from musicrec.errors import MusicrecError
from musicrec.library import Library

LIBRARY_ENV = "MUSICREC_LIBRARY"
TOKEN_FILE_ENV = "MUSICREC_TOKEN_FILE"


def read_token(path: Path) -> str:
    """The bearer token in a file (surrounding whitespace ignored).

    Raises:
        MusicrecError: the file cannot be read or holds no token.
    """
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise MusicrecError(f"cannot read token file {path}: {exc}") from exc
    if not token or any(c.isspace() for c in token):
        raise MusicrecError(f"token file {path} must hold one token (no spaces)")
    return token


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to a public address


def check_bind(host: str, token: str | None, allow_remote_without_token: bool) -> None:
    """Refuse to serve beyond this machine without a token, unless explicitly allowed.

    Raises:
        MusicrecError: `host` is not a loopback address, there is no token and no permission.
    """
    if token is None and not allow_remote_without_token and not is_loopback(host):
        raise MusicrecError(
            f"--host {host} would let other machines use the API without a token: give "
            "--token-file FILE, or --allow-remote-without-token if that is what you want")


def app_from_env() -> FastAPI:
    """App factory for `uvicorn --factory` (one per worker process).

    Reads the library folder from MUSICREC_LIBRARY (or the default) and the token file, if
    any, from MUSICREC_TOKEN_FILE.
    """
    token_file = os.environ.get(TOKEN_FILE_ENV)
    token = read_token(Path(token_file)) if token_file else None
    return create_app(Library.open(Settings().library_path()), token)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for worker processes to share.

    uvicorn's own (`--workers N`) is created with protocol 0, and asyncio only turns on
    TCP_NODELAY for accepted sockets whose protocol is TCP, so each answer on a kept-alive
    connection then waits ~40 ms for a delayed ACK (uvicorn issue 3149; measured here: 360
    instead of 7,000 trivial requests/s). getaddrinfo gives the protocol explicitly.

    Raises:
        MusicrecError: the address cannot be resolved or bound.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise MusicrecError(f"cannot listen on {host}:{port}: {exc}") from exc
    sock.set_inheritable(True)
    return sock


def serve(library: Path, host: str, port: int, token_file: Path | None = None,
          allow_remote_without_token: bool = False, workers: int = 1) -> None:
    """Serve the API until interrupted.

    Everything a user can get wrong (the token file, the address, the library) is checked
    before any worker starts, so it fails with one clear `MusicrecError`.

    Args:
        library: The library folder; every worker opens it (memory-mapped, so they share it).
        workers: Processes answering requests; one per core uses the whole machine.
    """
    token = read_token(token_file) if token_file else None
    check_bind(host, token, allow_remote_without_token)
    lib = Library.open(library)
    sock = listening_socket(host, port)
    port = sock.getsockname()[1]  # the one chosen, if port was 0
    shown_host = f"[{host}]" if ":" in host else host
    message = (f"serving {len(lib):,} songs from {library} at http://{shown_host}:{port}/v1/ "
               f"(docs at /docs) with {workers} worker{'s' if workers > 1 else ''}")
    if workers == 1:
        config = uvicorn.Config(create_app(lib, token), host=host, port=port)
        logging.getLogger("uvicorn.error").info(message)
        uvicorn.Server(config).run(sockets=[sock])
        return
    del lib  # each worker opens its own
    os.environ[LIBRARY_ENV] = str(library)
    os.environ.pop(TOKEN_FILE_ENV, None)
    if token_file:
        os.environ[TOKEN_FILE_ENV] = str(token_file)
    config = uvicorn.Config(f"{__name__}:app_from_env", factory=True, host=host, port=port,
                            workers=workers)
    logging.getLogger("uvicorn.error").info(message)
    Multiprocess(config, sockets=[sock]).run()
