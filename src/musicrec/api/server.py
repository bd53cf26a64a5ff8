"""Running the API with uvicorn: token file, safe binding, timeouts, worker processes.

uvicorn runs with its `httptools` parser and `uvloop` (the `uvicorn[standard]` extras) and one
worker per core by default. Two timeouts bound what a client can hold: an idle kept-alive
connection closes after `timeout_keep_alive` seconds (uvicorn's own), and a request's headers
must arrive within `timeout_headers` seconds of connecting or of the previous answer (uvicorn
has no such limit: a silent or byte-by-byte client held its connection forever). The requests
uvicorn's parser refuses before any app code runs (an unknown method, a malformed line) and
URLs over `MAX_URL_BYTES` are answered with Spotify's error object, as the app answers the
rest, not with uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import faulthandler
import gc
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from musicrec.api.app import create_app
from musicrec.config import Settings
from musicrec.errors import MusicrecError
from musicrec.library import LiveLibrary


def read_token(path: Path) -> str:
    """The bearer token in a file (a UTF-8 BOM and surrounding whitespace ignored).

    Only printable ASCII is a token: a client sends it in an HTTP header, so anything else (a
    BOM left in, a zero-width space, an accented letter) would make the right token fail.

    Raises:
        MusicrecError: the file cannot be read or holds no token.
    """
    try:
        token = path.read_text(encoding="utf-8-sig").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise MusicrecError(f"cannot read token file {path}: {exc}") from exc
    if not token or not (token.isascii() and token.isprintable()) or " " in token:
        raise MusicrecError(f"token file {path} must hold one token of printable ASCII "
                            "characters (no spaces)")
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


def app_from_settings(settings: Settings) -> FastAPI:
    """The API as `settings` describe it: its library folder and token file.

    Also the app factory of each worker process, which receives the parent's settings.
    """
    token = read_token(settings.token_file) if settings.token_file else None
    return create_app(LiveLibrary(settings.library_path(), warm=True), token,
                      public_url=settings.base_url(), cors_origins=settings.cors_origins,
                      subsonic_upstream=settings.subsonic_upstream)


class HeaderDeadline(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are not
    complete `timeout_headers` seconds after it connected or after its last answer."""

    _deadline: asyncio.TimerHandle | None = None

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        # set by `uvicorn_config`; an attribute of the config, so worker processes get it too
        self.timeout_headers: float = getattr(config, "timeout_headers", 10.0)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.timeout_headers, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


# The longest request target (path and query) served: the longest request the API needs (100
# ids in a query) is about 2.5 kB. Without a bound uvicorn buffered any URL, answering those over
# 64 kB (where httptools' URL parser stops) with a plain-text 400.
MAX_URL_BYTES = 8192


class _UrlTooLong(Exception):
    """Raised from the parser's URL callback: the parser stops, and uvicorn answers 400."""


class JsonRefusals(HeaderDeadline):
    """`HeaderDeadline`, also refusing a URL over `MAX_URL_BYTES` (414), and answering every
    request its parser refuses with Spotify's error object instead of uvicorn's plain text."""

    url = b""  # uvicorn sets it when a request begins; a refusal may come before

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            raise _UrlTooLong

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this inside its `except httptools.HttpParserError`, whose message
        # says what was wrong ("Invalid method encountered", "Invalid header token", ...).
        if len(self.url) > MAX_URL_BYTES:
            status, message = 414, f"the URL is longer than {MAX_URL_BYTES:,} bytes"
        else:
            status, message = 400, f"invalid HTTP request: {sys.exc_info()[1] or msg}"
        body = json.dumps({"error": {"status": status, "message": message}}).encode()
        head = [STATUS_LINE[status], *(name + b": " + value + b"\r\n"
                                       for name, value in self.server_state.default_headers),
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body), b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


# uvicorn's supervisor pings each worker and replaces one that does not answer within this
# time (default 5 s). A spawned worker first re-imports `musicrec.cli` (scikit-learn and all),
# then opens the library: under load that took longer than 5 s, so workers were killed and
# respawned in a loop (21 restarts in 20 s on the 2-core machine, ~140 rec/s served).
WORKER_HEALTHCHECK_S = 60


def uvicorn_config(settings: Settings, port: int, app: FastAPI | None = None) -> uvicorn.Config:
    """uvicorn's configuration for these settings: the given app, or one built in each worker
    process."""
    target: Any = app if app is not None else partial(app_from_settings, settings)
    config = uvicorn.Config(target, factory=app is None,
                            host=settings.host, port=port, workers=settings.worker_count(),
                            http=JsonRefusals, loop="uvloop",
                            timeout_keep_alive=settings.timeout_keep_alive, access_log=False,
                            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)
    config.timeout_headers = settings.timeout_headers  # type: ignore[attr-defined]
    return config


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


def serve(settings: Settings) -> None:
    """Serve the API until interrupted.

    Everything a user can get wrong (the token file, the address, the library) is checked
    before any worker starts, so it fails with one clear `MusicrecError`.

    Args:
        settings: library, host, port, token file, public URL, CORS origins, timeouts and
            workers (default one per core).
    """
    token = read_token(settings.token_file) if settings.token_file else None
    check_bind(settings.host, token, settings.allow_remote_without_token)
    # A fatal signal prints the Python stack on stderr, in every worker (inherited by fork):
    # e.g. the SIGBUS of a library file truncated while mapped (see `musicrec.artefacts`).
    # Not when stderr has no file descriptor (a test runner capturing it).
    with contextlib.suppress(OSError, ValueError):
        faulthandler.enable()
    songs = library_size(settings.library_path())
    sock = listening_socket(settings.host, settings.port)
    port = sock.getsockname()[1]  # the one chosen, if port was 0
    settings = settings.model_copy(update={"port": port})
    workers = settings.worker_count()
    docs = "" if token else " (docs at /docs)"
    message = (f"serving {songs:,} songs from {settings.library_path()} at "
               f"{settings.base_url()}v1/{docs} with {workers} "
               f"worker{'s' if workers > 1 else ''}")
    config = uvicorn_config(settings, port)
    logging.getLogger("uvicorn.error").info(message)
    if workers == 1:
        uvicorn.Server(config).run(sockets=[sock])
    elif hasattr(os, "fork"):
        Prefork(settings, sock, workers).run()
    else:  # no fork (Windows): uvicorn's own supervisor, which spawns workers
        Multiprocess(config, sockets=[sock]).run()


def library_size(path: Path) -> int:
    """The number of songs of the library at `path`, opened to check it and closed again.

    Raises:
        LibraryError: no usable library there.
    """
    songs = len(LiveLibrary(path).get())
    # A library is a reference cycle (it and its recommender point at each other): dropped,
    # it waits for a collection, its faiss index (326 MB at 1.2M songs) included. Before the
    # workers fork, `gc.freeze` kept it for good: PSS of 2 workers 1.50x one worker's.
    gc.collect()
    return songs


def settle_before_fork() -> None:
    """Leave the parent's memory as its forked workers should share it.

    Garbage is collected, then everything left is frozen (`gc.freeze`): the workers'
    collector never visits those objects, so it does not write to (and un-share) their pages.
    Arrow's allocator (mimalloc) hands the pages of freed buffers back: it does so only when
    it is used again, which the waiting parent never is, so the temporaries of opening (94 MB
    at 1.2M songs) stayed resident in the parent alone once each worker had dropped its copy.
    glibc's malloc likewise keeps the pages of its free chunks (17 MB): each worker allocating
    in them made its own copy, and the parent's stayed resident beside them.
    """
    gc.collect()
    gc.freeze()
    pa.default_memory_pool().release_unused()
    _trim_malloc()


def _trim_malloc() -> None:
    """Hand the pages of malloc's free chunks back to the system (glibc; elsewhere nothing)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class Prefork:
    """Worker processes forked from one that has built the app and opened the library.

    uvicorn's supervisor spawns fresh interpreters, each importing everything and loading the
    library again: 223 MB private per worker and 185 MB for the idle supervisor at 200k songs
    (PSS of 2 workers = 1.8x one). Forked after loading, the workers share the interpreter's
    and the library's pages copy-on-write. The parent only waits: it forwards SIGINT/SIGTERM
    to the workers and replaces a worker that dies. A replacement starts from the library the
    parent opened; when a file of it has since been truncated (what kills a worker with
    SIGBUS), `LiveLibrary` reopens it at the first request, which then answers 503.
    """

    def __init__(self, settings: Settings, sock: socket.socket, workers: int):
        self.settings = settings
        self.sock = sock
        self.workers = workers
        self.children: set[int] = set()
        self.stopping = False

    def _fork(self, app: FastAPI) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_DFL)
                config = uvicorn_config(self.settings, self.settings.port, app)
                uvicorn.Server(config).run(sockets=[self.sock])
            except BaseException:  # noqa: BLE001 - a worker must never return into the parent
                logging.getLogger("uvicorn.error").exception("worker failed")
                code = 1
            finally:
                os._exit(code)
        self.children.add(pid)
        logging.getLogger("uvicorn.error").info("started worker process [%d]", pid)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> None:
        app = app_from_settings(self.settings)  # the library opened once, before forking
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        settle_before_fork()
        for _ in range(self.workers):
            self._fork(app)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            self.children.discard(pid)
            if not self.stopping:
                logging.getLogger("uvicorn.error").warning(
                    "worker process [%d] %s; starting another", pid, _ending(status))
                time.sleep(1)  # a worker failing at once must not spin the machine
                self._fork(app)


def _ending(status: int) -> str:
    """How a process ended, from its `os.wait` status: "exited with code 1", "was killed by
    signal 7 (Bus error)"."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exited with code {code}"
    return f"was killed by signal {-code} ({signal.strsignal(-code)})"
