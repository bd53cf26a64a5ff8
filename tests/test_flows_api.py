"""The flow endpoints through FastAPI's test client: shapes, exports, cursors and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from musicrec.api import create_app
from musicrec.api.routes.flows import Continuation, RadioPage, Tracks
from musicrec.library import Library, LiveLibrary
from musicrec.playlist_files import read_playlist
from musicrec.playlists import to_jspf


def app_client(lib: Library, token: str | None = None) -> TestClient:
    return TestClient(create_app(LiveLibrary(lib.path, warm=True), token))


@pytest.fixture(scope="module")
def client(small_library: Library) -> TestClient:
    return app_client(small_library)


def post(client: TestClient, path: str, body: dict[str, Any], status: int = 200,
         **params: str) -> Any:
    response = client.post(f"/v1/musicrec/{path}", json=body, params=params)
    assert response.status_code == status, response.text
    if status != 200:
        error = response.json()
        assert set(error) == {"error"} and error["error"]["status"] == status
        return error["error"]["message"]
    return response.json() if not params.get("format") else response


def ids(lib: Library, rows: list[int]) -> list[str]:
    return [t["id"] for t in lib.tracks(rows)]


def test_continue_from_ids_and_from_a_file(client: TestClient, small_library: Library) -> None:
    playlist = ids(small_library, list(range(100, 130)))
    body = post(client, "continue", {"tracks": playlist, "count": 12})
    Continuation.model_validate(body)
    assert len(body["tracks"]) == 12 and body["playlist_songs"] == 30
    assert not {t["id"] for t in body["tracks"]} & set(playlist)
    text = json.dumps(to_jspf(small_library.tracks(list(range(100, 130)))))
    from_file = post(client, "continue", {"playlist": text, "count": 12})
    assert [t["id"] for t in from_file["tracks"]] == [t["id"] for t in body["tracks"]]
    with_unknown = post(client, "continue", {"tracks": [*playlist, "0" * 22], "count": 3,
                                             "min": {"energy": 0.3}})
    assert with_unknown["unknown"] == 1 and len(with_unknown["tracks"]) == 3


def test_continue_exports_a_playlist_file(client: TestClient, small_library: Library) -> None:
    response = post(client, "continue", {"tracks": ids(small_library, [1, 2, 3]),
                                         "count": 4}, format="m3u")
    assert response.headers["content-type"].startswith("audio/x-mpegurl")
    assert "attachment" in response.headers["content-disposition"]
    assert len(read_playlist(response.text, "x.m3u").entries) == 4


@pytest.mark.parametrize(("body", "message"), [
    ({"count": 5}, "not both"),
    ({"tracks": ["a"], "playlist": "b"}, "not both"),
    ({"tracks": ["0" * 22]}, "none of the playlist"),
    ({"playlist": "{broken"}, "not valid JSON"),
    ({"tracks": ["x"], "count": 1000}, "count"),
    ({"tracks": ["x"], "colour": 1}, "colour"),
    ({"tracks": ["x"], "min": {"energy": 7}}, "min_energy=7 is outside"),
])
def test_continue_errors_are_400(client: TestClient, small_library: Library,
                                 body: dict[str, Any], message: str) -> None:
    if body.get("tracks") == ["x"]:
        body = {**body, "tracks": ids(small_library, [1])}
    assert message in post(client, "continue", body, 400)


def test_journey(client: TestClient, small_library: Library) -> None:
    a, b = ids(small_library, [4, 2000])
    body = post(client, "journey", {"from": a, "to": b, "length": 7, "max": {"tempo": 150}})
    Tracks.model_validate(body)
    assert [t["id"] for t in body["tracks"]][::6] == [a, b] and len(body["tracks"]) == 7
    assert "two different songs" in post(client, "journey", {"from": a, "to": a}, 400)
    assert "not in the library" in post(client, "journey", {"from": a, "to": "zz"}, 404)
    assert "length" in post(client, "journey", {"from": a, "to": b, "length": 500}, 400)
    xspf = post(client, "journey", {"from": a, "to": b, "length": 5}, format="xspf")
    assert [e.id for e in read_playlist(xspf.text).entries][::4] == [a, b]


def test_radio_pages_with_an_opaque_cursor(client: TestClient, small_library: Library) -> None:
    seeds = ids(small_library, [10, 11])
    first = post(client, "radio", {"seeds": seeds, "count": 15})
    RadioPage.model_validate(first)
    played = [t["id"] for t in first["tracks"]]
    second = post(client, "radio", {"cursor": first["cursor"], "count": 15,
                                    "liked": [played[0]], "skipped": [played[1]]})
    played += [t["id"] for t in second["tracks"]]
    third = post(client, "radio", {"cursor": second["cursor"], "count": 15})
    played += [t["id"] for t in third["tracks"]]
    assert len(played) == len(set(played)) == 45 and not set(seeds) & set(played)
    # The same cursor gives the same page: the state is all in it.
    again = post(client, "radio", {"cursor": second["cursor"], "count": 15})
    assert again["tracks"] == third["tracks"]


def test_radio_cursor_tampering_is_a_400(client: TestClient, small_library: Library) -> None:
    first = post(client, "radio", {"seeds": ids(small_library, [10]), "count": 5})
    cursor = first["cursor"]
    flipped = cursor[:-5] + ("A" if cursor[-5] != "A" else "B") + cursor[-4:]
    for bad in (flipped, cursor[:20], "not-a-cursor", "é"):
        assert "radio cursor is not valid" in post(client, "radio", {"cursor": bad}, 400)
    assert "not both" in post(client, "radio", {"cursor": cursor, "seeds": ["a"]}, 400)
    assert "not both" in post(client, "radio", {}, 400)
    assert "not in the library" in post(client, "radio", {"cursor": cursor,
                                                          "liked": ["q" * 22]}, 404)


def test_a_cursor_from_another_server_secret_is_refused(small_library: Library,
                                                       client: TestClient) -> None:
    other = app_client(small_library, token="s3cret")
    cursor = post(client, "radio", {"seeds": ids(small_library, [3])})["cursor"]
    response = other.post("/v1/musicrec/radio", json={"cursor": cursor},
                          headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 400
    assert "radio cursor is not valid" in response.json()["error"]["message"]


def test_the_endpoints_are_in_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/musicrec/continue", "/v1/musicrec/journey", "/v1/musicrec/radio"} <= set(paths)
