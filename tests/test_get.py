"""`musicrec get`: the real huggingface_hub client against a Hub on loopback, kagglehub's
download function patched to serve a fixture; failures are one line and keep the library."""

from __future__ import annotations

import ast
import hashlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

from musicrec.cli import app
from musicrec.errors import CatalogueError, DownloadError
from musicrec.get import CATALOGUES, get_catalogue

pytest.importorskip("huggingface_hub")
pytest.importorskip("kagglehub")

HF = CATALOGUES["spotify-tracks"]
HF_PATH = f"/datasets/{HF.repo}/resolve/main/{HF.filename}"


def hf_schema(kaggle_csv: Path, rows: int) -> bytes:
    """The Kaggle-schema fixture rewritten in the Hugging Face dataset's layout: an unnamed
    index column, artists joined by ';', a genre per song."""
    songs = pd.read_csv(kaggle_csv, nrows=rows)
    out = pd.DataFrame({
        "track_id": songs["id"],
        "artists": [";".join(ast.literal_eval(a)) for a in songs["artists"]],
        "album_name": songs["album"], "track_name": songs["name"],
        "popularity": (songs.index * 7) % 100, "duration_ms": songs["duration_ms"],
        "explicit": songs["explicit"]})
    for column in ("danceability", "energy", "key", "loudness", "mode", "speechiness",
                   "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                   "time_signature"):
        out[column] = songs[column]
    out["track_genre"] = ["acoustic", "chill", "techno", "jazz"] * (rows // 4)
    return out.to_csv().encode()


class Hub(http.server.BaseHTTPRequestHandler):
    """Just enough of the Hub's file endpoint for `hf_hub_download`: HEAD with the commit and
    etag headers, GET with the bytes; `status` other than 200 answers that error."""

    body = b""
    status = 200

    def _head(self) -> bool:
        if self.status != 200 or self.path != HF_PATH:
            code = self.status if self.status != 200 else 404
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Error-Code", "RepoNotFound" if code == 404 else "")
            self.end_headers()
            return False
        self.send_response(200)
        self.send_header("X-Repo-Commit", "a" * 40)
        self.send_header("ETag", '"' + hashlib.sha256(self.body).hexdigest() + '"')
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        return True

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._head()

    def do_GET(self) -> None:  # noqa: N802
        if self._head():
            self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub retries network errors and 5xx five times over 23 s; the same retries
    without the waiting."""
    import huggingface_hub.utils._http as http_utils

    clock = SimpleNamespace(sleep=lambda seconds: None, time=time.time, monotonic=time.monotonic)
    monkeypatch.setattr(http_utils, "time", clock)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Hub]]:
    """A Hub on a loopback port, named by HF_ENDPOINT, with a private cache."""
    import huggingface_hub.constants

    handler = type("TestHub", (Hub,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    yield handler
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hf_body(small_csv: Path) -> bytes:
    return hf_schema(small_csv, 1200)


def test_spotify_tracks_downloads_and_builds(hub: type[Hub], hf_body: bytes,
                                             tmp_path: Path) -> None:
    from musicrec.library import Library

    hub.body = hf_body
    report = get_catalogue("spotify-tracks", tmp_path / "lib")
    assert report.rows_kept == 1200
    lib = Library.open(tmp_path / "lib")
    source = lib.manifest.source
    assert source.origin == "huggingface:maharshipandya/spotify-tracks-dataset/dataset.csv"
    assert source.sha256 == hashlib.sha256(hf_body).hexdigest()
    assert "genre" in lib.manifest.columns and "popularity" in lib.manifest.columns
    first = lib.tracks([0])[0]
    assert first["artists"] and ";" not in " ".join(first["artists"])


@pytest.mark.parametrize(("status", "words"), [
    (401, r"refused \(HTTP 401\)"), (403, r"refused \(HTTP 403\)"), (404, "not found"),
    (500, "HTTP 500")])
def test_hub_errors_are_one_line_and_keep_the_library(
        hub: type[Hub], status: int, words: str, small_library_path: Path,
        tmp_path: Path) -> None:
    hub.status = status
    with pytest.raises(DownloadError, match=words) as error:
        get_catalogue("spotify-tracks", small_library_path)
    assert "\n" not in str(error.value)
    assert (small_library_path / "manifest.json").is_file()


def test_offline_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub.constants

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(DownloadError, match="cannot reach the hub"):
        get_catalogue("spotify-tracks", tmp_path / "lib")
    assert not (tmp_path / "lib").exists()


def test_a_changed_schema_is_one_line_and_keeps_the_library(
        hub: type[Hub], small_library_path: Path) -> None:
    before = (small_library_path / "manifest.json").read_bytes()
    hub.body = b"track_id,title,colour\n1,a,red\n2,b,blue\n"
    with pytest.raises(CatalogueError, match="not in the schema musicrec knows"):
        get_catalogue("spotify-tracks", small_library_path)
    assert (small_library_path / "manifest.json").read_bytes() == before


def test_kaggle_asks_kagglehub_for_the_seed_dataset(small_csv: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import kagglehub

    asked = []

    def download(handle: str, path: str | None = None, **_: object) -> str:
        asked.append((handle, path))
        return str(small_csv)

    monkeypatch.setattr(kagglehub, "dataset_download", download)
    done = CliRunner().invoke(app, ["get", "--library", str(tmp_path / "lib")])
    assert done.exit_code == 0, done.output
    assert asked == [("rodolfofigueroa/spotify-12m-songs", "tracks_features.csv")]
    manifest = json.loads((tmp_path / "lib" / "manifest.json").read_text())
    assert manifest["source"]["origin"] == \
        "kaggle:rodolfofigueroa/spotify-12m-songs/tracks_features.csv"


def test_kaggle_failures_are_one_line_on_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kagglehub
    import requests

    def offline(*_: object, **__: object) -> str:
        raise requests.ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    done = CliRunner().invoke(app, ["get", "kaggle", "--library", str(tmp_path / "lib")])
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the hub" in lines[0], done.output
    unknown = CliRunner().invoke(app, ["get", "napster"])
    assert unknown.exit_code == 1 and "choose one of kaggle, spotify-tracks" in unknown.output


def test_help_lists_both_sources() -> None:
    done = CliRunner().invoke(app, ["get", "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0
    assert "kaggle" in done.output and "spotify-tracks" in done.output
