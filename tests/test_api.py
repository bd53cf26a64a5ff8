"""The REST API in-process, with FastAPI's test client: every endpoint, parameter and error."""

from __future__ import annotations

import asyncio
import builtins
import math
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from typer.testing import CliRunner

from musicrec.api import create_app, models
from musicrec.api.server import check_bind, is_loopback, listening_socket, read_token
from musicrec.api.spotify import _time_signatures, release_date_precision
from musicrec.build import build_library
from musicrec.cli import app as cli_app
from musicrec.errors import MusicrecError
from musicrec.library import Library, LiveLibrary
from musicrec.synth import synthesize

# Spotify's tunable attributes, as its reference lists them, plus our year.
ATTRIBUTES = ("acousticness", "danceability", "duration_ms", "energy", "instrumentalness", "key",
              "liveness", "loudness", "mode", "popularity", "speechiness", "tempo",
              "time_signature", "valence")
GENRES = ("ambient", "metal", "jazz", "hip hop", "folk")


@pytest.fixture(scope="module")
def client(small_library: Library) -> TestClient:
    return TestClient(create_app(LiveLibrary(small_library.path, warm=True)))


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """A small library whose catalogue has genre labels and popularity."""
    frame = synthesize(1200, seed=11)
    frame["genre"] = [GENRES[s % len(GENRES)] for s in frame["style"]]
    frame["popularity"] = np.random.default_rng(1).integers(0, 101, len(frame))
    folder = tmp_path_factory.mktemp("labelled")
    frame.drop(columns="style").to_csv(folder / "songs.csv", index=False)
    build_library(folder / "songs.csv", folder / "lib")
    return Library.open(folder / "lib")


@pytest.fixture(scope="module")
def labelled_client(labelled: Library) -> TestClient:
    return TestClient(create_app(LiveLibrary(labelled.path, warm=True)))


def ok(client: TestClient, url: str, model: type[BaseModel],
       params: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET that must succeed with a body matching the response model it is declared with."""
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    model.model_validate(body)
    return body


def error(client: TestClient, url: str, status: int, params: dict[str, Any] | None = None,
          **kwargs: Any) -> str:
    """GET that must fail with Spotify's error object and the status; returns the message."""
    response = client.get(url, params=params, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


def track_ids(body: dict[str, Any]) -> list[str]:
    return [t["id"] for t in body["tracks"]]


def column(lib: Library, name: str, ids: list[str]) -> np.ndarray:
    return lib.numeric(name)[[lib.row_of(i) for i in ids]]


# --- recommendations ------------------------------------------------------------------------


def test_recommendations_from_a_track(client: TestClient, small_library: Library) -> None:
    seed = small_library.tracks([5])[0]
    body = ok(client, "/v1/recommendations", models.Recommendations,
              {"seed_tracks": seed["id"], "musicrec": "true"})
    assert len(body["tracks"]) == 20  # Spotify's default limit
    assert seed["id"] not in track_ids(body)
    assert len(set(track_ids(body))) == 20
    (info,) = body["seeds"]
    assert info["id"] == seed["id"] and info["type"] == "TRACK"
    assert info["href"].endswith(f"/v1/tracks/{seed['id']}")
    assert info["initialPoolSize"] >= info["afterFilteringSize"] >= 20
    assert info["afterRelinkingSize"] == info["afterFilteringSize"]
    scores = [t["musicrec"]["score"] for t in body["tracks"]]
    assert scores == sorted(scores, reverse=True)
    for t in body["tracks"]:
        assert t["musicrec"]["seed"] == seed["id"] and t["musicrec"]["explanation"]
        row = small_library.row_of(t["id"])
        assert t["musicrec"]["family"]["id"] == int(small_library.families.labels[row])
        sub = small_library.families.subfamilies[int(small_library.families.sublabels[row])]
        assert t["musicrec"]["subfamily"] == {"id": sub.key, "name": sub.name}


def test_every_kind_of_seed_together(client: TestClient, small_library: Library) -> None:
    track, other = small_library.tracks([10, 2000])
    family = small_library.families.families[1]
    body = ok(client, "/v1/recommendations", models.Recommendations, {
        "seed_tracks": f"{track['id']}, {other['id']}", "seed_artists": track["artist_ids"][0],
        "seed_genres": f"0,{family.name}", "limit": 30, "musicrec": "true"})
    assert [(s["type"], s["id"]) for s in body["seeds"]] == [
        ("TRACK", track["id"]), ("TRACK", other["id"]), ("ARTIST", track["artist_ids"][0]),
        ("GENRE", "0"), ("GENRE", family.name)]
    assert body["seeds"][2]["href"].endswith(f"/v1/artists/{track['artist_ids'][0]}")
    assert body["seeds"][3]["href"] is None
    # Each seed contributes songs: results are interleaved, not averaged.
    assert {t["musicrec"]["seed"] for t in body["tracks"]} == {s["id"] for s in body["seeds"]}


def test_genre_seed_by_family_name_is_case_insensitive(client: TestClient,
                                                       small_library: Library) -> None:
    name = small_library.families.families[2].name
    body = ok(client, "/v1/recommendations", models.Recommendations,
              {"seed_genres": name.upper(), "limit": 10})
    assert body["seeds"][0]["type"] == "GENRE" and len(body["tracks"]) == 10


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_limit(client: TestClient, small_library: Library, limit: int) -> None:
    seed = small_library.tracks([0])[0]["id"]
    body = ok(client, "/v1/recommendations", models.Recommendations,
              {"seed_tracks": seed, "seed_genres": "0", "limit": limit})
    assert len(body["tracks"]) == limit


def test_limit_is_a_target_size(client: TestClient, small_library: Library) -> None:
    """As at Spotify, fewer songs may come back: here at most 2 per artist, 101 artists."""
    seed = small_library.tracks([0])[0]["id"]
    body = ok(client, "/v1/recommendations", models.Recommendations,
              {"seed_tracks": seed, "limit": 100})
    artists = [t["artists"][0]["id"] for t in body["tracks"]]
    assert 20 <= len(artists) <= 100
    assert max(artists.count(a) for a in artists) <= 2


def test_market_is_accepted_and_ignored(client: TestClient, small_library: Library) -> None:
    seed = small_library.tracks([3])[0]["id"]
    plain = client.get("/v1/recommendations", params={"seed_tracks": seed}).json()
    with_market = client.get("/v1/recommendations",
                             params={"seed_tracks": seed, "market": "DE"}).json()
    assert track_ids(plain) == track_ids(with_market)


@pytest.mark.parametrize("name", [a for a in ATTRIBUTES if a != "popularity"] + ["year"])
def test_min_max_target_of_every_attribute(client: TestClient, small_library: Library,
                                           name: str) -> None:
    """A window around the catalogue's middle: every song returned lies inside it."""
    values = small_library.numeric(name)
    lo, hi = np.nanpercentile(values, [25, 75])
    if name in ("mode", "key", "time_signature", "duration_ms", "year"):
        lo, hi = math.floor(lo), math.ceil(hi)
    middle = round((lo + hi) / 2) if isinstance(lo, int) else (lo + hi) / 2
    seed = small_library.tracks([1])[0]["id"]
    body = ok(client, "/v1/recommendations", models.Recommendations, {
        "seed_tracks": seed, "limit": 10, f"min_{name}": lo, f"max_{name}": hi,
        f"target_{name}": middle})
    assert body["tracks"]
    got = column(small_library, name, track_ids(body))
    assert np.all((got >= lo) & (got <= hi)), (name, lo, hi, got)


def test_targets_pull_results_towards_them(client: TestClient, small_library: Library) -> None:
    seed = small_library.tracks([7])[0]["id"]
    energies = {}
    for target in (0.1, 0.9):
        body = ok(client, "/v1/recommendations", models.Recommendations,
                  {"seed_tracks": seed, "target_energy": target, "musicrec": "true"})
        energies[target] = column(small_library, "energy", track_ids(body)).mean()
        assert any("energy" in t["musicrec"]["explanation"] for t in body["tracks"])
    assert energies[0.9] > energies[0.1] + 0.1


def test_popularity_needs_a_catalogue_that_has_it(client: TestClient, labelled_client: TestClient,
                                                   small_library: Library,
                                                   labelled: Library) -> None:
    seed = small_library.tracks([0])[0]["id"]
    message = error(client, "/v1/recommendations", 400,
                    {"seed_tracks": seed, "min_popularity": 50})
    assert "popularity" in message
    seed = labelled.tracks([0])[0]["id"]
    body = ok(labelled_client, "/v1/recommendations", models.Recommendations,
              {"seed_tracks": seed, "min_popularity": 50, "target_popularity": 90})
    assert body["tracks"]
    assert all(t["popularity"] >= 50 for t in body["tracks"])
    assert "popularity" not in client.get(f"/v1/tracks/{seed}").json()


def test_genre_labels_are_seeds_when_the_catalogue_has_them(labelled_client: TestClient,
                                                            labelled: Library) -> None:
    genres = ok(labelled_client, "/v1/recommendations/available-genre-seeds",
                models.GenreSeeds)["genres"]
    families = [f.name for f in (*labelled.families.families, *labelled.families.subfamilies)]
    assert genres == families + sorted(GENRES)
    body = ok(labelled_client, "/v1/recommendations", models.Recommendations,
              {"seed_genres": "Jazz", "limit": 10})
    assert body["seeds"][0] == {**body["seeds"][0], "type": "GENRE", "id": "Jazz"}
    got = labelled.tracks([labelled.row_of(i) for i in track_ids(body)])
    assert sum(t["genre"] == "jazz" for t in got) >= 5


def test_available_genre_seeds_are_the_families(client: TestClient,
                                                small_library: Library) -> None:
    body = ok(client, "/v1/recommendations/available-genre-seeds", models.GenreSeeds)
    families = small_library.families
    assert body["genres"] == [f.name for f in (*families.families, *families.subfamilies)]


# --- tracks, audio features, artists ----------------------------------------------------------


def test_track_object(client: TestClient, small_library: Library) -> None:
    rec = small_library.tracks([42])[0]
    body = ok(client, f"/v1/tracks/{rec['id']}", models.Track)
    assert body["name"] == rec["name"] and body["uri"] == f"spotify:track:{rec['id']}"
    assert body["external_urls"]["spotify"] == f"https://open.spotify.com/track/{rec['id']}"
    assert body["href"] == f"http://127.0.0.1:8000/v1/tracks/{rec['id']}"  # the public URL
    assert body["duration_ms"] == int(rec["duration_ms"]) and body["explicit"] == rec["explicit"]
    assert (body["track_number"], body["disc_number"]) == (rec["track_number"],
                                                           rec["disc_number"])
    assert body["type"] == "track" and body["is_local"] is False
    assert [a["name"] for a in body["artists"]] == rec["artists"]
    assert [a["id"] for a in body["artists"]] == rec["artist_ids"]
    album = body["album"]
    assert (album["id"], album["name"], album["release_date"]) == (
        rec["album_id"], rec["album"], rec["release_date"])
    assert album["release_date_precision"] == "day" and album["type"] == "album"


@pytest.mark.parametrize(("date", "precision"), [
    ("1999", "year"), ("1999-05", "month"), ("1999-05-31", "day"), ("", None), (None, None)])
def test_release_date_precision(date: str | None, precision: str | None) -> None:
    assert release_date_precision(date) == precision


def test_several_tracks_keep_order_and_null_unknown(client: TestClient,
                                                    small_library: Library) -> None:
    a, b = (r["id"] for r in small_library.tracks([3, 4]))
    body = ok(client, "/v1/tracks", models.SeveralTracks, {"ids": f"{b},nosuchtrack,{a},{b}"})
    assert [t and t["id"] for t in body["tracks"]] == [b, None, a, b]


def test_audio_features_object(client: TestClient, small_library: Library) -> None:
    rec = small_library.tracks([9])[0]
    body = ok(client, f"/v1/audio-features/{rec['id']}", models.AudioFeatures)
    assert body["id"] == rec["id"] and body["type"] == "audio_features"
    assert body["track_href"].endswith(f"/v1/tracks/{rec['id']}")
    for name in ("danceability", "energy", "speechiness", "acousticness", "instrumentalness",
                 "liveness", "valence", "loudness", "tempo"):
        # float32 in the catalogue, shown as its shortest decimal
        assert np.float32(body[name]) == np.float32(rec[name])
        assert len(repr(body[name])) <= 12
    assert (body["key"], body["mode"], body["time_signature"]) == (
        rec["key"], rec["mode"], rec["time_signature"])
    assert body["duration_ms"] == int(rec["duration_ms"])


def test_time_signatures_outside_the_spec_become_the_neutral_four() -> None:
    values = np.array([4, 1, np.nan, 7, 3, 0, 8], dtype=np.float32)
    signatures, extensions = _time_signatures(values)
    assert signatures == [4, 4, 4, 7, 3, 4, 4]
    unknown = {"unknown": ["time_signature"]}
    assert extensions == [{"unknown": []}, {**unknown, "time_signature": 1}, unknown,
                          {"unknown": []}, {"unknown": []}, {**unknown, "time_signature": 0},
                          {**unknown, "time_signature": 8}]


def test_several_audio_features(client: TestClient, small_library: Library) -> None:
    ids = [r["id"] for r in small_library.tracks(list(range(99)))]
    body = ok(client, "/v1/audio-features", models.SeveralAudioFeatures,
              {"ids": ",".join([*ids, "unknown"])})
    assert [f and f["id"] for f in body["audio_features"]] == [*ids, None]


def test_artist_object(client: TestClient, small_library: Library) -> None:
    rec = small_library.tracks([0])[0]
    body = ok(client, f"/v1/artists/{rec['artist_ids'][0]}", models.Artist, {"musicrec": "true"})
    assert body["name"] == rec["artists"][0] and body["type"] == "artist"
    assert rec["family_name"] in body["genres"] or len(body["genres"]) == 3
    assert body["musicrec"]["tracks"] >= 1
    # no followers nor popularity in this catalogue: Spotify's neutral values, named
    assert (body["followers"], body["popularity"]) == ({"href": None, "total": 0}, 0)
    assert body["musicrec"]["unknown"] == ["followers", "popularity"]


# --- search -----------------------------------------------------------------------------------


def test_search_finds_a_song_by_title_and_artist(client: TestClient,
                                                 small_library: Library) -> None:
    rec = small_library.tracks([123])[0]
    body = ok(client, "/v1/search", models.SearchResults,
              {"q": f"{rec['name']} {rec['artists'][0]}", "type": "track", "limit": 5})
    assert set(body) == {"tracks"}
    assert rec["id"] in [t["id"] for t in body["tracks"]["items"]]
    # Spotify's field filters are understood
    body = ok(client, "/v1/search", models.SearchResults,
              {"q": f"track:{rec['name']} artist:{rec['artists'][0]}", "type": "track"})
    assert rec["id"] in [t["id"] for t in body["tracks"]["items"]]


def test_search_pages_follow_each_other(client: TestClient) -> None:
    first = ok(client, "/v1/search", models.SearchResults,
               {"q": "the", "type": "track"})["tracks"]
    assert first["offset"] == 0 and first["limit"] == 5 and first["previous"] is None  # spec
    assert first["total"] > 20 and len(first["items"]) == 5
    second = client.get(first["next"]).json()["tracks"]
    assert second["offset"] == 5 and len(second["items"]) == 5
    both = ok(client, "/v1/search", models.SearchResults,
              {"q": "the", "type": "track", "limit": 10})["tracks"]
    assert [t["id"] for t in first["items"] + second["items"]] == [
        t["id"] for t in both["items"]]
    back = client.get(second["previous"]).json()["tracks"]
    assert [t["id"] for t in back["items"]] == [t["id"] for t in first["items"]]


def test_search_last_page_has_no_next(client: TestClient) -> None:
    total = client.get("/v1/search", params={"q": "the", "type": "track"}).json()[
        "tracks"]["total"]
    last = ok(client, "/v1/search", models.SearchResults,
              {"q": "the", "type": "track", "offset": total - 1, "limit": 5})["tracks"]
    assert len(last["items"]) == 1 and last["next"] is None


def test_search_artists_and_tracks(client: TestClient, small_library: Library) -> None:
    rec = small_library.tracks([77])[0]
    body = ok(client, "/v1/search", models.SearchResults,
              {"q": rec["artists"][0], "type": "artist,track", "limit": 3})
    assert rec["artist_ids"][0] == body["artists"]["items"][0]["id"]
    assert body["tracks"]["items"]


def test_search_with_no_match_is_an_empty_page(client: TestClient) -> None:
    page = ok(client, "/v1/search", models.SearchResults,
              {"q": "zzqxv", "type": "track"})["tracks"]
    assert page["items"] == [] and page["total"] == 0 and page["next"] is None


# --- families and health ----------------------------------------------------------------------


def test_families(client: TestClient, small_library: Library) -> None:
    body = ok(client, "/v1/musicrec/families", models.FamilyList)
    assert [f["name"] for f in body["families"]] == [
        f.name for f in small_library.families.families]
    assert sum(f["size"] for f in body["families"]) == len(small_library)


@pytest.mark.parametrize("key", ["id", "name"])
def test_family_profile(client: TestClient, small_library: Library, key: str) -> None:
    family = small_library.families.families[3]
    body = ok(client, f"/v1/musicrec/families/{getattr(family, key)}", models.FamilyProfile)
    assert body["id"] == 3 and body["name"] == family.name
    assert [t["id"] for t in body["central_tracks"]] == [
        r["id"] for r in small_library.tracks(family.central_rows)]
    assert [n["id"] for n in body["neighbours"]] == family.neighbours
    assert body["feature_means"]["energy"] == pytest.approx(family.feature_means["energy"])


def test_track_objects_carry_family_and_sub_family(client: TestClient,
                                                   small_library: Library) -> None:
    record = small_library.tracks([7])[0]
    body = ok(client, f"/v1/tracks/{record['id']}", models.Track, {"musicrec": "true"})
    assert body["musicrec"]["family"] == {"id": record["family"],
                                          "name": record["family_name"]}
    assert body["musicrec"]["subfamily"] == {"id": record["subfamily"],
                                             "name": record["subfamily_name"]}
    assert "musicrec" not in ok(client, f"/v1/tracks/{record['id']}", models.Track)


def test_sub_family_profile_and_seed(client: TestClient, small_library: Library) -> None:
    families = small_library.families
    sub = families.subfamilies[-1]
    body = ok(client, f"/v1/musicrec/families/{sub.key}", models.FamilyProfile)
    assert (body["key"], body["parent"], body["name"]) == (sub.key, sub.parent, sub.name)
    assert body["words"] == sub.words and body["subfamilies"] == []
    assert [n["key"] for n in body["neighbours"]] == [
        families.subfamilies[i].key for i in sub.neighbours]
    parent = ok(client, f"/v1/musicrec/families/{sub.parent}", models.FamilyProfile)
    assert sub.key in [c["key"] for c in parent["subfamilies"]]
    listing = ok(client, "/v1/musicrec/families", models.FamilyList)
    assert [s["key"] for s in listing["subfamilies"]] == [s.key for s in families.subfamilies]
    recs = ok(client, "/v1/recommendations", models.Recommendations,
              {"seed_genres": sub.key, "limit": 5})
    assert recs["seeds"][0]["id"] == sub.key and len(recs["tracks"]) == 5


def test_health_reveals_only_status(client: TestClient) -> None:
    assert ok(client, "/health", models.Health) == {"status": "ok"}


def test_docs_and_schema_are_served(client: TestClient) -> None:
    assert "swagger" in client.get("/docs").text.lower()
    assert client.get("/openapi.json").json()["info"]["title"] == "musicrec"


# --- the OpenAPI schema -----------------------------------------------------------------------


def test_schema_lists_every_parameter(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    def names(path: str) -> set[str]:
        return {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}

    knobs = {f"{kind}_{a}" for a in ATTRIBUTES for kind in ("min", "max", "target")}
    assert names("/v1/recommendations") >= {
        "seed_tracks", "seed_artists", "seed_genres", "limit", "market", *knobs}
    assert names("/v1/search") >= {"q", "type", "limit", "offset", "market"}
    extensions = {"musicrec", "x-musicrec"}  # the query parameter and the header
    assert names("/v1/tracks") >= {"ids", "market"}
    assert names("/v1/audio-features") == {"ids", *extensions}
    assert names("/v1/tracks/{id}") >= {"id"}
    assert names("/v1/audio-features/{id}") == {"id", *extensions}
    params = {p["name"]: p for p in schema["paths"]["/v1/recommendations"]["get"]["parameters"]}
    assert params["min_tempo"]["schema"] == {"type": "number", "minimum": 0, "maximum": 300}
    assert params["target_key"]["schema"]["type"] == "integer"
    assert params["limit"]["schema"]["maximum"] == 100
    for path in schema["paths"].values():
        for operation in path.values():
            assert "422" not in operation["responses"]  # validation errors answer 400


# --- errors -----------------------------------------------------------------------------------

SEED = "SEED"  # replaced by a real track id


@pytest.mark.parametrize(("url", "params", "status"), [
    ("/v1/recommendations", {}, 400),
    ("/v1/recommendations", {"seed_tracks": ",".join([SEED] * 6)}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "seed_genres": "0,1,2,3,4"}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "limit": 0}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "limit": 101}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "limit": "many"}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "target_energy": 1.5}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "target_energy": "high"}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "target_energy": "nan"}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "max_tempo": "inf"}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "min_tempo": 150, "max_tempo": 100}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "target_key": 2.5}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "min_duration_ms": 0}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "target_enrgy": 0.5}, 400),
    ("/v1/recommendations", {"seed_tracks": SEED, "max_popularity": 10}, 400),
    ("/v1/recommendations", {"seed_tracks": "nosuchtrack"}, 404),
    ("/v1/recommendations", {"seed_artists": "nosuchartist"}, 404),
    ("/v1/recommendations", {"seed_genres": "no such family"}, 400),  # as Spotify
    ("/v1/recommendations", {"seed_genres": "999"}, 400),
    ("/v1/tracks/nosuchtrack", {}, 404),
    ("/v1/tracks", {}, 400),
    ("/v1/tracks", {"ids": " , "}, 400),
    ("/v1/tracks", {"ids": ",".join([SEED] * 51)}, 400),
    ("/v1/audio-features/nosuchtrack", {}, 404),
    ("/v1/audio-features", {"ids": ",".join([SEED] * 101)}, 400),
    ("/v1/artists/nosuchartist", {}, 404),
    ("/v1/search", {"type": "track"}, 400),
    ("/v1/search", {"q": "love"}, 400),
    ("/v1/search", {"q": "love", "type": "playlist"}, 400),
    ("/v1/search", {"q": "love", "type": "songs"}, 400),
    ("/v1/search", {"q": "love", "type": ","}, 400),
    ("/v1/search", {"q": "love", "type": "track", "limit": 51}, 400),
    ("/v1/search", {"q": "love", "type": "track", "offset": 991, "limit": 10}, 400),
    ("/v1/search", {"q": "x" * 251, "type": "track"}, 400),
    ("/v1/search", {"q": " ".join(["love"] * 13), "type": "track"}, 400),
    ("/v1/search", {"q": "love", "type": "track", "offset": 1001}, 400),
    ("/v1/search", {"q": "love", "type": "track", "offset": -1}, 400),
    ("/v1/recommendations", {"seed_genres": "²"}, 400),  # a digit int() refuses
    ("/v1/musicrec/families/999", {}, 404),
    ("/v1/musicrec/families/¹", {}, 404),
    ("/v1/musicrec/families/" + "9" * 5000, {}, 404),  # beyond int()'s digit limit
    ("/v1/musicrec/families/no such family", {}, 404),
    ("/v1/no-such-endpoint", {}, 404),
    ("/v1/audio-analysis/abc", {}, 404),
    ("/nothing-here", {}, 404),
])
def test_bad_requests_answer_spotify_errors(client: TestClient, small_library: Library,
                                            url: str, params: dict[str, Any],
                                            status: int) -> None:
    seed = small_library.tracks([0])[0]["id"]
    params = {k: str(v).replace(SEED, seed) for k, v in params.items()}
    error(client, url, status, params)


def test_error_messages_name_the_problem(client: TestClient, small_library: Library) -> None:
    seed = small_library.tracks([0])[0]["id"]
    assert "limit" in error(client, "/v1/recommendations", 400,
                            {"seed_tracks": seed, "limit": 500})
    assert "target_enrgy" in error(client, "/v1/recommendations", 400,
                                   {"seed_tracks": seed, "target_enrgy": 1})
    assert "1 to 5 seeds" in error(client, "/v1/recommendations", 400)
    assert "nosuchtrack" in error(client, "/v1/recommendations", 404,
                                  {"seed_tracks": "nosuchtrack"})
    assert error(client, "/v1/search", 400, {"type": "track"}) == "missing required parameter q"


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.post("/v1/recommendations")
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.json()["error"]["status"] == 405


def test_a_bug_answers_500_in_the_same_shape(small_library: Library,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Library, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Library, "recommend", broken)
    client = TestClient(create_app(LiveLibrary(small_library.path, warm=True)),
                        raise_server_exceptions=False)
    seed = small_library.tracks([0])[0]["id"]
    assert error(client, "/v1/recommendations", 500,
                 {"seed_tracks": seed}) == "internal server error"


# --- authentication ---------------------------------------------------------------------------


def test_without_a_token_any_or_no_bearer_is_accepted(client: TestClient,
                                                      small_library: Library) -> None:
    url = f"/v1/tracks/{small_library.tracks([0])[0]['id']}"
    assert client.get(url).status_code == 200
    assert client.get(url, headers={"Authorization": "Bearer whatever"}).status_code == 200


def test_with_a_token_it_is_required(small_library: Library) -> None:
    client = TestClient(create_app(LiveLibrary(small_library.path, warm=True), token="s3cret"))
    url = f"/v1/tracks/{small_library.tracks([0])[0]['id']}"
    assert "No token" in error(client, url, 401)
    assert "Invalid" in error(client, url, 401, headers={"Authorization": "Bearer wrong"})
    error(client, url, 401, headers={"Authorization": "Basic czNjcmV0"})
    response = client.get(url)
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get(url, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/health").json() == {"status": "ok"}  # for load balancers' checks
    error(client, "/openapi.json", 401)
    assert client.get("/docs").status_code == 404  # a browser cannot send the token
    schema = client.get("/openapi.json", headers={"Authorization": "Bearer s3cret"})
    operation = schema.json()["paths"]["/v1/recommendations"]["get"]
    assert operation["security"] == [{"HTTPBearer": []}] and "401" in operation["responses"]
    # no catalogue ids in the schema of a protected server
    rec = small_library.tracks([0])[0]
    assert rec["id"] not in schema.text and rec["artist_ids"][0] not in schema.text


def test_without_a_token_the_schema_asks_for_none(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/recommendations"]["get"]
    assert "security" not in operation and "401" not in operation["responses"]


# --- no file reads after start-up --------------------------------------------------------------


def test_requests_read_no_files(small_library_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything is loaded once in create_app; requests only use memory."""
    lib = Library.open(small_library_path)
    client = TestClient(create_app(LiveLibrary(lib.path, warm=True)))
    rec = lib.tracks([0])[0]

    def no_io(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"file read during a request: {args}")

    monkeypatch.setattr(builtins, "open", no_io)
    monkeypatch.setattr(np, "load", no_io)
    monkeypatch.setattr(Path, "read_text", no_io)
    for url in (f"/v1/recommendations?seed_tracks={rec['id']}&min_tempo=90&target_energy=0.5",
                f"/v1/search?q={rec['name']}&type=track,artist", f"/v1/tracks?ids={rec['id']}",
                f"/v1/audio-features/{rec['id']}", "/v1/musicrec/families/0",
                f"/v1/artists/{rec['artist_ids'][0]}"):
        assert client.get(url).status_code == 200, url


# --- serving: token file, binding, the CLI ---------------------------------------------------


def test_read_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  abc123\n")
    assert read_token(path) == "abc123"
    path.write_text("\n")
    with pytest.raises(MusicrecError, match="one token"):
        read_token(path)
    with pytest.raises(MusicrecError, match="cannot read"):
        read_token(tmp_path / "missing")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_remote_binding_needs_a_token_or_the_flag() -> None:
    with pytest.raises(MusicrecError, match="--token-file"):
        check_bind("0.0.0.0", None, False)
    check_bind("0.0.0.0", "token", False)
    check_bind("0.0.0.0", None, True)
    check_bind("127.0.0.1", None, False)


@pytest.mark.parametrize("args", [
    ["--host", "0.0.0.0"],
    ["--token-file", "/nonexistent/token"],
    ["--library", "/nonexistent/library"],
])
def test_serve_refuses_with_one_line(small_library_path: Path, args: list[str]) -> None:
    base = ["serve", "--library", str(small_library_path), "--port", "0"]
    result = CliRunner().invoke(cli_app, [*base, *args])
    assert result.exit_code == 1
    assert result.stderr.startswith("error:") and "Traceback" not in result.output


def test_listening_socket_gives_connections_tcp_nodelay() -> None:
    """uvicorn's shared socket for workers loses TCP_NODELAY (40 ms stalls); ours keeps it."""
    sock = listening_socket("127.0.0.1", 0)
    nodelay: list[int] = []

    async def main() -> None:
        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            nodelay.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            while not nodelay:
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(asyncio.wait_for(main(), 10))
    assert nodelay == [1]
    assert sock.proto == socket.IPPROTO_TCP


# --- issue 11: hrefs, HEAD, CORS, search bounds ---------------------------------------------


def test_hrefs_use_the_public_url_never_the_host_header(small_library: Library) -> None:
    client = TestClient(create_app(LiveLibrary(small_library.path, warm=True),
                                   public_url="https://music.example.org/api/"))
    rec = small_library.tracks([0])[0]
    evil = {"Host": "evil.example.com"}
    body = client.get(f"/v1/tracks/{rec['id']}", headers=evil).json()
    assert body["href"] == f"https://music.example.org/api/v1/tracks/{rec['id']}"
    assert body["album"]["href"].startswith("https://music.example.org/api/v1/albums/")
    page = client.get("/v1/search", params={"q": "the", "type": "track"}, headers=evil).json()
    assert page["tracks"]["next"].startswith("https://music.example.org/api/v1/search?")
    assert "evil" not in client.get("/v1/recommendations", params={
        "seed_tracks": rec["id"]}, headers=evil).text


def test_head_answers_for_every_get(client: TestClient, small_library: Library) -> None:
    rec = small_library.tracks([0])[0]
    album = client.get(f"/v1/tracks/{rec['id']}").json()["album"]["id"]
    for url in (f"/v1/tracks/{rec['id']}", f"/v1/audio-features?ids={rec['id']}",
                f"/v1/recommendations?seed_tracks={rec['id']}", f"/v1/albums/{album}",
                f"/v1/artists/{rec['artist_ids'][0]}/top-tracks", "/health", "/openapi.json",
                "/v1/search?q=the&type=track", "/v1/musicrec/families"):
        got = client.get(url)
        head = client.head(url)
        assert head.status_code == 200 and head.content == b"", url
        assert head.headers["content-length"] == got.headers["content-length"], url
    assert client.head("/v1/tracks/nosuchtrack").status_code == 404


def test_cors_origins(small_library: Library, client: TestClient) -> None:
    app = create_app(LiveLibrary(small_library.path, warm=True),
                     cors_origins=["https://app.example.org"])
    cors = TestClient(app)
    url = f"/v1/tracks/{small_library.tracks([0])[0]['id']}"
    allowed = cors.get(url, headers={"Origin": "https://app.example.org"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    other = cors.get(url, headers={"Origin": "https://other.example.org"})
    assert "access-control-allow-origin" not in other.headers
    preflight = cors.options(url, headers={
        "Origin": "https://app.example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 200
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    # browser apps POST JSON to the flows and files to audio-features
    for path in ("/v1/musicrec/radio", "/v1/musicrec/continue", "/v1/musicrec/audio-features"):
        post = cors.options(path, headers={
            "Origin": "https://app.example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Authorization"})
        assert post.status_code == 200, (path, post.text)
        assert "POST" in post.headers["access-control-allow-methods"]
    # without --cors-origin, no CORS headers at all
    plain = client.get(url, headers={"Origin": "https://app.example.org"})
    assert "access-control-allow-origin" not in plain.headers


def test_search_work_is_bounded(client: TestClient) -> None:
    """A 49 kB query of 6,000 words at offset 950 took 34 s of CPU; now it is refused."""
    huge = " ".join(["lovely", "night", "dancing"] * 2000)
    assert "characters" in error(client, "/v1/search", 400,
                                 {"q": huge, "type": "track", "offset": 950})
    assert "words" in error(client, "/v1/search", 400,
                            {"q": " ".join(["a"] * 13), "type": "track"})
    assert "offset + limit" in error(client, "/v1/search", 400,
                                     {"q": "the", "type": "track", "offset": 996})
    page = ok(client, "/v1/search", models.SearchResults,
              {"q": " ".join(["love"] * 12), "type": "track", "offset": 990, "limit": 10})
    assert page["tracks"]["next"] is None


def test_search_albums(client: TestClient, small_library: Library) -> None:
    rec = small_library.tracks([321])[0]
    body = ok(client, "/v1/search", models.SearchResults,
              {"q": f"{rec['album']} {rec['artists'][0]}", "type": "album", "limit": 10})
    assert rec["album_id"] in [a["id"] for a in body["albums"]["items"]]


def test_albums_and_artist_endpoints(client: TestClient, small_library: Library) -> None:
    rec = small_library.tracks([500])[0]
    album = ok(client, f"/v1/albums/{rec['album_id']}", models.Album)
    rows = [r for r in small_library.tracks(range(len(small_library)))
            if r["album_id"] == rec["album_id"]]
    assert album["total_tracks"] == len(rows) == album["tracks"]["total"]
    assert [t["id"] for t in album["tracks"]["items"]] == [r["id"] for r in rows]
    page = ok(client, f"/v1/albums/{rec['album_id']}/tracks", models.AlbumTracks,
              {"limit": 1, "offset": 1})
    assert [t["id"] for t in page["items"]] == [r["id"] for r in rows[1:2]]
    several = ok(client, "/v1/albums", models.SeveralAlbums,
                 {"ids": f"{rec['album_id']},nosuchalbum"})
    assert [a and a["id"] for a in several["albums"]] == [rec["album_id"], None]
    artist = rec["artist_ids"][0]
    albums = ok(client, f"/v1/artists/{artist}/albums", models.ArtistAlbums, {"limit": 10})
    assert rec["album_id"] in [a["id"] for a in albums["items"]]
    artists = ok(client, "/v1/artists", models.SeveralArtists, {"ids": f"x,{artist}"})
    assert [a and a["id"] for a in artists["artists"]] == [None, artist]


def test_top_tracks_by_popularity_else_by_centrality(client: TestClient,
                                                     labelled_client: TestClient,
                                                     labelled: Library,
                                                     small_library: Library) -> None:
    artist_row = int(np.argmax(labelled.artists.column("tracks").to_numpy()))
    artist = labelled.artist(artist_row)["id"]
    top = ok(labelled_client, f"/v1/artists/{artist}/top-tracks", models.SeveralTracks)
    popularity = [t["popularity"] for t in top["tracks"]]
    assert popularity == sorted(popularity, reverse=True) and len(popularity) <= 10
    rows = labelled.rows_of_artist(artist_row)
    assert popularity[0] == int(labelled.numeric("popularity")[rows].max())
    # without popularity: the song nearest the artist's average sound comes first
    artist_row = int(np.argmax(small_library.artists.column("tracks").to_numpy()))
    rows = small_library.rows_of_artist(artist_row)
    vectors = small_library.vectors[rows]
    centre = vectors.mean(axis=0)
    cosine = vectors @ centre / np.linalg.norm(vectors, axis=1)
    body = ok(client, f"/v1/artists/{small_library.artist(artist_row)['id']}/top-tracks",
              models.SeveralTracks)
    assert body["tracks"][0]["id"] == small_library.tracks([rows[np.argmax(cosine)]])[0]["id"]


def test_id_lookup_tells_apart_ids_with_one_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorised first probe of `library._lookup` falls back to walking equal hashes."""
    import pyarrow as pa

    from musicrec import library
    from musicrec.records import column_reader

    fake = {"a": 5, "b": 5, "c": 7, "zz": 5, "q": 9}
    monkeypatch.setattr(library, "key_hashes",
                        lambda keys: np.array([fake[k] for k in keys], dtype=np.uint64))
    ids = column_reader(pa.chunked_array([["c", "a", "b"]]))  # rows 0, 1, 2
    hashes = np.array([5, 5, 7], dtype=np.uint64)
    order = np.array([1, 2, 0])
    assert library._lookup(hashes, order, ids, ["b", "a", "c", "zz", "q"]) == [
        2, 1, 0, None, None]
    assert library._lookup(hashes[:0], order[:0], ids, ["a"]) == [None]


def test_a_rebuilt_library_is_served_soon_after(tmp_path: Path) -> None:
    """The library is re-checked at most every RECHECK_S seconds, and switched to whole."""
    from musicrec.api.deps import RECHECK_S
    from musicrec.synth import write_catalogue

    for seed in (1, 2):
        write_catalogue(tmp_path / f"songs{seed}.csv", 400, seed=seed)
    build_library(tmp_path / "songs1.csv", tmp_path / "lib")
    old = Library.open(tmp_path / "lib").tracks([0])[0]["id"]
    client = TestClient(create_app(LiveLibrary(tmp_path / "lib", warm=True)))
    assert client.get(f"/v1/tracks/{old}").status_code == 200
    build_library(tmp_path / "songs2.csv", tmp_path / "lib")
    new = Library.open(tmp_path / "lib").tracks([0])[0]["id"]
    time.sleep(RECHECK_S + 0.1)
    assert client.get(f"/v1/tracks/{new}").status_code == 200
    assert client.get(f"/v1/tracks/{old}").status_code == 404


def test_related_artists_sound_like_the_artist(client: TestClient,
                                               small_library: Library) -> None:
    artist_id = small_library.tracks([0])[0]["artist_ids"][0]
    answer = client.get(f"/v1/artists/{artist_id}/related-artists")
    assert answer.status_code == 200
    related = answer.json()["artists"]
    assert 1 <= len(related) <= 20 and artist_id not in [a["id"] for a in related]
    assert all(a["type"] == "artist" for a in related)
    assert client.get("/v1/artists/nobody/related-artists").status_code == 404
