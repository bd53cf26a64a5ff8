"""Every exception the project raises on purpose.

Interfaces catch `MusicrecError` and show its message: one line, no traceback. Each class
carries the HTTP status the API answers it with, so one handler renders them all.
"""


class MusicrecError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    status = 400


class CatalogueError(MusicrecError):
    """The source file cannot be read as a catalogue (empty, not CSV, missing columns)."""

    status = 400


class LibraryError(MusicrecError):
    """A library folder is missing, damaged, incomplete or from an incompatible version.

    The API answers 503: the server is up, but has no usable library to answer from.
    """

    status = 503


class NotFoundError(MusicrecError):
    """A track, artist or family that the caller named is not in the library."""

    status = 404


class InvalidQueryError(MusicrecError):
    """A recommendation or search request with bad parameters."""

    status = 400


class DownloadError(MusicrecError):
    """A public catalogue could not be downloaded (offline, refused, not found)."""

    status = 502
