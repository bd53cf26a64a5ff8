"""Songs that live elsewhere (a Subsonic server, MPD's music folder) analysed into a library.

Each song's analysis is cached in a folder beside the library, one small JSON file per song
keyed by its id and file size, written as soon as the song is done: a second build analyses
only new or changed songs, and a build that was interrupted goes on where it stopped. Songs
are fetched a few at a time (threads: downloads wait on the network) and analysed by
`musicrec.audio.analyze.analyze_paths` (processes: the analysis needs the CPU).

A song that cannot be fetched or analysed stays in the catalogue with its features empty, so
the build rejects it like any other row without features (listed in `rejected.csv`); its
reason is kept in the cache and written to `failures.csv` there. Nothing stops the build.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicrec import schema
from musicrec.build import BuildConfig, BuildProgress, BuildReport, build_library
from musicrec.errors import MusicrecError

# A catalogue row's columns: the Kaggle header, plus the genre servers and tags know.
COLUMNS = (*schema.KAGGLE_HEADER, "genre")
CATALOGUE = "songs.csv"
FAILURES = "failures.csv"
ANALYSE = "analyse"


@dataclass(frozen=True)
class Song:
    """One song to analyse, as its source describes it; `id` becomes the library's track id."""

    id: str
    title: str
    artist: str
    album: str = ""
    year: int | None = None
    genre: str = ""
    # Bytes of the file: a song whose size changed is analysed again.
    size: int = -1
    # The file's extension, for a downloaded copy: decoders choose a format by it.
    suffix: str = ""


@dataclass
class AudioBuild:
    """What a build did: the library's report, songs analysed now, songs whose cached
    analysis was reused, and the songs that could not be analysed (with the reason)."""

    report: BuildReport
    analysed: int
    reused: int
    failures: list[tuple[Song, str]] = field(default_factory=list)


def default_cache(library: Path) -> Path:
    """The analysis cache of the library at `library`: a folder beside it (the library folder
    itself is replaced whole by each build)."""
    return library.with_name(library.name + ".audio-cache")


class AnalysisCache:
    """One JSON file per song: its id, size, and features or the reason it failed."""

    def __init__(self, folder: Path):
        self.folder = folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MusicrecError(f"cannot create the analysis cache {folder}: "
                                f"{exc.strerror or exc}") from exc

    def _path(self, song_id: str) -> Path:
        # Ids are the source's (paths, UUIDs): a digest makes each a safe file name.
        return self.folder / (hashlib.sha1(song_id.encode()).hexdigest() + ".json")

    def get(self, song: Song) -> dict[str, Any] | None:
        """The song's cached entry, unless absent, unreadable or for another size."""
        try:
            entry = json.loads(self._path(song.id).read_text())
        except (OSError, ValueError):
            return None
        return entry if entry.get("id") == song.id and entry.get("size") == song.size else None

    def put(self, song: Song, features: dict[str, Any] | None = None,
            tags: dict[str, str] | None = None, error: str | None = None) -> None:
        """Record one song, atomically (a killed build leaves no half-written entry)."""
        path = self._path(song.id)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"id": song.id, "size": song.size, "features": features,
                                   "tags": tags or {}, "error": error}))
        os.replace(tmp, path)


# Fetch a song's file: a path to analyse, in the scratch folder given or elsewhere.
Fetch = Callable[[Song, Path], Path]


def build_audio_library(songs: Sequence[Song], fetch: Fetch, dest: Path, cache_dir: Path, *,
                        origin: str, workers: int | None = None, fetchers: int = 4,
                        config: BuildConfig | None = None,
                        progress: BuildProgress | None = None) -> AudioBuild:
    """Analyse the songs the cache lacks, then build the library at `dest` from every song.

    Args:
        songs: every song of the source (ids unique).
        fetch: makes a song's file available (a download into the scratch folder, or the
            path of a local file); raises `MusicrecError` when it cannot.
        origin: where the songs come from, recorded in the library's manifest.
        workers: analysis processes (default every core); fetchers: fetches at once.

    Raises:
        MusicrecError: no songs, or no song could be analysed; the cache cannot be written.
    """
    if not songs:
        raise MusicrecError(f"{origin} lists no songs")
    progress = progress or BuildProgress()
    cache = AnalysisCache(cache_dir)
    todo = [s for s in songs if cache.get(s) is None]
    progress.start(ANALYSE, len(todo))
    batch = max(8, 4 * max(fetchers, workers or os.cpu_count() or 1))
    for start in range(0, len(todo), batch):
        _analyse(todo[start:start + batch], fetch, cache, workers, fetchers, progress)
    failures = _write_catalogue(songs, cache)
    config = (config or BuildConfig()).model_copy(update={"origin": origin})
    report = build_library(cache_dir / CATALOGUE, dest, config, progress)
    if failures:
        report.warnings.append(f"{len(failures)} song(s) could not be analysed and were "
                               f"rejected; the reasons are in {cache_dir / FAILURES}")
    return AudioBuild(report, analysed=len(todo), reused=len(songs) - len(todo),
                      failures=failures)


def folder_songs(folder: Path) -> list[Song]:
    """The audio files under `folder` as songs whose ids are their paths in it (MPD's URIs);
    names come from their tags at analysis.

    Raises:
        MusicrecError: not a folder, or no audio file in it.
    """
    from musicrec.audio.analyze import collect_audio_files

    if not folder.is_dir():
        raise MusicrecError(f"{folder} is not a folder")
    return [Song(id=path.relative_to(folder).as_posix(), title="", artist="",
                 size=path.stat().st_size) for path in collect_audio_files([folder])]


def build_from_folder(folder: Path, dest: Path, cache_dir: Path, *, workers: int | None = None,
                      config: BuildConfig | None = None,
                      progress: BuildProgress | None = None) -> AudioBuild:
    """Build the library at `dest` from the audio files under `folder` (MPD's music folder),
    analysed in place."""
    return build_audio_library(folder_songs(folder), lambda song, _: folder / song.id, dest,
                               cache_dir, origin=str(folder.resolve()), workers=workers,
                               fetchers=1, config=config, progress=progress)


def _analyse(songs: Sequence[Song], fetch: Fetch, cache: AnalysisCache, workers: int | None,
             fetchers: int, progress: BuildProgress) -> None:
    """Fetch a batch of songs a few at a time, analyse them, cache each result."""
    from musicrec.audio.analyze import AnalysisFailure, analyze_paths

    scratch = cache.folder / "downloads"
    scratch.mkdir(exist_ok=True)

    def fetched(song: Song) -> tuple[Song, Path | str]:
        try:
            return song, fetch(song, scratch)
        except MusicrecError as exc:
            return song, str(exc)

    with ThreadPoolExecutor(max(1, fetchers)) as pool:
        got = list(pool.map(fetched, songs))
    by_path: dict[str, Song] = {}
    for song, where in got:
        if isinstance(where, Path):
            by_path[str(where)] = song
        else:
            cache.put(song, error=where)
            progress.advance(ANALYSE, 1)
    try:
        for item in analyze_paths(list(by_path), workers=workers):
            song = by_path[item.path]
            if isinstance(item, AnalysisFailure):
                cache.put(song, error=item.message)
            else:
                cache.put(song, features=item.features, tags={
                    "title": item.name, "artist": item.artists, "album": item.album,
                    "date": item.release_date})
            progress.advance(ANALYSE, 1)
    finally:
        for path in by_path:
            if Path(path).parent == scratch:
                Path(path).unlink(missing_ok=True)


def _write_catalogue(songs: Iterable[Song], cache: AnalysisCache) -> list[tuple[Song, str]]:
    """Write every song as a catalogue row (empty features for a failed one) and the failures
    beside it; the failures."""
    from musicrec.audio.analyze import AnalysisResult

    failures: list[tuple[Song, str]] = []
    with open(cache.folder / CATALOGUE, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        for song in songs:
            entry = cache.get(song) or {"error": "not analysed"}
            if entry.get("features") is None:
                failures.append((song, str(entry.get("error"))))
            # The source's names first; a folder's songs have only their files' tags.
            tags = entry.get("tags") or {}
            result = AnalysisResult(
                path="", id=song.id, name=song.title or tags.get("title") or Path(song.id).stem,
                artists=song.artist or tags.get("artist") or "unknown artist",
                album=song.album or tags.get("album", ""), features=entry.get("features") or {},
                release_date=str(song.year or tags.get("date", "")))
            writer.writerow({**result.to_row(), "genre": song.genre})
    with open(cache.folder / FAILURES, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "artist", "reason"])
        writer.writerows((s.id, s.title, s.artist, why) for s, why in failures)
    return failures
