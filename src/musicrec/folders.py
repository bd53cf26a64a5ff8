"""Where a library lives on disk: versioned folders behind an atomically replaced link.

The library a user names (`~/.local/share/musicrec/library`) is a symbolic link to a
versioned folder beside it (`.library.v<time>`). A build writes a new version in full, then
replaces the link with one `rename`, which is atomic: at every instant the name points at a
complete library, the old or the new, never at nothing and never at a mix. A reader that opened
the old version keeps its memory-mapped files; the version before the current one is kept for
such readers, older ones are removed.

Builds of one destination take a lock (`.library.lock`, `flock`): a second build is told who
holds it instead of racing. Folders of killed builds (`.library.building-PID` of a process
that is gone) are removed at the next build, and a destination left without its link (a
crash while a pre-versioned library was being moved aside) is relinked to its newest version.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from musicrec.errors import LibraryError

MANIFEST = "manifest.json"
KEEP_VERSIONS = 2  # the current one and the one before, for readers still using it


def version_folders(dest: Path) -> list[Path]:
    """The complete versions of the library at `dest`, oldest first."""
    found = [p for p in dest.parent.glob(f".{dest.name}.v*")
             if p.is_dir() and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: p.name)


def recover(dest: Path) -> None:
    """Relink `dest` to its newest complete version when the link is missing."""
    if dest.exists() or dest.is_symlink():
        return
    versions = version_folders(dest)
    if versions:
        _point(dest, versions[-1])


@contextmanager
def build_lock(dest: Path) -> Iterator[None]:
    """Hold the build lock of `dest` for the duration.

    Raises:
        LibraryError: another build of the same destination is running.
    """
    lock_path = dest.parent / f".{dest.name}.lock"
    try:
        handle = lock_path.open("a+")
    except OSError as exc:
        raise LibraryError(f"cannot write beside {dest}: {exc.strerror or exc}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LibraryError(f"another build of {dest} is running ({holder}); wait for it "
                               "to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_build_folder(dest: Path) -> Path:
    """An empty folder beside `dest` for a build to write into; stale ones are removed."""
    for stale in dest.parent.glob(f".{dest.name}.building-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = dest.parent / f".{dest.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def publish(tmp: Path, dest: Path) -> None:
    """Make the complete library in `tmp` the one at `dest`, atomically."""
    version = dest.parent / f".{dest.name}.v{time.time_ns()}"
    tmp.rename(version)
    if dest.is_dir() and not dest.is_symlink():
        # A library from before versioned folders: moved aside as the oldest version. A crash
        # right here leaves no link; `recover` restores it at the next open or build.
        dest.rename(dest.parent / f".{dest.name}.v0")
    _point(dest, version)
    for old in version_folders(dest)[:-KEEP_VERSIONS]:
        shutil.rmtree(old, ignore_errors=True)


def _point(dest: Path, version: Path) -> None:
    link = dest.parent / f".{dest.name}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(version.name)
    os.replace(link, dest)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
