"""musicrec: music recommendations over Spotify audio features, on a laptop."""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Library", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use so `import musicrec` stays light for the CLI's --help.
    if name == "Library":
        from musicrec.library import Library

        return Library
    raise AttributeError(name)
