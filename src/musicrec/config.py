"""Typed settings read from the environment (prefix ``MUSICREC_``); no I/O at import."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_library_path() -> Path:
    """The per-user library folder used when neither --library nor MUSICREC_LIBRARY is set."""
    return Path(platformdirs.user_data_dir("musicrec")) / "library"


class Settings(BaseSettings):
    """Settings shared by the CLI, the API and the app."""

    model_config = SettingsConfigDict(env_prefix="MUSICREC_", extra="forbid")

    library: Path | None = None

    def library_path(self) -> Path:
        return self.library if self.library is not None else default_library_path()
