"""Every exception the project raises on purpose.

Interfaces catch `MusicrecError` and show its message: one line, no traceback.
"""


class MusicrecError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class CatalogError(MusicrecError):
    """The source file cannot be read as a catalogue (empty, not CSV, missing columns)."""


class LibraryError(MusicrecError):
    """A library folder is missing, incomplete or from an incompatible version."""


class NotFoundError(MusicrecError):
    """A track, artist or family that the caller named is not in the library."""


class InvalidQueryError(MusicrecError):
    """A recommendation or search request with bad parameters."""
