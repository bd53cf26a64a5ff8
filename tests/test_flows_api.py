"""The flow endpoints through FastAPI's test client: shapes, exports, cursors and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from musicrec.api import create_app
from musicrec.api.routes.flows import Continuation, RadioPage, Tracks
from musicrec.library import Library, LiveLibrary
from musicrec.playlist_files import read_playlist
from musicrec.playlists import to_jspf
from test_sequence import KEYLESS_NOTE, keyless_library


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


# --- orders, exclusions and the artist window -------------------------------------------------

def credits(lib: Library, track_ids: list[str]) -> set[str]:
    rows = [r for r in lib.rows_of(track_ids) if r is not None]
    return {a for t in lib.tracks(rows) for a in t["artist_ids"]}


def test_continue_and_journey_leave_out_what_is_excluded(client: TestClient,
                                                          small_library: Library) -> None:
    playlist = ids(small_library, list(range(200, 230)))
    first = [t["id"] for t in post(client, "continue", {"tracks": playlist, "count": 10})[
        "tracks"]]
    banned = sorted(credits(small_library, first[:3]))
    album = small_library.tracks([small_library.row_of(first[3])])[0]["album_id"]
    body = post(client, "continue", {"tracks": playlist, "count": 10, "order": "energy-up",
                                     "artist_gap": 3, "exclude_artists": banned,
                                     "exclude_albums": [album]})
    got = [t["id"] for t in body["tracks"]]
    assert len(got) == 10 and "note" not in body
    assert not credits(small_library, got) & set(banned)
    assert all(t["album"]["id"] != album for t in body["tracks"])
    a, b = ids(small_library, [4, 2000])
    path = post(client, "journey", {"from": a, "to": b, "length": 8, "order": "arc",
                                    "exclude_artists": banned})["tracks"]
    assert [path[0]["id"], path[-1]["id"]] == [a, b]
    assert not credits(small_library, [t["id"] for t in path[1:-1]]) & set(banned)


@pytest.mark.parametrize(("path", "body", "status", "message"), [
    ("continue", {"exclude_artists": ["No Such Artist"]}, 404, "artist 'No Such Artist'"),
    ("continue", {"exclude_albums": ["nope"]}, 404, "album 'nope' is not in the library"),
    ("continue", {"order": "random"}, 400, "order"),
    ("continue", {"artist_gap": -1}, 400, "artist_gap"),
    ("continue", {"exclude_artists": ["a"] * 51}, 400, "exclude_artists"),
    ("continue", {"min": {"energy": 0.99}, "exclude_artists": "LOUD"}, 400,
     "no song is left once the filters and exclusions apply"),
    ("journey", {"min": {"energy": 0.99}, "exclude_artists": "LOUD"}, 400,
     "no song is left once the filters and exclusions apply"),
    ("radio", {"exclude_artists": ["No Such Artist"]}, 404, "artist 'No Such Artist'"),
    ("radio", {"order": "loud"}, 400, "order"),
])
def test_variety_errors_are_4xx(client: TestClient, small_library: Library, path: str,
                                body: dict[str, Any], status: int, message: str) -> None:
    a, b = ids(small_library, [4, 2000])
    base = {"continue": {"tracks": ids(small_library, [1, 2, 3])},
            "journey": {"from": a, "to": b}, "radio": {"seeds": [a]}}[path]
    if body.get("exclude_artists") == "LOUD":  # every artist of the songs passing the filter
        loud = np.flatnonzero(small_library.numeric("energy") >= 0.99).tolist()
        body = {**body, "exclude_artists": sorted(credits(small_library, ids(small_library,
                                                                                loud)))}
    assert message in post(client, path, {**base, **body}, status)


def test_a_station_keeps_its_window_and_exclusions_across_pages(
        client: TestClient, small_library: Library) -> None:
    seed = ids(small_library, [77])
    first = post(client, "radio", {"seeds": seed, "count": 10})
    banned = sorted(credits(small_library, [t["id"] for t in first["tracks"][:2]]))
    page = post(client, "radio", {"seeds": seed, "count": 12, "artist_gap": 20,
                                  "exclude_artists": banned})
    played = [t["id"] for t in page["tracks"]]
    for _ in range(3):
        page = post(client, "radio", {"cursor": page["cursor"], "count": 12})
        played += [t["id"] for t in page["tracks"]]
    assert len(played) == 48 and not credits(small_library, played) & set(banned)
    artists = small_library.primary_artist[small_library.rows_of(played)].tolist()
    assert all(a not in artists[max(0, i - 20):i] for i, a in enumerate(artists))


def test_a_library_without_keys_says_so(tmp_path: Path) -> None:
    lib = Library.open(keyless_library(tmp_path))
    keyless = app_client(lib)
    a, b = ids(lib, [5, 300])
    assert post(keyless, "radio", {"seeds": [a], "count": 5})["note"] == KEYLESS_NOTE
    assert post(keyless, "journey", {"from": a, "to": b, "length": 5})["note"] == KEYLESS_NOTE
    assert "note" not in post(keyless, "continue", {"tracks": [a, b], "count": 5,
                                                    "order": "energy-up"})
