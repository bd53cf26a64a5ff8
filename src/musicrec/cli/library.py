"""Commands that make and describe libraries: synth, build, get, demo, info and evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from pydantic import ValidationError
from rich.table import Table

from musicrec.artefacts import Artefacts, LearnInfo
from musicrec.build import BuildConfig, BuildReport, build_library
from musicrec.cli.common import (
    JsonOption,
    LibraryOption,
    RichBuildProgress,
    app,
    library_path,
    progress,
)
from musicrec.errors import MusicrecError
from musicrec.library import Library
from musicrec.terminal import console, err_console, user_errors


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="Number of songs.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Write a synthetic catalogue in the Kaggle 1.2M-songs schema."""
    from musicrec.synth import write_catalogue

    with user_errors(), progress() as bar:
        task = bar.add_task("synth", total=rows)
        write_catalogue(out, rows, seed, progress=lambda n: bar.update(task, completed=n))
    console.print(f"wrote {rows:,} songs to {out}")


@app.command()
def build(
    sources: Annotated[list[Path] | None, typer.Argument(
        help="Spotify-features CSV or Parquet files, or folders of them, read as one "
             "catalogue.", show_default=False)] = None,
    library: LibraryOption = None,
    families: Annotated[int | None, typer.Option("--families", min=2,
                                                 help="Number of sound families.")] = None,
    playlists: Annotated[list[Path] | None, typer.Option(
        "--playlists", help="Playlists to learn from (repeatable): Million Playlist Dataset "
        "JSON slices (.json, .json.gz), CSV with playlist and track columns, or folders.")]
    = None,
    index: Annotated[str, typer.Option(
        "--index", help="hnsw: a faiss graph in the library; milvus: a Milvus collection "
        "(Milvus Lite in the library, or the server at --milvus-uri).")] = "hnsw",
    milvus_uri: Annotated[str | None, typer.Option(
        "--milvus-uri", help="Milvus server, e.g. http://milvus:19530 (with --index milvus).",
        show_default=False)] = None,
    milvus_token_file: Annotated[Path | None, typer.Option(
        "--milvus-token-file", help="File holding the Milvus token; the library records "
        "the file's path, never the token.", show_default=False)] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="local: this process; ray: validation and features as Ray Data batches.")
    ] = "local",
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="Ray cluster to join (with --engine ray; default: start a "
        "local Ray).", show_default=False)] = None,
    hub_weight: Annotated[float | None, typer.Option(
        "--hub-weight", min=0, help="Rank songs close to every other artist's lower: "
        "similarity minus this times the song's mean similarity to its 10 nearest songs of "
        "other artists (more of the catalogue gets recommended, at a little cost in "
        "precision; see the README). Default 0.4; off with --index milvus or --playlists; 0: off.",
        show_default=False)] = None,
    subsonic: Annotated[str | None, typer.Option(
        "--subsonic", help="Instead of files: analyse every song of this Subsonic or "
        "OpenSubsonic server (URL; with --user and --password-file); ids are the server's.",
        show_default=False)] = None,
    user: Annotated[str | None, typer.Option("--user", help="Subsonic user name.",
                                             show_default=False)] = None,
    password_file: Annotated[Path | None, typer.Option(
        "--password-file", help="File holding the Subsonic password.", show_default=False)]
    = None,
    mpd_music_dir: Annotated[Path | None, typer.Option(
        "--mpd-music-dir", help="Instead of files: analyse the audio files of MPD's music "
        "folder; ids are their paths in it.", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Analysis processes with --subsonic or --mpd-music-dir "
        "(default every core).", show_default=False)] = None,
) -> None:
    """Read CSV or Parquet files, or the songs of a Subsonic server or MPD's music folder,
    and build a library (vectors, index, families)."""
    dest = library_path(library)
    try:
        config = BuildConfig(family_count=families, index=index, milvus_uri=milvus_uri,
                             milvus_token_file=str(milvus_token_file) if milvus_token_file
                             else None, engine=engine, ray_address=ray_address,
                             playlists=playlists or [], hub_weight=hub_weight)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f"--{first['loc'][0]}: ".replace("_", "-") if first["loc"] else ""
        raise typer.BadParameter(where + first["msg"].removeprefix("Value error, ")) from None
    built = None
    with user_errors(), progress() as bar:
        if (subsonic or mpd_music_dir) and sources:
            raise MusicrecError("give catalogue files or --subsonic / --mpd-music-dir, not both")
        if subsonic or mpd_music_dir:
            from musicrec.cli.integrations import build_elsewhere

            built = build_elsewhere(dest, config, RichBuildProgress(bar), subsonic=subsonic,
                                    user=user, password_file=password_file,
                                    music_dir=mpd_music_dir, workers=workers)
            report = built.report
        elif sources:
            report = build_library(sources, dest, config, RichBuildProgress(bar))
        else:
            raise MusicrecError("give the catalogue files, --subsonic URL or --mpd-music-dir")
    print_build_report(report)
    if built is not None:
        from musicrec.cli.integrations import print_audio_build

        print_audio_build(built)


def _sources_help() -> str:
    from musicrec.get import CATALOGUES

    return "Which catalogue: " + "; ".join(f"{c.name}: {c.about}"
                                           for c in CATALOGUES.values()) + "."


@app.command()
def get(
    source: Annotated[str, typer.Argument(help=_sources_help())] = "kaggle",
    library: LibraryOption = None,
) -> None:
    """Download a public catalogue and build it into the library in one step."""
    from musicrec.get import get_catalogue

    with user_errors(), progress() as bar:
        report = get_catalogue(source, library_path(library), progress=RichBuildProgress(bar))
    print_build_report(report)


@app.command()
def demo(library: LibraryOption = None) -> None:
    """Build the built-in catalogue: 28,352 real songs with their Spotify audio features and
    genres (TidyTuesday's "Spotify Songs", 2020, MIT licence). `musicrec synth` makes
    catalogues of any size for scale work."""
    from musicrec.data import demo_catalogue

    with user_errors(), progress() as bar:
        report = build_library(demo_catalogue(), library_path(library),
                               progress=RichBuildProgress(bar))
    print_build_report(report)


def based_on(learned: LearnInfo) -> str:
    """What a library's similarity is made of, in words."""
    parts = ["the songs' sound (audio features)"]
    weight = learned.context["artist_weight"]
    if weight > 0:
        how = "learned" if learned.artist_space == "learned" else "audio features"
        parts.append(f"their artists' sound ({how}, weight {weight:g})")
    if learned.playlists:
        parts.append(f"{learned.playlists.read['playlists']:,} playlists: songs people "
                     "put together")
        if learned.playlists.vocabulary and learned.playlists.titles:
            parts.append(f"{learned.playlists.vocabulary['words']:,} words and "
                         f"{learned.playlists.titles['playlists']:,} titles, for prompts")
    if learned.hub_penalty:
        parts.append(f"less weight to songs close to every other artist's (hub correction, "
                     f"weight {learned.hub_penalty.weight:g})")
    return ", ".join(parts)


def print_build_report(report: BuildReport) -> None:
    table = Table(title=f"Library built at {report.path}", show_header=False)
    table.add_row("rows read", f"{report.rows_read:,}")
    table.add_row("rows kept", f"{report.rows_kept:,}")
    table.add_row("duplicates merged", f"{report.duplicates:,}")
    rejected = sum(report.rejected.values())
    table.add_row("rows rejected", f"{rejected:,}" + (" (see rejected.csv)" if rejected else ""))
    for reason, count in sorted(report.rejected.items(), key=lambda kv: -kv[1]):
        table.add_row(f"  {reason}", f"{count:,}")
    unknown = sum(report.unknown_cells.values())
    if unknown:
        table.add_row("cells made unknown", f"{unknown:,} (optional values that could not be "
                      "read; see rejected.csv)")
        for reason, count in sorted(report.unknown_cells.items(), key=lambda kv: -kv[1]):
            table.add_row(f"  {reason}", f"{count:,}")
    if report.missing_optional:
        table.add_row("optional columns absent", ", ".join(report.missing_optional))
    read = report.learned.playlists.read if report.learned and report.learned.playlists else None
    if read:
        table.add_row("playlists learned from", f"{read['playlists']:,} ({read['entries']:,} "
                      f"entries; {read['songs_in_playlists']:,} songs of the catalogue in them; "
                      f"{read['unknown_tracks']:,} tracks not in the catalogue)")
    for stage, seconds in report.stage_seconds.items():
        table.add_row(f"time: {stage}", f"{seconds:.1f} s")
    console.print(table)
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


@app.command()
def info(
    library: LibraryOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Instead, check every file against the size and SHA-256 the build "
        "recorded (reads the whole library): one line per damaged file.")] = False,
) -> None:
    """Show what is in a library."""
    if verify:
        verify_files(library_path(library))
        return
    with user_errors():
        lib = Library.open(library_path(library))
        data = lib.info()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    counts = data["counts"]
    table = Table(title=f"musicrec library at {data['path']}", show_header=False)
    table.add_row("source", f"{data['source']['name']} (sha256 {data['source']['sha256'][:12]}…)")
    table.add_row("built", f"{data['created']} by musicrec {data['musicrec_version']}")
    table.add_row("songs", f"{counts['rows_kept']:,} of {counts['rows_read']:,} rows read")
    table.add_row("rejected / duplicates", f"{counts['rejected']:,} / {counts['duplicates']:,}")
    unknown = sum(counts["unknown_cells_by_reason"].values())
    table.add_row("cells made unknown", f"{unknown:,}")
    for warning in data["warnings"]:
        table.add_row("warning", warning)
    weights = data["features"]["weights"]
    table.add_row("features (weight)", ", ".join(f"{k} {v:g}" for k, v in weights.items()))
    table.add_row("vector dimensions", str(len(data["features"]["dims"])))
    absent = data["missing_optional"]
    table.add_row("absent optional columns", ", ".join(absent) if absent else "none")
    table.add_row("index", ", ".join(f"{k}={v}" for k, v in data["index"].items()))
    table.add_row("based on", based_on(lib.manifest.learn))
    table.add_row("sound families", f"{data['families']['count']} ({data['families']['method']})")
    table.add_row("size on disk", f"{data['bytes_on_disk'] / 1e6:,.1f} MB")
    console.print(table)


def verify_files(path: Path) -> None:
    """`info --verify`: one line per damaged file and exit 1, else how many files match."""
    with user_errors():
        damaged, checked = Artefacts(path).verify()
    for error in damaged:
        err_console.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
    if damaged:
        raise typer.Exit(1)
    console.print(f"all {checked:,} files match", highlight=False)


@app.command()
def evaluate(
    labels: Annotated[Path | None, typer.Option(
        "--labels", help="CSV of track ids and labels, a track on as many rows as it has labels "
        "(e.g. the 30k songs file).")] = None,
    playlists: Annotated[Path | None, typer.Option(
        "--playlists", help="Playlists (MPD JSON, CSV, or a folder): learn from 80% of them, "
        "score held-out playlists for content only, playlists only and blended, hit@10 against "
        "the seed's own playlist and against any held-out playlist.")] = None,
    prompts: Annotated[bool, typer.Option(
        "--prompts", help="With --playlists: score held-out playlists' titles as prompts "
        "(a library built with the other half), beside three baselines.")] = False,
    library: LibraryOption = None,
    label_column: Annotated[list[str] | None, typer.Option(
        "--label-column", help="Label column; repeat for several. Aliases work: 'genre' finds "
        "playlist_genre. Default: genre.")] = None,
    playlist_column: Annotated[str | None, typer.Option(
        "--playlist-column", help="Playlist id column for co-occurrence "
        "(default: playlist_id when the file has it).")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="List length.")] = 10,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Number of seed songs.")] = 2000,
    rng_seed: Annotated[int, typer.Option("--rng-seed", help="Seed of the seeds' draw.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Also write JSON here.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Score recommendations against labels (--labels), beside random and cosine baselines,
    or on held-out playlists (--playlists).

    Single-song seeds, the seed's artists and album excluded from the candidates.
    """
    from musicrec.cli.prompt import print_prompt_evaluation
    from musicrec.evaluate import evaluate as run_evaluation
    from musicrec.evaluate import read_truth

    with user_errors():
        if (labels is None) == (playlists is None):
            raise MusicrecError("give --labels FILE or --playlists PATH")
        lib = Library.open(library_path(library))
        if playlists is not None:
            show = print_prompt_evaluation if prompts else print_playlist_evaluation
            show(lib, playlists, rng_seed, out, as_json)
            return
        truths = read_truth(lib, labels, label_column or ["genre"], playlist_column)
        result = run_evaluation(lib, truths, k=k, seeds=seeds, rng_seed=rng_seed)
    data = result.to_dict()
    if out is not None:
        out.write_text(json.dumps(data, indent=2))
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table("metric", *result.metrics, title=(
        f"top {k} for {result.seeds:,} seed songs of {result.catalogue_rows:,}, seed's artists "
        "and album excluded"))
    for metric in next(iter(result.metrics.values())):
        table.add_row(metric, *(f"{m[metric]:.0f}" if metric == "most recommended"
                                else f"{m[metric]:.3f}" for m in result.metrics.values()))
    console.print(table)


def print_playlist_evaluation(lib: Library, playlists: Path, rng_seed: int, out: Path | None,
                              as_json: bool) -> None:
    """The held-out playlist table of `musicrec.evaluate.playlist_evaluation`."""
    from musicrec.evaluate import playlist_evaluation
    from musicrec.features import normalize

    # Unit rows: a popularity dimension makes the stored content part's length vary by song.
    content = normalize(np.asarray(lib.manifest.learn.content(lib.vectors)))
    ids = lib.table.column("id").to_numpy(zero_copy_only=False)
    data = playlist_evaluation(lib.table, ids, content, playlists, rng_seed)
    if out is not None:
        out.write_text(json.dumps(data, indent=2))
    if as_json:
        print(json.dumps(data, indent=2))
        return
    for rule, result in data["rules"].items():
        table = Table("method", "hit@10, seed's own playlist", "hit@10, any held-out playlist",
                      "P@10, own", "cold seeds hit@10, own / any", "coverage",
                      title=f"held-out playlists, {rule}: {result['seeds']:,} seeds "
                            f"({result['cold seeds']:,} in no training playlist)")
        for name, m in result["methods"].items():
            cell = {key: f"{m.get(key, float('nan')):.3f}" for key in (
                "all hit@10", "all any-playlist hit@10", "all P@10", "cold hit@10",
                "cold any-playlist hit@10", "coverage")}
            table.add_row(name, cell["all hit@10"], cell["all any-playlist hit@10"],
                          cell["all P@10"],
                          f"{cell['cold hit@10']} / {cell['cold any-playlist hit@10']}",
                          cell["coverage"])
        console.print(table)
    console.print("own: another song of the playlist the seed was drawn from; any: a song "
                  "sharing any held-out playlist with the seed", highlight=False)
