"""The API served by uvicorn on a loopback port: connection timeouts, seen from a raw socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from musicrec.api.server import listening_socket, uvicorn_config
from musicrec.config import Settings

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def server(small_library_path: Path) -> Iterator[tuple[str, int]]:
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    settings = Settings(library=small_library_path, port=port, workers=1,
                        timeout_keep_alive=TIMEOUT, timeout_headers=TIMEOUT)
    server = uvicorn.Server(uvicorn_config(settings, port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(10)


def _closed_after(conn: socket.socket, most: float) -> float:
    """Seconds until the server closes `conn` (reads until EOF); fails after `most`."""
    start = time.monotonic()
    conn.settimeout(most)
    while conn.recv(65536):
        pass
    return time.monotonic() - start


def test_a_silent_connection_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as conn:
        assert _closed_after(conn, 5 * TIMEOUT) < 3 * TIMEOUT


def test_slow_headers_are_cut_off(server: tuple[str, int]) -> None:
    """A client trickling its headers (one byte every 0.2 s) loses the connection."""
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    with socket.create_connection(server) as conn:
        start = time.monotonic()
        closed = False
        for byte in request:
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            conn.settimeout(0.2)
            try:
                if conn.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed and time.monotonic() - start < 3 * TIMEOUT


def test_an_idle_kept_alive_connection_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(5)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        assert _closed_after(conn, 5 * TIMEOUT) < 3 * TIMEOUT


def test_head_over_http(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as conn:
        conn.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        conn.settimeout(5)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and body == b""
