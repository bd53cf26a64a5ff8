"""Public catalogues, downloaded and built in one step (`musicrec get`).

Each source is a file on a public hub, fetched with the hub's own client into the hub's own
cache (so a second `get` downloads nothing): Kaggle through ``kagglehub`` (which reads
``~/.kaggle/kaggle.json`` or ``KAGGLE_USERNAME``/``KAGGLE_KEY`` where a dataset needs them),
Hugging Face through ``huggingface_hub`` (which honours ``HF_ENDPOINT``, ``HF_HOME`` and
``HF_TOKEN``). Both clients show their own download bar. The file is then built like any other
source; the manifest's ``source`` records the file's SHA-256 and where it came from.

A download that fails (offline, refused, not found) or a file whose columns are not a
catalogue's is one `DownloadError` or `CatalogueError` line; the library in place is only
replaced by a complete new build.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musicrec.build import BuildConfig, BuildProgress, BuildReport, build_library
from musicrec.errors import CatalogueError, DownloadError


@dataclass(frozen=True)
class PublicCatalogue:
    """A catalogue file on a public hub."""

    name: str  # the `musicrec get` argument
    hub: str
    repo: str  # the hub's dataset id
    filename: str
    about: str  # one line for `--help`

    @property
    def origin(self) -> str:
        """Where the file comes from, as the manifest records it."""
        return f"{self.hub}:{self.repo}/{self.filename}"


CATALOGUES: dict[str, PublicCatalogue] = {c.name: c for c in (
    PublicCatalogue("kaggle", "kaggle", "rodolfofigueroa/spotify-12m-songs",
                    "tracks_features.csv",
                    "Kaggle's \"Spotify 1.2M+ Songs\": 1,204,025 songs with audio features, "
                    "album and year (346 MB)"),
    PublicCatalogue("spotify-tracks", "huggingface", "maharshipandya/spotify-tracks-dataset",
                    "dataset.csv",
                    "Hugging Face's \"Spotify Tracks Dataset\": 114,000 songs in 114 genres, "
                    "with popularity (20 MB)"),
)}


def _from_kaggle(source: PublicCatalogue) -> Path:
    import kagglehub

    return Path(kagglehub.dataset_download(source.repo, path=source.filename))


def _from_huggingface(source: PublicCatalogue) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(source.repo, source.filename, repo_type="dataset",
                                endpoint=os.environ.get("HF_ENDPOINT")))


_DOWNLOADERS: dict[str, Callable[[PublicCatalogue], Path]] = {
    "kaggle": _from_kaggle, "huggingface": _from_huggingface}


def _reason(exc: BaseException) -> str:
    """What went wrong, in words a user can act on."""
    chain: list[BaseException] = [exc]  # hub clients wrap the HTTP error in their own
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    statuses = [getattr(getattr(e, "response", None), "status_code", None) for e in chain]
    status = next((s for s in statuses if isinstance(s, int)), None)
    if status in (401, 403):
        return f"refused (HTTP {status}): the hub wants credentials for it"
    if status == 404:
        return "not found (HTTP 404): the dataset or file is no longer there"
    if status is not None:
        return f"HTTP {status}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    names = " ".join(t.__name__ for t in type(exc).__mro__)
    if any(word in names for word in ("Connect", "Timeout", "LocalEntryNotFound", "Offline")):
        return f"cannot reach the hub (offline?): {text[:200]}"
    return f"{type(exc).__name__}: {text[:200]}"


def download(name: str) -> Path:
    """Download a public catalogue (or find it in the hub's cache) and return its local path.

    Raises:
        DownloadError: an unknown name, or the download failed (the reason in one line).
    """
    if name not in CATALOGUES:
        raise DownloadError(f"unknown source {name!r}: choose one of {', '.join(CATALOGUES)}")
    source = CATALOGUES[name]
    try:
        path = _DOWNLOADERS[source.hub](source)
    except ImportError as exc:
        raise DownloadError(f"{name} needs the {exc.name} package: "
                            "pip install 'musicrec[get]'") from exc
    except Exception as exc:  # noqa: BLE001 - each hub client raises its own kinds
        raise DownloadError(f"cannot download {source.origin}: {_reason(exc)}") from exc
    if not path.is_file():
        raise DownloadError(f"{source.origin}: the hub gave {path}, which is not a file")
    return path


def get_catalogue(name: str, dest: str | Path, config: BuildConfig | None = None,
                  progress: BuildProgress | None = None) -> BuildReport:
    """Download a public catalogue and build it into the library at `dest`.

    Raises:
        DownloadError: the download failed.
        CatalogueError: the file no longer has a catalogue's columns (the hub changed it).
        LibraryError: as `build_library`.
    """
    path = download(name)
    config = (config or BuildConfig()).model_copy(update={"origin": CATALOGUES[name].origin})
    try:
        return build_library(path, dest, config=config, progress=progress)
    except CatalogueError as exc:
        raise CatalogueError(f"{CATALOGUES[name].origin} is not in the schema musicrec "
                             f"knows (changed on the hub?): {exc}") from exc
