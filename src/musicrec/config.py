"""Typed settings read from the environment (prefix ``MUSICREC_``); no I/O at import."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_library_path() -> Path:
    """The per-user library folder used when neither --library nor MUSICREC_LIBRARY is set."""
    return Path(platformdirs.user_data_dir("musicrec")) / "library"


class Settings(BaseSettings):
    """Settings shared by the CLI, the API and the app.

    Each can be given as an environment variable (`MUSICREC_PORT=9000`); the command line's
    options override them. The API's worker processes receive the parent's `Settings` object
    itself, so nothing is passed through the environment.
    """

    model_config = SettingsConfigDict(env_prefix="MUSICREC_", extra="forbid")

    library: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    token_file: Path | None = None
    allow_remote_without_token: bool = False
    workers: int | None = Field(None, ge=1, description="API worker processes; default: one "
                                "per core (os.cpu_count()).")
    public_url: str | None = Field(None, description="The API's address as clients reach it, "
                                   "for hrefs; default http://HOST:PORT.")
    cors_origins: list[str] = Field(default_factory=list)
    timeout_keep_alive: float = Field(5.0, gt=0, description="Seconds an idle kept-alive "
                                      "connection stays open.")
    timeout_headers: float = Field(10.0, gt=0, description="Seconds a client has to send a "
                                   "request's headers, from connecting or the last answer.")
    max_upload_mb: float = Field(400.0, gt=0, le=4096, description="The largest audio file "
                                 "the API analyses, in MB (an hour of 24-bit FLAC fits).")
    audio_analyses: int = Field(1, ge=1, le=64, description="Uploads one API worker analyses "
                                "at once; more answer 503 with Retry-After.")
    # `musicrec serve --subsonic-upstream`: the Subsonic server behind the /rest proxy.
    subsonic_upstream: str | None = None
    # The web app: a visitor who gives this token builds the library every visitor sees.
    admin_token_file: Path | None = None

    def library_path(self) -> Path:
        return self.library if self.library is not None else default_library_path()

    def admin_token(self) -> str | None:
        """The app's admin token, or None when there is none (or its file is unreadable)."""
        if self.admin_token_file is None:
            return None
        try:
            token = self.admin_token_file.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None
        return token or None

    def worker_count(self) -> int:
        return self.workers if self.workers is not None else max(1, os.cpu_count() or 1)

    def base_url(self) -> str:
        """The public URL hrefs start with, ending in "/" (never taken from a request)."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"
