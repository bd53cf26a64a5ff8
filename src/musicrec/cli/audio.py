"""``musicrec analyze`` and ``musicrec sketch``: thin commands over `musicrec.audio`.

Importing this module does not import soundfile or soxr; without the ``audio`` extra each
command prints one line saying how to install it and exits 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from musicrec import schema
from musicrec.cli.common import app
from musicrec.errors import MusicrecError
from musicrec.terminal import check_output, console, err_console, user_errors

MAX_SECONDS_RANGE = (5, 86_400)  # --max-seconds: at least a few beats, at most a day


@app.command("analyze")
def analyze_command(
    paths: Annotated[list[Path], typer.Argument(help="Audio files and/or folders (WAV, FLAC, "
                                                "OGG, MP3; others with ffmpeg).")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write a CSV in the Kaggle schema that `musicrec build` reads.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Processes; default every core.")] = None,
    max_seconds: Annotated[float, typer.Option(
        "--max-seconds", help="Analyse at most this much from the start of a file "
        "({} to {:,} s).".format(*MAX_SECONDS_RANGE))] = 360.0,
) -> None:
    """Measure Spotify-style audio features of audio files."""
    with user_errors():
        _within("--max-seconds", max_seconds, *MAX_SECONDS_RANGE)
        if out is not None:
            check_output(out)
        from musicrec.audio._deps import require
        from musicrec.audio.errors import AudioError

        for module in ("soundfile", "soxr"):
            require(module)
        from musicrec.audio.analyze import (
            AnalysisFailure,
            AnalysisResult,
            analyze_paths,
            collect_audio_files,
            write_catalogue_csv,
        )

        files = collect_audio_files(paths)
        if not files:
            raise AudioError("no audio files found in " + ", ".join(map(str, paths)))
        results: list[AnalysisResult] = []
        failures: list[AnalysisFailure] = []
        with Progress(TextColumn("analyse"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err_console, transient=True) as progress:
            task = progress.add_task("analyse", total=len(files))
            for item in analyze_paths(files, workers=workers, max_seconds=max_seconds):
                if isinstance(item, AnalysisFailure):
                    failures.append(item)
                    err_console.print(f"[bold red]error:[/] {escape(item.message)}",
                                      highlight=False, soft_wrap=True)
                else:
                    results.append(item)
                progress.advance(task)
        order = {str(p): i for i, p in enumerate(files)}
        results.sort(key=lambda r: order.get(r.path, 0))
        if out is not None:
            write_catalogue_csv(results, out)
            err_console.print(f"wrote {len(results)} row(s) to {escape(str(out))}")
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
        elif results:
            console.print(_table(results))
        if failures:
            err_console.print(f"{len(failures)} of {len(files)} file(s) could not be analysed")
            raise typer.Exit(1)


# The 0..1 features an analysis measures, as the table shows them.
_MEASURED = tuple(f for f in schema.LISTED if f.unit and not f.unknown_from_audio)


def _table(results: list) -> Table:
    table = Table("file", "tempo", "key", "loudness",
                  *(str(m.axis).lower() for m in _MEASURED), "length")
    table.columns[0].no_wrap = True
    unknown: set[str] = set()
    for r in results:
        f = r.features
        key = _key_name(f["key"]) + (" major" if f["mode"] == 1 else " minor")
        table.add_row(
            escape(Path(r.path).name), f"{f['tempo']:.1f}", key, f"{f['loudness']:.1f}",
            *(f"{f[m.name]:.2f}" for m in _MEASURED),
            f"{f['duration_ms'] / 1000:.0f} s")
        unknown.update(r.unknown)
    if unknown:
        table.caption = f"unknown: {', '.join(sorted(unknown))} (reasons in --json)"
    return table


def _key_name(key: int) -> str:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return names[key] if 0 <= key < 12 else "?"


@app.command("sketch")
def sketch_command(
    out: Annotated[Path, typer.Option("--out", help="WAV file to write.")],
    song: Annotated[str | None, typer.Option(
        "--song", help="A song of the library (id or search text) to sketch.")] = None,
    family: Annotated[str | None, typer.Option(
        "--family", help="A sound family (id or name) to sketch: its mean sound.")] = None,
    library: Annotated[Path | None, typer.Option(
        "--library", envvar="MUSICREC_LIBRARY", help="Library folder, for --song and --family.",
        show_default=False)] = None,
    seconds: Annotated[float, typer.Option("--seconds", min=1.0, max=600.0)] = 20.0,
    target_tempo: Annotated[float | None, typer.Option("--target-tempo", help="BPM.")] = None,
    target_key: Annotated[int | None, typer.Option("--target-key", help="0 = C .. 11 = B.")
                          ] = None,
    target_mode: Annotated[int | None, typer.Option("--target-mode", help="1 major, 0 minor.")
                           ] = None,
    target_energy: Annotated[float | None, typer.Option("--target-energy")] = None,
    target_loudness: Annotated[float | None, typer.Option("--target-loudness",
                                                          help="LUFS, -40..-1.")] = None,
    target_danceability: Annotated[float | None, typer.Option("--target-danceability")] = None,
    target_acousticness: Annotated[float | None, typer.Option("--target-acousticness")] = None,
    target_time_signature: Annotated[int | None, typer.Option(
        "--target-time-signature", help="3..7 (Spotify's range); 3 is drawn in 3, the others "
        "in 4.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for jitter and noise.")] = 0,
) -> None:
    """Render a song, a sound family or audio features (--target-X) as a short sound sketch:
    tempo as the beat, key and mode as the harmony, energy and loudness as dynamics,
    danceability as beat regularity, acousticness as timbre. --target-X values override."""
    with user_errors():
        from musicrec.audio.sketch import sketch_for_features, write_wav

        _within("--target-time-signature", target_time_signature, 3, 7)
        _within("--seed", seed, 0, 2**32 - 1)
        check_output(out, {".wav"})
        base = _library_sound(song, family, library) if song or family else {}
        given = {
            "tempo": target_tempo, "key": target_key, "mode": target_mode,
            "energy": target_energy, "loudness": target_loudness,
            "danceability": target_danceability, "acousticness": target_acousticness,
            "time_signature": target_time_signature,
        }
        features = {**base, **{k: v for k, v in given.items() if v is not None}}
        samples = sketch_for_features(features, seconds=seconds, seed=seed)
        write_wav(out, samples)
        err_console.print(f"wrote {seconds:g} s sketch to {escape(str(out))}")


def _within(option: str, value: float | None, lo: float, hi: float) -> None:
    """A one-line error unless `value` (when given) is in lo..hi; NaN never is."""
    if value is not None and not lo <= value <= hi:
        raise MusicrecError(f"{option} must be in {lo}..{hi}, got {value}")


def _library_sound(song: str | None, family: str | None,
                   library: Path | None) -> dict[str, float]:
    """The raw audio features of a library song, or a family's mean ones."""
    from musicrec.config import Settings
    from musicrec.library import Library

    if song and family:
        raise MusicrecError("give --song or --family, not both")
    lib = Library.open(library if library is not None else Settings().library_path())
    if family:
        return dict(lib.families.by_name_or_id(family).feature_means)
    resolved = lib.resolve_seed(song or "")
    if resolved.kind != "track":
        raise MusicrecError(f"--song {song!r} names an artist; give a song")
    track = lib.tracks([lib.row_of(resolved.id)])[0]
    err_console.print(f"sketching {escape(resolved.label)}", highlight=False)
    return {k: float(v) for k, v in track.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}
