"""Reading playlists for learning: MPD slices (JSON) and CSV files of (playlist, track) rows, as
an incidence matrix over a catalogue's songs.

Not `musicrec.playlist_files`, which reads one playlist a person gives: learning reads whole
slices (hundreds of MB, no size bound), needs each playlist's id, and takes any catalogue id
after a `spotify:track:` prefix (a library built from a music server has ids of its own),
where `playlist_files` keeps only 22-character Spotify ids.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from musicrec.errors import CatalogueError

PLAYLIST_ID_COLUMNS = ("pid", "playlist_id", "playlist")
TRACK_COLUMNS = ("track_uri", "track_id", "id", "uri", "spotify_id")
# A playlist's title, when a CSV has it (prompts learn what words mean from titles).
TITLE_COLUMNS = ("playlist_name", "name", "title")
_URI_PREFIX = "spotify:track:"


@dataclass(frozen=True)
class Playlists:
    """Playlists over a catalogue's songs.

    Attributes:
        matrix: (p, n) CSR float32 incidence: 1 where playlist i holds catalogue song j.
        pids: (p,) playlist ids as strings, one per matrix row.
        entries: playlist entries read (known and unknown tracks).
        unknown: entries whose track is not in the catalogue (counted, not an error).
        files: files read.
        extra: (p, u) CSR incidence of the u distinct tracks outside the catalogue. They are
            never recommended, but learning with them places the catalogue's songs better
            (see `PlaylistConfig.use_unknown_tracks`).
        titles: (p,) each playlist's title ("" where its file has none), for `musicrec.prompts`.
    """

    matrix: sp.csr_matrix
    pids: np.ndarray
    entries: int
    unknown: int
    files: int
    extra: sp.csr_matrix | None = None
    titles: np.ndarray | None = None

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def subset(self, rows: np.ndarray) -> Playlists:
        """The playlists at `rows` (same songs, same counts of entries read)."""
        return Playlists(self.matrix[rows], self.pids[rows], self.entries, self.unknown,
                         self.files, None if self.extra is None else self.extra[rows],
                         None if self.titles is None else self.titles[rows])

    def summary(self) -> dict[str, int]:
        return {"files": self.files, "playlists": len(self), "entries": self.entries,
                "unknown_tracks": self.unknown,
                "songs_in_playlists": int((self.matrix.getnnz(axis=0) > 0).sum())}


def _track_id(value: str) -> str:
    value = value.strip()
    return value[len(_URI_PREFIX):] if value.startswith(_URI_PREFIX) else value


def _pairs_from_mpd(path: Path, data: object, titles: dict[str, str]
                    ) -> Iterable[tuple[str, str]]:
    if not isinstance(data, dict) or not isinstance(data.get("playlists"), list):
        raise CatalogueError(f"{path}: not an MPD slice (expected a JSON object with a "
                           "'playlists' list)")
    for i, playlist in enumerate(data["playlists"]):
        if not isinstance(playlist, dict) or "pid" not in playlist or not isinstance(
                playlist.get("tracks"), list):
            raise CatalogueError(f"{path}: playlist {i} has no 'pid' or no 'tracks' list")
        pid = str(playlist["pid"])
        titles[pid] = str(playlist.get("name") or "")
        for track in playlist["tracks"]:
            uri = track.get("track_uri") if isinstance(track, dict) else None
            if not isinstance(uri, str):
                raise CatalogueError(f"{path}: playlist {pid} has a track without 'track_uri'")
            yield pid, _track_id(uri)


def _read_json(path: Path, titles: dict[str, str]) -> list[tuple[str, str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"cannot read playlists from {path}: {exc}") from exc
    return list(_pairs_from_mpd(path, data, titles))


def _pick(columns: Sequence[str], wanted: Sequence[str], path: Path, what: str) -> str:
    lower = {c.lower().strip(): c for c in columns}
    for name in wanted:
        if name in lower:
            return lower[name]
    raise CatalogueError(f"{path}: no {what} column (one of {', '.join(wanted)}); columns found: "
                       f"{', '.join(columns)}")


def _read_csv(path: Path, titles: dict[str, str]) -> list[tuple[str, str]]:
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read playlists from {path}: {exc}") from exc
    pid_col = _pick(header, PLAYLIST_ID_COLUMNS, path, "playlist id")
    track_col = _pick(header, TRACK_COLUMNS, path, "track id or URI")
    title_col = next((c for c in header if c.lower().strip() in TITLE_COLUMNS
                      and c not in (pid_col, track_col)), None)
    try:
        frame = pd.read_csv(path, usecols=[c for c in (pid_col, track_col, title_col) if c],
                            dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read playlists from {path}: {exc}") from exc
    tracks = frame[track_col].str.strip().str.removeprefix(_URI_PREFIX)
    keep = (frame[pid_col].str.strip() != "") & (tracks != "")
    if title_col is not None:
        named = frame[keep].drop_duplicates(pid_col)
        titles.update(zip(named[pid_col].str.strip(), named[title_col], strict=True))
    return list(zip(frame[pid_col][keep].str.strip(), tracks[keep], strict=True))


def _playlist_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(
            (".json", ".json.gz", ".csv", ".csv.gz")))
        if not files:
            raise CatalogueError(f"{path}: no .json, .json.gz, .csv or .csv.gz playlist files")
        return files
    if not path.is_file():
        raise CatalogueError(f"no such playlist file or folder: {path}")
    return [path]


def read_playlists(paths: str | Path | Sequence[str | Path], track_ids: np.ndarray
                   ) -> Playlists:
    """Read playlists from MPD slice JSON (.json, .json.gz), CSV (.csv, .csv.gz) or folders.

    A CSV needs a playlist id column (`pid`, `playlist_id`) and a track column (`track_uri`,
    `track_id`, `id`), holding bare ids or `spotify:track:` URIs. Tracks not in the catalogue
    are counted in `Playlists.unknown`, never an error; a track repeated in a playlist counts
    once.

    Args:
        paths: files or folders (a folder is read recursively).
        track_ids: (n,) the catalogue's track ids, in row order.

    Raises:
        CatalogueError: a file is missing, unreadable, or not in one of these layouts.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files = [f for p in paths for f in _playlist_files(Path(p))]
    pairs: list[tuple[str, str]] = []
    titles: dict[str, str] = {}
    for f in files:
        read = _read_json if f.name.endswith((".json", ".json.gz")) else _read_csv
        pairs += read(f, titles)
    pids = np.array([p for p, _ in pairs], dtype=object)
    tracks = np.array([t for _, t in pairs], dtype=object)
    rows = pd.Index(np.asarray(track_ids, dtype=object)).get_indexer(tracks) if pairs else \
        np.empty(0, np.int64)
    known = rows >= 0
    # Playlists with no catalogue song teach nothing about the catalogue: left out.
    codes, uniques = pd.factorize(pids[known]) if known.any() else (np.empty(0, np.int64), [])
    matrix = _incidence(codes, rows[known], (len(uniques), len(track_ids)))
    unknown_rows = pd.Index(uniques).get_indexer(pids[~known])
    in_kept = unknown_rows >= 0
    extra_codes, extra_ids = pd.factorize(tracks[~known][in_kept])
    extra = _incidence(unknown_rows[in_kept], extra_codes, (len(uniques), len(extra_ids)))
    kept = np.asarray(uniques, dtype=str)
    named = np.array([titles.get(p, "") for p in kept], dtype=object) if titles else None
    return Playlists(matrix, kept, len(pairs), int((~known).sum()), len(files), extra, named)


def _incidence(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A 0/1 float32 CSR matrix; repeated (row, col) pairs count once."""
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape,
                      dtype=np.float32)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m
