"""The API served by uvicorn on a loopback port: connection timeouts, seen from a raw socket."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import running_server

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def server(small_library_path: Path) -> Iterator[tuple[str, int]]:
    with running_server(small_library_path, timeout_keep_alive=TIMEOUT,
                        timeout_headers=TIMEOUT) as address:
        yield address


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


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_forked_workers_are_replaced_and_stopped(small_library_path: Path,
                                                 tmp_path: Path) -> None:
    """`--workers 2` forks two workers after loading; a killed one is replaced, and SIGTERM
    to the parent alone stops them all."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import urllib.request

    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "musicrec.cli", "serve", "--library",
             str(small_library_path), "--port", "0", "--workers", "2"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(re.findall(r"Application startup complete", log.read_text())) < 2:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        base = re.search(r"at (http://127\.0\.0\.1:\d+)/v1/", log.read_text())[1]
        workers = _children(process.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        while "starting another" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        while len(_children(process.pid)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        with urllib.request.urlopen(f"{base}/health", timeout=5) as answer:
            assert answer.status == 200
        survivors = _children(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        for pid in survivors:
            assert not Path(f"/proc/{pid}").exists() or \
                (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    finally:
        # The whole process group: workers must not outlive a test that failed half-way.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_checking_the_library_leaves_no_copy_of_it(small_library_path: Path) -> None:
    """`serve` opens the library to check it before any worker starts: that library must be
    gone when it returns, not left for a later collection (or frozen by `gc.freeze` in the
    parent of forked workers, with its index)."""
    import gc

    from musicrec.api.server import library_size
    from musicrec.library import Library

    def opened() -> int:
        return sum(1 for o in gc.get_objects()
                   if isinstance(o, Library) and o.path == small_library_path.expanduser())

    before = opened()
    assert library_size(small_library_path) > 0
    assert opened() == before


def test_settling_before_fork_collects_garbage_before_freezing() -> None:
    """Garbage made before the fork is collected, not frozen into every worker."""
    import gc
    import weakref

    from musicrec.api.server import settle_before_fork

    class Node:
        pass

    node = Node()
    node.self = node  # type: ignore[attr-defined]  # a cycle: only a collection frees it
    gone = weakref.ref(node)
    del node
    try:
        settle_before_fork()
        assert gone() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
