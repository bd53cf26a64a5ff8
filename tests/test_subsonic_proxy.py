"""`musicrec serve --subsonic-upstream`: a Subsonic client talks to musicrec, which answers the
sonic methods from the library and passes everything else to a real supysonic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from conftest import running_server
from musicrec.library import Library

pytestmark = [pytest.mark.audio, pytest.mark.slow]

NS = "{http://subsonic.org/restapi}"


@pytest.fixture(scope="module")
def proxy(subsonic_server: Any, subsonic_library: Path) -> Iterator[str]:
    with running_server(subsonic_library, subsonic_upstream=subsonic_server.url) as (host,
                                                                                     port):
        yield f"http://{host}:{port}"


@pytest.fixture(scope="module")
def lib(subsonic_library: Path) -> Library:
    return Library.open(subsonic_library)


def auth(server: Any, password: str | None = None, **params: Any) -> dict[str, Any]:
    return {"u": server.user, "p": password or server.password, "c": "test", "v": "1.16.1",
            **params}


def call(base: str, method: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{base}/rest/{method}", params={**params, "f": "json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["subsonic-response"]


def call_xml(base: str, method: str, **params: Any) -> ElementTree.Element:
    response = httpx.get(f"{base}/rest/{method}.view", params=params)
    assert response.headers["content-type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)


def song_ids(lib: Library) -> list[str]:
    return [t["id"] for t in lib.tracks(list(range(len(lib))), ["id"])]


def test_the_extensions_list_sonic_similarity_without_authentication(proxy: str) -> None:
    body = call(proxy, "getOpenSubsonicExtensions")
    assert body["status"] == "ok" and body["openSubsonic"] is True
    assert {"name": "sonicSimilarity", "versions": [1]} in body["openSubsonicExtensions"]
    root = call_xml(proxy, "getOpenSubsonicExtensions")
    assert root.tag == f"{NS}subsonic-response" and root.get("status") == "ok"
    found = root.findall(f"{NS}openSubsonicExtensions")
    assert [(e.get("name"), [v.text for v in e.findall(f"{NS}versions")]) for e in found] == [
        ("sonicSimilarity", ["1"])]


def test_sonic_similar_tracks_in_json(proxy: str, subsonic_server: Any, lib: Library) -> None:
    seed = song_ids(lib)[3]
    body = call(proxy, "getSonicSimilarTracks", **auth(subsonic_server, id=seed))
    assert body["status"] == "ok" and body["version"] and body["type"] == "musicrec"
    matches = body["sonicMatch"]
    assert len(matches) == 10  # the spec's default count
    similarity = [m["similarity"] for m in matches]
    assert all(0 <= s <= 1 for s in similarity) and similarity == sorted(similarity,
                                                                         reverse=True)
    ids = [m["entry"]["id"] for m in matches]
    assert seed not in ids and len(set(ids)) == 10 and set(ids) <= set(song_ids(lib))
    # The entries are the upstream's own Child objects: playable by the client.
    assert all(m["entry"]["contentType"].startswith("audio/") and m["entry"]["suffix"]
               for m in matches)
    assert len(call(proxy, "getSonicSimilarTracks",
                    **auth(subsonic_server, id=seed, count=3))["sonicMatch"]) == 3


def test_sonic_similar_tracks_in_xml(proxy: str, subsonic_server: Any, lib: Library) -> None:
    root = call_xml(proxy, "getSonicSimilarTracks", **auth(subsonic_server,
                                                           id=song_ids(lib)[0], count=4))
    assert root.get("status") == "ok" and root.get("openSubsonic") == "true"
    matches = root.findall(f"{NS}sonicMatch")
    assert len(matches) == 4
    for match in matches:
        assert 0 <= float(match.get("similarity")) <= 1
        assert match.find(f"{NS}entry").get("id") in song_ids(lib)


def test_a_sonic_path_begins_and_ends_with_the_songs_given(
        proxy: str, subsonic_server: Any, lib: Library) -> None:
    ids = song_ids(lib)
    start, end = ids[0], ids[-1]
    body = call(proxy, "findSonicPath", **auth(subsonic_server, startSongId=start,
                                                  endSongId=end, count=6))
    path = [m["entry"]["id"] for m in body["sonicMatch"]]
    # 40 songs hold no journey of 6 between these two (each song is kept for the one step
    # it is nearest): the longest shorter one is the answer.
    assert 3 <= len(path) <= 6 and path[0] == start and path[-1] == end
    assert len(set(path)) == len(path) and set(path) <= set(ids)
    assert body["sonicMatch"][0]["similarity"] == 1.0
    assert all(0 <= m["similarity"] <= 1 for m in body["sonicMatch"])
    default = call(proxy, "findSonicPath", **auth(subsonic_server, startSongId=start,
                                                     endSongId=end))
    longest = [m["entry"]["id"] for m in default["sonicMatch"]]
    assert len(path) <= len(longest) <= 25 and longest[0] == start and longest[-1] == end
    root = call_xml(proxy, "findSonicPath", **auth(subsonic_server, startSongId=start,
                                                      endSongId=end, count=4))
    entries = [m.find(f"{NS}entry").get("id") for m in root.findall(f"{NS}sonicMatch")]
    assert len(entries) == 4 and entries[0] == start and entries[-1] == end
    itself = call(proxy, "findSonicPath", **auth(subsonic_server, startSongId=start,
                                                    endSongId=start))
    assert [(m["entry"]["id"], m["similarity"]) for m in itself["sonicMatch"]] == [(start, 1.0)]


def test_similar_songs_of_a_library_song(proxy: str, subsonic_server: Any,
                                         lib: Library) -> None:
    seed = song_ids(lib)[5]
    for method, key in (("getSimilarSongs", "similarSongs"),
                        ("getSimilarSongs2", "similarSongs2")):
        songs = call(proxy, method, **auth(subsonic_server, id=seed))[key]["song"]
        assert 1 <= len(songs) <= 50 and seed not in {s["id"] for s in songs}
        assert {s["id"] for s in songs} <= set(song_ids(lib))


def test_an_id_the_library_does_not_know_gets_an_empty_list(
        proxy: str, subsonic_server: Any) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    body = call(proxy, "getSonicSimilarTracks", **auth(subsonic_server, id=unknown))
    assert body["status"] == "ok" and body["sonicMatch"] == []
    body = call(proxy, "getSimilarSongs2", **auth(subsonic_server, id=unknown))
    assert body["status"] == "ok" and body["similarSongs2"] == {"song": []}


def test_wrong_credentials_are_refused_as_upstream_refuses_them(
        proxy: str, subsonic_server: Any, lib: Library) -> None:
    wrong = auth(subsonic_server, password="wrong", id=song_ids(lib)[0])
    upstream = call(subsonic_server.url, "ping", **wrong)
    assert upstream["status"] == "failed" and upstream["error"]["code"] == 40
    for method in ("getSonicSimilarTracks", "getSimilarSongs", "getPlaylists"):
        body = call(proxy, method, **wrong)
        assert body["status"] == "failed" and body["error"]["code"] == 40, method
    root = call_xml(proxy, "getSonicSimilarTracks", **wrong)
    assert root.get("status") == "failed" and root.find(f"{NS}error").get("code") == "40"


def test_browsing_and_streams_pass_through_byte_for_byte(
        proxy: str, subsonic_server: Any, lib: Library) -> None:
    params = auth(subsonic_server)
    for method in ("getMusicFolders", "getIndexes"):
        assert (httpx.get(f"{proxy}/rest/{method}", params=params).content
                == httpx.get(f"{subsonic_server.url}/rest/{method}", params=params).content)
    song = call(subsonic_server.url, "getSong", **auth(subsonic_server, id=song_ids(lib)[0]))
    on_disk = (subsonic_server.music / song["song"]["path"]).read_bytes()
    with httpx.stream("GET", f"{proxy}/rest/stream", params={**params,
                                                             "id": song["song"]["id"]}) as r:
        assert r.status_code == 200
        streamed = b"".join(r.iter_raw())
    assert streamed == on_disk


def test_jsonp_names_only_a_plain_callback(proxy: str, subsonic_server: Any,
                                           lib: Library) -> None:
    params = auth(subsonic_server, id=song_ids(lib)[0], count=2, f="jsonp")
    plain = httpx.get(f"{proxy}/rest/getSonicSimilarTracks", params={**params,
                                                                     "callback": "show"})
    assert plain.text.startswith('show({"subsonic-response":') and plain.text.endswith(");")
    hostile = httpx.get(f"{proxy}/rest/getSonicSimilarTracks",
                        params={**params, "callback": "alert(1);x"})
    assert hostile.text.startswith("callback(")


def test_form_posts_pass_through_and_are_read(proxy: str, subsonic_server: Any,
                                              lib: Library) -> None:
    form = auth(subsonic_server, f="json")
    passed = httpx.post(f"{proxy}/rest/getMusicFolders", data=form)
    assert passed.content == httpx.post(f"{subsonic_server.url}/rest/getMusicFolders",
                                        data=form).content
    answered = httpx.post(f"{proxy}/rest/getSonicSimilarTracks",
                          data={**form, "id": song_ids(lib)[0], "count": "2"})
    assert len(answered.json()["subsonic-response"]["sonicMatch"]) == 2
