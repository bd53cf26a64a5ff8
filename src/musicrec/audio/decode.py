"""Audio files to samples: the first minutes of a file, decoded in bounded memory.

WAV, FLAC, OGG/Vorbis, Opus and MP3 are decoded by soundfile (libsndfile >= 1.1
reads MP3; the wheels bundle 1.2). Anything soundfile refuses (AAC/M4A, WMA, odd WAV codecs)
goes to the ``ffmpeg`` command line when it is installed. Only the first ``max_seconds`` are
decoded (default 6 minutes; the duration still comes from the whole file), so a 3-hour file
costs what a long song costs; above 48 kHz proportionally fewer (`MAX_DECODE_RATE`), so a
192 kHz file costs no more either.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec.audio._deps import require
from musicrec.audio.errors import AudioError

# Decoded samples are at most those of `max_seconds` at this rate: a file sampled faster is
# analysed over fewer seconds (90 of 360 at 192 kHz) rather than in more memory. A 372 MB WAV
# of 192 kHz stereo peaked at 1.35 GB in an API worker, 0.75 GB at 44.1 kHz
# (benchmarks/upload_memory.py).
MAX_DECODE_RATE = 48_000
# Sample rates the analysis can use (Hz): telephone speech is 8 kHz, studio masters at most
# 384 kHz. A header outside these is damaged or hostile: at 1 Hz a 100 ms loudness block held no
# sample at all.
MIN_RATE, MAX_RATE = 2_000, 768_000


@dataclass
class Decoded:
    """The first `max_seconds` of a file's samples (at most two channels), with what is known
    of the whole file."""

    channels: np.ndarray  # (C, n) float32 at native_sr, C <= 2
    native_sr: int
    duration_s: float  # of the whole file
    tags: dict[str, str]
    decoder: str


def decode(path: Path, max_seconds: float) -> Decoded:
    """Decode a file with soundfile, else with ffmpeg when it is installed.

    Raises:
        AudioError: not audio, damaged, an unusable sample rate, or a codec nothing here reads.
    """
    sf = require("soundfile")
    try:
        with sf.SoundFile(str(path)) as f:
            sr = _usable_rate(path, int(f.samplerate))
            total = f.frames
            data = f.read(min(total, _decode_frames(max_seconds, sr)), dtype="float32",
                          always_2d=True)
            tags = {k: v for k, v in f.copy_metadata().items() if v}
        return Decoded(np.ascontiguousarray(data[:, :2].T), sr, total / sr, tags, "soundfile")
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        soundfile_error = str(exc).split(":")[-1].strip() or str(exc)
    try:
        return _decode_ffmpeg(path, max_seconds, soundfile_error)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:  # e.g. a hung ffmpeg
        raise AudioError(f"{path.name}: ffmpeg cannot decode it ({type(exc).__name__}: "
                         f"{exc})") from None


def _decode_frames(max_seconds: float, sr: int) -> int:
    """How many frames to decode at `sr`: `max_seconds` of them, at most `MAX_DECODE_RATE`."""
    return int(max_seconds * min(sr, MAX_DECODE_RATE))


def _usable_rate(path: Path, sr: int) -> int:
    """`sr`, when the analysis can use it.

    Raises:
        AudioError: a sample rate outside `MIN_RATE`..`MAX_RATE`.
    """
    if not MIN_RATE <= sr <= MAX_RATE:
        raise AudioError(f"{path.name}: a sample rate of {sr:,} Hz cannot be analysed (damaged "
                         f"header?); {MIN_RATE:,} to {MAX_RATE:,} Hz can")
    return sr


def _decode_ffmpeg(path: Path, max_seconds: float, soundfile_error: str) -> Decoded:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        if not _audio_magic(path):
            raise AudioError(f"{path.name}: not an audio file (soundfile: {soundfile_error})")
        raise AudioError(f"{path.name}: cannot decode ({soundfile_error}): damaged, truncated "
                         "or a codec that needs ffmpeg, which is not installed")
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=codec_name,channels,sample_rate:format=duration:format_tags=title,artist,album",
         "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    info = json.loads(probe.stdout or "{}")
    streams = info.get("streams") or []
    if probe.returncode != 0 or not streams:
        what = "damaged or truncated audio file" if _audio_magic(path) else "not an audio file"
        raise AudioError(f"{path.name}: {what} (soundfile: {soundfile_error}; "
                         f"ffmpeg finds no audio stream)")
    stream = streams[0]
    codec = stream.get("codec_name", "unknown")
    try:
        channels = min(int(stream.get("channels", 1)), 2)
        sr = int(stream.get("sample_rate", 0))  # none: refused by `_usable_rate`
    except ValueError:
        raise AudioError(f"{path.name}: unsupported codec {codec!r}") from None
    sr = _usable_rate(path, sr)
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path),
         "-t", f"{_decode_frames(max_seconds, sr) / sr:.3f}",
         "-vn", "-ac", str(channels), "-ar", str(sr), "-f", "f32le", "-"],
        capture_output=True, timeout=600)
    pcm = np.frombuffer(decoded.stdout, dtype="<f4")
    if decoded.returncode != 0 and pcm.size == 0:
        reason = decoded.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        raise AudioError(f"{path.name}: unsupported codec {codec!r} ({reason[0]})")
    pcm = pcm[: pcm.size - pcm.size % channels].reshape(-1, channels).T
    fmt = info.get("format", {})
    try:
        duration = float(fmt.get("duration", pcm.shape[1] / sr))
    except ValueError:
        duration = pcm.shape[1] / sr
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items() if v}
    return Decoded(np.ascontiguousarray(pcm, dtype=np.float32), sr, duration, tags,
                    f"ffmpeg ({codec})")


# RIFF/RF64 WAV, FLAC, Ogg, ID3-tagged MP3, AIFF, ASF (WMA), Matroska, Monkey's Audio, WavPack,
# AMR; MPEG audio frames and MP4 ("ftyp" at byte 4) are checked below.
_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3", b"FORM", b"\x30\x26\xb2\x75",
          b"\x1a\x45\xdf\xa3", b"MAC ", b"wvpk", b"#!AMR")


def _audio_magic(path: Path) -> bool:
    """Whether the file starts like an audio container (so a failure means damage)."""
    with open(path, "rb") as f:
        head = f.read(12)
    mpeg_sync = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    return head.startswith(_MAGIC) or mpeg_sync or head[4:8] == b"ftyp"
