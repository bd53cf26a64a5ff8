"""Subsonic's answer formats, as `musicrec.integrations.subsonic_answers` renders them (the
proxy's tests check them against a real server; these check the mapping rules alone)."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from musicrec.integrations import subsonic_answers as answers

NS = "{http://subsonic.org/restapi}"
CHILD = {"id": "s1", "title": "Ça va", "isDir": False, "duration": 201,
         "genres": [{"name": "Rock"}, {"name": "Pop"}], "replayGain": {"trackGain": -6.5},
         "moods": ["calm", "warm"]}


def test_json_wraps_the_envelope() -> None:
    body = answers.envelope(**answers.sonic_payload(
        "getSonicSimilarTracks", [({"id": "s1"}, 0.9)], {"s1": CHILD}))
    content, media_type = answers.render(body, "json")
    data = json.loads(content)["subsonic-response"]
    assert media_type == "application/json"
    assert data["status"] == "ok" and data["openSubsonic"] is True and data["type"] == "musicrec"
    assert data["sonicMatch"] == [{"entry": CHILD, "similarity": 0.9}]


def test_xml_maps_scalars_objects_and_lists() -> None:
    body = answers.envelope(**answers.sonic_payload(
        "findSonicPath", [({"id": "s1"}, 1.0)], {"s1": CHILD}))
    content, media_type = answers.render(body, None)
    root = ElementTree.fromstring(content)
    assert media_type.startswith("text/xml") and root.tag == f"{NS}subsonic-response"
    match = root.find(f"{NS}sonicMatch")
    entry = match.find(f"{NS}entry")
    assert match.get("similarity") == "1.0" and entry.get("title") == "Ça va"
    assert entry.get("isDir") == "false" and entry.get("duration") == "201"
    assert [g.get("name") for g in entry.findall(f"{NS}genres")] == ["Rock", "Pop"]
    assert entry.find(f"{NS}replayGain").get("trackGain") == "-6.5"
    assert [m.text for m in entry.findall(f"{NS}moods")] == ["calm", "warm"]


def test_an_error_and_the_empty_answers() -> None:
    content, _ = answers.render(answers.error(40, "Wrong username or password"), "xml")
    root = ElementTree.fromstring(content)
    assert root.get("status") == "failed"
    assert root.find(f"{NS}error").attrib == {"code": "40",
                                              "message": "Wrong username or password"}
    assert answers.empty_payload("getSimilarSongs") == {"similarSongs": {"song": []}}
    assert answers.empty_payload("findSonicPath") == {"sonicMatch": []}


def test_counts_default_per_method_and_stay_in_range() -> None:
    assert answers.count_of("getSonicSimilarTracks", None) == 10
    assert answers.count_of("findSonicPath", "") == 25
    assert answers.count_of("getSimilarSongs2", "abc") == 50
    assert answers.count_of("getSimilarSongs", "0") == 1
    assert answers.count_of("getSimilarSongs", "5000") == answers.MAX_COUNT
