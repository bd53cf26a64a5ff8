"""Lazy imports of the optional ``audio`` extra, so ``import musicrec`` never needs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from musicrec.audio.errors import AudioError

INSTALL_HINT = "audio analysis needs the optional extra: pip install 'musicrec[audio]'"


def require(name: str) -> ModuleType:
    """Import ``name`` (soundfile, soxr) or raise a one-line `AudioError`."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise AudioError(f"{INSTALL_HINT} (missing: {name})") from exc
