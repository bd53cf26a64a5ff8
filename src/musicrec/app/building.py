"""Building libraries from the app: the demo, an uploaded CSV, progress and the report."""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import streamlit as st

from musicrec.app import format as fmt
from musicrec.app import loading, state
from musicrec.build import BuildProgress, BuildReport, build_library
from musicrec.config import Settings
from musicrec.data import DEMO_SONGS, demo_catalogue
from musicrec.errors import LibraryError, MusicrecError

# The core's build stages in order, with what each means to the person waiting.
STAGE_TEXT: dict[str, str] = {
    "read": "Reading and checking the file",
    "features": "Turning songs into vectors",
    "index": "Building the search index",
    "lookups": "Indexing titles and artists",
    "families": "Finding sound families",
    "write": "Saving the library",
}
BUILD_STAGES = ("read", "features", "index", "lookups", "families", "write")
_REPORT = "build_report"
_SESSION_FOLDER = "upload_folder"


class StreamlitProgress(BuildProgress):
    """Drives one `st.progress` bar through the stages of a build."""

    def __init__(self, stages: Sequence[str] = BUILD_STAGES):
        self.stages = list(stages)
        self.bar = st.progress(0.0, text="Starting…")
        self.stage, self.total, self.done = self.stages[0], 1, 0

    def start(self, stage: str, total: int) -> None:
        if stage not in self.stages:  # a stage this app does not know yet still gets a slot
            self.stages.append(stage)
        self.stage, self.total, self.done = stage, max(total, 1), 0
        self._draw()

    def advance(self, stage: str, amount: int) -> None:
        self.done += amount
        self._draw()

    def advance_to(self, stage: str, done: int) -> None:
        """For callers that report how much is done so far rather than increments."""
        self.advance(stage, done - self.done)

    def finish(self) -> None:
        self.bar.progress(1.0, text="Done")

    def _draw(self) -> None:
        i = self.stages.index(self.stage)
        fraction = (i + min(self.done / self.total, 1.0)) / len(self.stages)
        text = f"{STAGE_TEXT.get(self.stage, self.stage)}… (step {i + 1} of {len(self.stages)})"
        self.bar.progress(min(fraction, 1.0), text=text)


def build_demo() -> None:
    """Build the built-in catalogue of real songs as the shared library and show it."""
    progress = StreamlitProgress()
    report = build_library(demo_catalogue(), loading.shared_path(), progress=progress)
    progress.finish()
    _switch_to(report, everyone=True)  # the app had no library: this is everyone's first


def uploads_folder() -> Path:
    """Where this visitor's uploaded CSVs and the libraries built from them are kept."""
    if _SESSION_FOLDER not in st.session_state:
        st.session_state[_SESSION_FOLDER] = secrets.token_hex(8)
    return Settings().library_path().parent / "uploaded" / st.session_state[_SESSION_FOLDER]


def build_upload(name: str, data: BinaryIO, everyone: bool = False) -> None:
    """Save an uploaded CSV, build a library from it and show it to this visitor (or, for an
    admin, to every visitor).

    Raises:
        MusicrecError: the file is not a usable catalogue (the core's message says why).
    """
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-") or "upload"
    folder = uploads_folder()
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{stem}.csv"
    with source.open("wb") as out:
        shutil.copyfileobj(data, out)
    progress = StreamlitProgress()
    try:
        report = build_library(source, folder / stem, progress=progress)
    except BaseException:
        source.unlink(missing_ok=True)
        raise
    progress.finish()
    _switch_to(report, everyone)


def _switch_to(report: BuildReport, everyone: bool) -> None:
    """Make a freshly built library the one shown; its report waits for the next run."""
    loading.switch_library(report.path, everyone)
    # Seeds name songs of the previous library; the playlist keeps its own copies of songs.
    state.reset_discover(keep_seeds=False)
    st.session_state[_REPORT] = report


def show_last_report() -> None:
    """The report of a build this session finished, if any."""
    report: BuildReport | None = st.session_state.get(_REPORT)
    if report is not None:
        st.success(f"Built a library of {fmt.count(report.rows_kept)} songs at {report.path}; "
                   "the app now shows it.")
        show_report(report)


def show_report(report: BuildReport) -> None:
    """Counts, rejection reasons and timings of a build."""
    rejected = sum(report.rejected.values())
    cols = st.columns(4)
    cols[0].metric("Rows read", fmt.count(report.rows_read))
    cols[1].metric("Songs kept", fmt.count(report.rows_kept))
    cols[2].metric("Rejected", fmt.count(rejected))
    cols[3].metric("Duplicates merged", fmt.count(report.duplicates))
    for warning in report.warnings:
        st.warning(warning, icon=":material/warning:")
    unknown = sum(report.unknown_cells.values())
    if unknown:
        st.caption(f"{fmt.count(unknown)} optional values could not be read and were left "
                   "unknown (the songs were kept); rejected.csv lists each one.")
    if rejected:
        st.markdown("**Why rows were rejected**")
        reasons = pd.DataFrame(sorted(report.rejected.items(), key=lambda kv: -kv[1]),
                               columns=["column: reason", "rows"])
        st.dataframe(reasons, hide_index=True, width="stretch")
    if rejected or unknown:
        rejected_csv = report.path / "rejected.csv"
        st.download_button("Download every rejected row and unknown cell (CSV)",
                           rejected_csv.read_bytes,
                           file_name="rejected.csv", mime="text/csv", on_click="ignore")
    if report.missing_optional:
        st.caption("Optional columns this file lacks: " + ", ".join(report.missing_optional))
    st.caption("Time per stage: " + ", ".join(
        f"{STAGE_TEXT.get(k, k).lower()} {v:.1f} s" for k, v in report.stage_seconds.items()))


def offer_demo() -> None:
    """A button that builds the demo library, and says what it is."""
    st.markdown(f"Build the **demo library**: {fmt.count(DEMO_SONGS)} real songs with their "
                "Spotify audio features and genres (TidyTuesday's \"Spotify Songs\", MIT "
                "licence), in a few seconds.")
    if st.button("Build the demo library", type="primary", icon=":material/library_music:"):
        try:
            build_demo()
        except MusicrecError as exc:
            st.error(f"The demo build failed: {exc}", icon=":material/error:")
            return
        st.rerun()


def require_library() -> loading.LoadedLibrary:
    """The opened library; without one, a friendly page offering the demo, then stop."""
    try:
        return loading.current()
    except LibraryError as exc:
        problem = str(exc)
    st.title("No music library yet")
    st.info(f"There is no music library to show yet. {problem}", icon=":material/info:")
    offer_demo()
    st.markdown("Or build one from your own Spotify-features CSV:")
    st.page_link("views/library_page.py", label="Library: upload a CSV",
                 icon=":material/upload_file:")
    st.stop()
