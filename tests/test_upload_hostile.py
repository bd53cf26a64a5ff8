"""Hostile uploads to `POST /v1/musicrec/audio-features`: a client's file name never becomes a
path, nothing is left in the temporary folder, size and concurrency are bounded, and every
refusal is a 4xx/503 in Spotify's error shape."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.audio

HOSTILE_NAMES = ["..wav", "x/..wav", "..mp3", "..", "a/..", "../../etc/passwd.wav",
                 "..\\..\\x.wav", "/tmp/abs.wav", "", ".", "a" * 5000 + ".wav", "nul\x00.wav"]


@pytest.fixture(scope="module")
def wav_bytes() -> bytes:
    sf = pytest.importorskip("soundfile")
    t = np.arange(int(3 * 22050)) / 22050
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 440 * t), 22050, format="WAV")
    return buffer.getvalue()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system temporary folder, redirected so that anything left behind can be seen."""
    folder = tmp_path / "systemtmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


@pytest.fixture(scope="module")
def client(small_library: object) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from musicrec.api import create_app
    from musicrec.api.routes.audio import _limits
    from musicrec.library import LiveLibrary

    _limits.cache_clear()
    with TestClient(create_app(LiveLibrary(small_library.path))) as test_client:
        yield test_client
    _limits.cache_clear()


def _post(client: object, name: str, data: bytes) -> object:
    return client.post("/v1/musicrec/audio-features", files={"file": (name, data, "audio/wav")})


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_file_names_leave_nothing_behind(client: object, private_tmp: Path,
                                                 wav_bytes: bytes, name: str) -> None:
    answer = _post(client, name, wav_bytes)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert set(answer.json()) == {"error"}
    assert list(private_tmp.iterdir()) == []
    assert list(private_tmp.parent.iterdir()) == [private_tmp]  # nothing beside it either


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.sampled_from("./\\a.wMP3 \x00é"), max_size=20))
def test_any_file_name_is_answered_and_cleaned_up(client: object, private_tmp: Path,
                                                  wav_bytes: bytes, name: str) -> None:
    answer = _post(client, name, wav_bytes)
    assert answer.status_code in (200, 400), answer.text
    assert list(private_tmp.iterdir()) == []


@given(name=st.text(max_size=300))
def test_the_suffix_kept_is_a_known_extension_or_nothing(name: str) -> None:
    from musicrec.audio.analyze import AUDIO_EXTENSIONS, upload_suffix

    suffix = upload_suffix(name)
    assert suffix == "" or suffix in AUDIO_EXTENSIONS


def test_refused_and_failed_uploads_leave_nothing(client: object, private_tmp: Path) -> None:
    bad = _post(client, "notes.wav", b"not audio at all")
    assert bad.status_code == 400 and set(bad.json()) == {"error"}
    assert list(private_tmp.iterdir()) == []


def test_size_is_bounded_by_configuration(small_library: object, private_tmp: Path,
                                          wav_bytes: bytes,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from musicrec.api import create_app
    from musicrec.api.routes.audio import _limits
    from musicrec.library import LiveLibrary

    monkeypatch.setenv("MUSICREC_MAX_UPLOAD_MB", "0.1")
    _limits.cache_clear()
    try:
        client = TestClient(create_app(LiveLibrary(small_library.path)))
        answer = _post(client, "big.wav", wav_bytes)  # 130 kB
        assert answer.status_code == 413
        assert answer.json()["error"]["message"] == "the file is larger than 0.1 MB"
        assert list(private_tmp.iterdir()) == []
    finally:
        _limits.cache_clear()


def test_analyses_beyond_the_limit_answer_503_with_retry_after(client: object,
                                                               wav_bytes: bytes) -> None:
    from musicrec.api.routes.audio import _limits

    _, slots, _ = _limits()
    assert slots.acquire(blocking=False)  # another upload is being analysed
    try:
        busy = _post(client, "song.wav", wav_bytes)
    finally:
        slots.release()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
    assert set(busy.json()) == {"error"}
    assert _post(client, "song.wav", wav_bytes).status_code == 200
