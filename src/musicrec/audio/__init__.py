"""Audio files in (analysis into Spotify-style features) and feature vectors out (sketches).

Optional: needs ``pip install 'musicrec[audio]'`` (soundfile, soxr). Importing
this package never imports them; the functions do, and raise `AudioError` with the install
hint when they are missing.
"""

from __future__ import annotations

from typing import Any

from musicrec.audio.errors import AudioError

__all__ = ["AnalysisFailure", "AnalysisResult", "AudioError", "analyze_file", "analyze_upload",
           "analyze_paths", "sketch", "sketch_for_features", "sketch_for_track", "write_wav"]

_LAZY = {
    "AnalysisFailure": "musicrec.audio.analyze",
    "AnalysisResult": "musicrec.audio.analyze",
    "analyze_upload": "musicrec.audio.analyze",
    "analyze_file": "musicrec.audio.analyze",
    "analyze_paths": "musicrec.audio.analyze",
    "sketch": "musicrec.audio.sketch",
    "sketch_for_features": "musicrec.audio.sketch",
    "sketch_for_track": "musicrec.audio.sketch",
    "write_wav": "musicrec.audio.sketch",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'musicrec.audio' has no attribute {name!r}")
