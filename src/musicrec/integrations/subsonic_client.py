"""A small Subsonic REST client: the calls musicrec makes to a Subsonic or OpenSubsonic server.

The password is read from a file (never a command-line argument, never logged) and sent as
Subsonic's `p=enc:<hex>`, which every server version takes (token authentication came with
API 1.13, and servers such as supysonic 0.7 or LMS do not accept it).

Raises `SubsonicError` for the server's own refusals (its code and message) and
`MusicrecError` when the server cannot be reached or does not answer as a Subsonic server.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from musicrec.errors import MusicrecError

# The protocol version musicrec speaks: the last classic Subsonic one, which OpenSubsonic
# servers take too.
API_VERSION = "1.16.1"
CLIENT_NAME = "musicrec"
# Songs asked for per search3 page while listing the library.
PAGE = 500
WRONG_CREDENTIALS = 40


class SubsonicError(MusicrecError):
    """A Subsonic server refused a call: its error code and message."""

    status = 502

    def __init__(self, code: int, message: str):
        super().__init__(f"the Subsonic server refused: {message} (code {code})")
        self.code = code


def extra(module: str, name: str) -> ModuleType:
    """Import a module of an optional extra, or say in one line how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MusicrecError(f"this needs the optional extra: pip install 'musicrec[{name}]' "
                            f"(missing: {module})") from exc


def check_url(url: str, option: str) -> None:
    """Refuse a server address that is not http(s)://HOST... before any work."""
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise MusicrecError(f"{option} {url!r}: give the server's address as "
                            "http://HOST:PORT or https://HOST")


def read_password(path: Path) -> str:
    """The password in a file (its first line, surrounding spaces dropped).

    Raises:
        MusicrecError: the file is missing, unreadable or empty.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise MusicrecError(f"cannot read the password file {path}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from exc
    password = lines[0].strip() if lines else ""
    if not password:
        raise MusicrecError(f"the password file {path} is empty")
    return password


def auth_params(user: str, password: str) -> dict[str, str]:
    """The query parameters that authenticate every call."""
    return {"u": user, "p": "enc:" + password.encode().hex(), "v": API_VERSION,
            "c": CLIENT_NAME}


class SubsonicClient:
    """The calls musicrec makes, each answering the `subsonic-response` object."""

    def __init__(self, url: str, user: str, password: str, timeout: float = 60.0):
        httpx = extra("httpx", "subsonic")
        self.url = url.rstrip("/")
        self._params = {**auth_params(user, password), "f": "json"}
        self._http = httpx.Client(timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SubsonicClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One API call; list values are sent as repeated parameters.

        Raises:
            SubsonicError: the server answered `status="failed"`.
            MusicrecError: no server, or no Subsonic answer, at the URL.
        """
        import httpx

        try:
            response = self._http.get(f"{self.url}/rest/{method}",
                                      params={**self._params, **params})
            body = response.json()["subsonic-response"]
        except httpx.HTTPError as exc:
            raise MusicrecError(f"cannot reach the Subsonic server at {self.url}: "
                                f"{exc}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise MusicrecError(f"{self.url} did not answer {method} as a Subsonic server "
                                f"(HTTP {response.status_code})") from exc
        if body.get("status") != "ok":
            error = body.get("error") or {}
            raise SubsonicError(int(error.get("code", 0)), str(error.get("message", "")))
        return body

    def ping(self) -> None:
        """Check the address and the credentials."""
        self.call("ping")

    def songs(self) -> Iterator[dict[str, Any]]:
        """Every song of the server (`Child` objects), paging through an empty search3, which
        Navidrome, gonic, supysonic and others answer with the whole library."""
        offset = 0
        while True:
            page = self.call("search3", query="", artistCount=0, albumCount=0,
                             songCount=PAGE, songOffset=offset)
            songs = (page.get("searchResult3") or {}).get("song") or []
            yield from (s for s in songs if not s.get("isDir") and not s.get("isVideo"))
            if len(songs) < PAGE:
                return
            offset += len(songs)

    def download(self, song_id: str, dest: Path) -> None:
        """The song's original file, streamed to `dest`.

        Raises:
            MusicrecError: the download failed or answered an error instead of audio.
        """
        import httpx

        params = {**self._params, "id": song_id}
        try:
            with self._http.stream("GET", f"{self.url}/rest/download", params=params) as r:
                kind = r.headers.get("content-type", "")
                if r.status_code != 200 or kind.startswith(("application/json", "text/xml",
                                                            "application/xml")):
                    r.read()
                    raise MusicrecError(f"song {song_id}: the server sent no file "
                                        f"(HTTP {r.status_code}, {kind or 'no type'})")
                with open(dest, "wb") as f:
                    for block in r.iter_bytes(1 << 16):
                        f.write(block)
        except httpx.HTTPError as exc:
            raise MusicrecError(f"song {song_id}: download failed: {exc}") from exc

    def playlists(self) -> list[dict[str, Any]]:
        """The user's playlists (and the public ones), without their songs."""
        return (self.call("getPlaylists").get("playlists") or {}).get("playlist") or []

    def playlist_songs(self, playlist_id: str) -> list[dict[str, Any]]:
        return (self.call("getPlaylist", id=playlist_id).get("playlist") or {}).get(
            "entry") or []

    def create_playlist(self, name: str, song_ids: Sequence[str]) -> str:
        """A new playlist; its id. Servers before API 1.14 answer nothing, so the id is then
        found by name among the user's playlists (the newest of that name)."""
        body = self.call("createPlaylist", name=name, songId=list(song_ids))
        created = body.get("playlist") or {}
        if created.get("id"):
            return str(created["id"])
        same = [p for p in self.playlists() if p.get("name") == name]
        if not same:
            raise MusicrecError(f"the server did not keep the playlist {name!r}")
        return str(max(same, key=lambda p: str(p.get("created", "")))["id"])

    def replace_playlist(self, playlist_id: str, song_ids: Sequence[str]) -> None:
        """Replace a playlist's songs, keeping its id (createPlaylist with playlistId)."""
        self.call("createPlaylist", playlistId=playlist_id, songId=list(song_ids))

    def update_playlist(self, playlist_id: str, **fields: str) -> None:
        """Change a playlist's name or comment."""
        self.call("updatePlaylist", playlistId=playlist_id, **fields)

    def starred_songs(self) -> list[dict[str, Any]]:
        return (self.call("getStarred2").get("starred2") or {}).get("song") or []
