"""The audio package's error type (a `MusicrecError`, so every interface shows it as one line)."""

from musicrec.errors import MusicrecError


class AudioError(MusicrecError):
    """An audio file cannot be analysed (not audio, empty, damaged, silent, unsupported codec),
    a sketch request is out of range, or the optional ``musicrec[audio]`` extra is missing."""


class UploadTooLarge(AudioError):
    """An uploaded file is larger than the configured limit."""

    status = 413
