"""Hostile input, round 2 (issue 31): one probe per defect class, each against the rule that
fixed it at its boundary.

1. A playlist holding an integer beyond Python's 4,300-digit limit is the parser's normal 400 /
   one-line error; every numeric query parameter of the API has an upper bound (400 beyond it).
2. An `--out` file is checked before the work: a folder, a missing folder, no permission or an
   extension its writer cannot write is one line and exit 1.
3. CLI options are bounded: `--max-seconds` finite (5..86,400), `--target-time-signature`
   3..7, `--seed` not negative.
4. A token file's BOM is stripped, and a token of anything but printable ASCII refused.
5. What uvicorn's parser refuses, and a URL over 8 kB, answer in Spotify's JSON error shape.

The audio analysis itself (sample rates, tempo range) is in `test_hostile_round2_audio.py`.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import running_server
from musicrec.albums import Albums
from musicrec.api import create_app
from musicrec.api.params import MAX_OFFSET
from musicrec.api.server import MAX_URL_BYTES, read_token
from musicrec.cli import app
from musicrec.errors import InvalidQueryError, MusicrecError
from musicrec.library import Library, LiveLibrary
from musicrec.playlist_files import read_playlist

runner = CliRunner()
HUGE = "1" * 5000  # Python's int() refuses more than 4,300 digits


def one_line_error(args: list[str], *expected: str) -> str:
    """Run the CLI: it must fail with exit 1 and one `error:` line holding `expected`."""
    done = runner.invoke(app, args)
    assert done.exit_code == 1, done.output
    assert isinstance(done.exception, SystemExit), done.exception  # not an uncaught error
    lines = [line for line in done.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def client(small_library: Library) -> TestClient:
    return TestClient(create_app(LiveLibrary(small_library.path, warm=True)))


def assert_spotify_error(body: dict[str, Any], status: int) -> None:
    assert set(body) == {"error"} and body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# --- 1a: integers of more than 4,300 digits in a playlist ---------------------------------------

HUGE_PLAYLISTS = {
    "jspf": '{"playlist": {"track": [{"title": "x", "duration": ' + HUGE + "}]}}",
    "mpd": '{"name": "x", "tracks": [{"track_uri": "spotify:track:' + "a" * 22
           + '", "pos": ' + HUGE + "}]}",
}


@pytest.mark.parametrize("fmt", HUGE_PLAYLISTS)
def test_a_huge_integer_is_the_parsers_own_error(fmt: str) -> None:
    with pytest.raises(InvalidQueryError, match="number too long"):
        read_playlist(HUGE_PLAYLISTS[fmt], fmt=fmt)  # type: ignore[arg-type]


def test_a_huge_integer_in_an_api_playlist_is_a_400(client: TestClient) -> None:
    answer = client.post("/v1/musicrec/continue", json={"playlist": HUGE_PLAYLISTS["jspf"]})
    assert answer.status_code == 400, answer.text
    assert_spotify_error(answer.json(), 400)
    # The request body itself holding one is FastAPI's body error, also a 400.
    for path in ("continue", "journey", "radio"):
        answer = client.post(f"/v1/musicrec/{path}", content='{"count": ' + HUGE + "}",
                             headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text


@pytest.mark.parametrize("command", ["continue", "radio"])
def test_a_huge_integer_in_a_cli_playlist_is_one_line(command: str, tmp_path: Path,
                                                      small_library_path: Path) -> None:
    file = tmp_path / "huge.jspf"
    file.write_text(HUGE_PLAYLISTS["jspf"])
    args = [str(file)] if command == "continue" else ["--seeds-file", str(file)]
    one_line_error([command, *args, "--library", str(small_library_path)], "number too long")


def test_a_huge_integer_on_the_continue_page_is_an_error_message(
        monkeypatch: pytest.MonkeyPatch, small_library_path: Path) -> None:
    import streamlit
    from streamlit.testing.v1 import AppTest

    import musicrec.app

    monkeypatch.setenv("MUSICREC_LIBRARY", str(small_library_path))
    streamlit.cache_resource.clear()
    at = AppTest.from_file(Path(musicrec.app.__file__).parent / "main.py", default_timeout=60)
    at.run()
    at.switch_page("views/continue_page.py").run()
    at.radio(key="continue_source").set_value("Paste Spotify links").run()
    at.text_area(key="continue_paste").input(HUGE_PLAYLISTS["jspf"]).run()
    next(b for b in at.button if b.key == "continue_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "number too long" in at.error[0].value


# --- 1b: every numeric query parameter is bounded -----------------------------------------------


def numeric_parameters(client: TestClient) -> list[tuple[str, dict[str, Any]]]:
    """(path, parameter) for every integer or number query parameter of a GET."""
    schema = client.get("/openapi.json").json()
    return [(path, p) for path, item in schema["paths"].items()
            for p in item.get("get", {}).get("parameters", [])
            if p["in"] == "query" and p["schema"].get("type") in ("integer", "number")]


def test_every_numeric_query_parameter_has_an_upper_bound(client: TestClient) -> None:
    found = numeric_parameters(client)
    assert {"/v1/artists/{id}/albums", "/v1/albums/{id}/tracks"} <= {p for p, _ in found}
    unbounded = [(path, p["name"]) for path, p in found if "maximum" not in p["schema"]]
    assert not unbounded


@pytest.fixture(scope="module")
def requests_by_path(small_library: Library) -> dict[str, tuple[str, dict[str, str]]]:
    """OpenAPI path -> (a URL of this library, its required parameters)."""
    song = small_library.tracks([0])[0]
    album = Albums.of(small_library).id(int(Albums.of(small_library).code[0]))
    return {"/v1/recommendations": ("/v1/recommendations", {"seed_tracks": song["id"]}),
            "/v1/artists/{id}/albums": (f"/v1/artists/{song['artist_ids'][0]}/albums", {}),
            "/v1/albums/{id}/tracks": (f"/v1/albums/{album}/tracks", {}),
            "/v1/search": ("/v1/search", {"q": "love", "type": "track"}),
            "/v1/musicrec/prompt": ("/v1/musicrec/prompt", {"q": "calm acoustic"})}


@pytest.mark.parametrize("path", ["/v1/artists/{id}/albums", "/v1/albums/{id}/tracks"])
def test_an_offset_beyond_64_bits_is_a_400(client: TestClient, path: str,
                                           requests_by_path: dict) -> None:
    url, params = requests_by_path[path]
    for offset, status in ((2**64, 400), (MAX_OFFSET + 1, 400), (MAX_OFFSET, 200)):
        answer = client.get(url, params={**params, "offset": offset})
        assert answer.status_code == status, answer.text


def test_numeric_parameters_at_their_limits_are_200_or_400(
        client: TestClient, requests_by_path: dict) -> None:
    parameters = numeric_parameters(client)
    assert {path for path, _ in parameters} <= set(requests_by_path)

    def near_limits(parameter: dict[str, Any]) -> st.SearchStrategy[int]:
        limits = [parameter["schema"].get(k, 0) for k in ("minimum", "maximum")]
        edges = [int(v) + d for v in limits for d in (-1, 0, 1)]
        return st.one_of(st.sampled_from([*edges, 2**63 - 1, 2**63, 2**64, 2**70, -2**70]),
                         st.integers(-2**70, 2**70))

    @given(data=st.data())
    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(data: st.DataObject) -> None:
        path, parameter = data.draw(st.sampled_from(parameters))
        value = data.draw(near_limits(parameter))
        url, params = requests_by_path[path]
        answer = client.get(url, params={**params, parameter["name"]: value})
        assert answer.status_code in (200, 400), (path, parameter["name"], value, answer.text)
        if answer.status_code == 400:
            assert_spotify_error(answer.json(), 400)

    check()


# --- 2 and 3: CLI output files and option bounds --------------------------------------------------


def cannot_write_in(folder: Path) -> bool:
    probe = folder / "probe"
    try:
        probe.open("ab").close()
    except OSError:
        return True
    probe.unlink()
    return False


@pytest.fixture
def unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot write in: a read-only one, or for root (whom permissions
    do not stop) /sys, which refuses even root."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    for folder in (locked, Path("/sys")):
        if folder.is_dir() and cannot_write_in(folder):
            return folder
    pytest.skip("no folder here refuses this process's writes")


def command_args(command: str, library: Path) -> list[str]:
    songs = Library.open(library).tracks([0, 50])
    args = {"continue": ["continue", "-"], "journey": ["journey", songs[0]["id"], songs[1]["id"]],
            "radio": ["radio", songs[0]["id"]], "analyze": ["analyze", str(library)],
            "sketch": ["sketch"]}[command]
    return args + (["--library", str(library)] if command in ("continue", "journey", "radio")
                   else [])


BAD_OUTS = {  # --out -> a piece of its one-line error
    "missing folder": ("{tmp}/nope/out.{ext}", "there is no folder"),
    "a folder": ("{tmp}", "is a folder"),
    "unwritable": ("{locked}/out.{ext}", "cannot write there"),
}
EXTENSIONS = {"continue": "m3u", "journey": "jspf", "radio": "csv", "analyze": "csv",
              "sketch": "wav"}


@pytest.mark.parametrize("case", BAD_OUTS)
@pytest.mark.parametrize("command", EXTENSIONS)
def test_a_bad_out_path_fails_before_the_work(command: str, case: str, tmp_path: Path,
                                              unwritable: Path,
                                              small_library_path: Path) -> None:
    pattern, message = BAD_OUTS[case]
    out = pattern.format(tmp=tmp_path, locked=unwritable, ext=EXTENSIONS[command])
    one_line_error([*command_args(command, small_library_path), "--out", out], "--out", message)
    assert not list(tmp_path.rglob("out.*"))


@pytest.mark.parametrize(("command", "out"), [("journey", "x.mp3"), ("sketch", "x.mp3"),
                                              ("sketch", "x.flac"), ("radio", "x")])
def test_an_out_extension_the_writer_cannot_write_is_refused(
        command: str, out: str, tmp_path: Path, small_library_path: Path) -> None:
    one_line_error([*command_args(command, small_library_path), "--out", str(tmp_path / out)],
                   out)
    assert not (tmp_path / out).exists()


def test_an_existing_out_file_is_left_alone_until_written(tmp_path: Path) -> None:
    out = tmp_path / "keep.wav"
    out.write_bytes(b"old")
    one_line_error(["sketch", "--out", str(out), "--target-tempo", "999"], "tempo")
    assert out.read_bytes() == b"old"


@pytest.mark.parametrize(("args", "message"), [
    (["analyze", ".", "--max-seconds", "inf"], "--max-seconds must be in 5..86400, got inf"),
    (["analyze", ".", "--max-seconds", "nan"], "--max-seconds"),
    (["analyze", ".", "--max-seconds", "-inf"], "--max-seconds"),
    (["analyze", ".", "--max-seconds", "1e9"], "--max-seconds"),
    (["analyze", ".", "--max-seconds", "4"], "--max-seconds"),
    (["sketch", "--out", "x.wav", "--target-time-signature", "0"], "3..7"),
    (["sketch", "--out", "x.wav", "--target-time-signature", "1000"], "3..7"),
    (["sketch", "--out", "x.wav", "--target-time-signature", "-3"], "3..7"),
    (["sketch", "--out", "x.wav", "--seed", "-1"], "--seed must be in 0.."),
])
def test_out_of_range_options_are_one_line(args: list[str], message: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    one_line_error(args, message)
    assert not (tmp_path / "x.wav").exists()


# --- 4: the token file ---------------------------------------------------------------------------


def test_a_bom_is_stripped_so_the_right_token_passes(tmp_path: Path,
                                                     small_library: Library) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"\xef\xbb\xbfs3cret-token\r\n")
    token = read_token(path)
    assert token == "s3cret-token"
    api = TestClient(create_app(LiveLibrary(small_library.path, warm=True), token))
    assert api.get("/v1/musicrec/families",
                   headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


@pytest.mark.parametrize("content", ["ab\u200bcd", "ab\x00cd", "ab\tcd", "ab cd", "caf\u00e9",
                                     "\ufeff\ufeffdouble-bom", "a\x7fb"])
def test_a_token_that_no_client_can_send_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MusicrecError, match="printable ASCII"):
        read_token(path)


# --- 5: what uvicorn's parser refuses, in Spotify's shape ----------------------------------------


@pytest.fixture(scope="module")
def server(small_library_path: Path) -> Iterator[tuple[str, int]]:
    with running_server(small_library_path) as address:
        yield address


def raw_request(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes, read the answer until the server closes: (status, headers, body)."""
    data = b""
    with socket.create_connection(address) as conn:
        conn.settimeout(10)
        # The server answers and closes before it has read all of a huge request: a reset.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            conn.sendall(request)
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(("request_line", "status", "message"), [
    (b"FOO /v1/tracks HTTP/1.1", 400, "invalid HTTP request: Invalid method"),
    (b"GET /health?x=" + b"a" * 100_000 + b" HTTP/1.1", 414, "longer than 8,192 bytes"),
    (b"GET /health?x=" + b"a" * MAX_URL_BYTES + b" HTTP/1.1", 414, "longer than 8,192 bytes"),
    (b"\x00\x01garbage", 400, "invalid HTTP request"),
])
def test_parser_refusals_are_spotify_errors(server: tuple[str, int], request_line: bytes,
                                            status: int, message: str) -> None:
    code, headers, body = raw_request(server, request_line + b"\r\nHost: x\r\n\r\n")
    assert code == status
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert_spotify_error(answer, status)
    assert message in answer["error"]["message"]


def test_a_malformed_header_is_a_spotify_error(server: tuple[str, int]) -> None:
    code, _, body = raw_request(server, b"GET /health HTTP/1.1\r\nBad Header: x\r\n\r\n")
    assert code == 400 and "Invalid header token" in json.loads(body)["error"]["message"]


def test_a_url_just_under_the_bound_is_served(server: tuple[str, int]) -> None:
    path = b"/health?x=" + b"a" * (MAX_URL_BYTES - len(b"/health?x="))
    code, _, body = raw_request(server, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
    assert code == 200 and json.loads(body) == {"status": "ok"}
