"""Does a refactoring change behaviour? Run the same work with two source trees and compare.

    python scripts/same_behaviour.py record OUT.json [--src SRC] [--synth-rows 200000]
    python scripts/same_behaviour.py compare BEFORE.json AFTER.json

`record` builds the demo catalogue and a synthetic one with the musicrec under SRC (default:
this checkout's ``src``), then keeps a digest of every library artefact (the manifest without
its times), the output of a fixed set of CLI commands, and the bytes of a fixed set of API
answers. `compare` lists every difference; none means the two trees behave the same on them.
Record the "before" from a worktree of the old commit (``git worktree add /tmp/before HEAD``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Manifest fields that differ between any two builds ("files": the checksums of the files,
# which are compared here one by one).
VOLATILE = ("created", "stage_seconds", "musicrec_version", "files")
# Where the work happens, the same for every run: paths end up in reports (rejected.csv).
WORK = Path(tempfile.gettempdir()) / "musicrec-same-behaviour"
# A radio cursor's keyed digest depends on the build's time (`radio.library_key`).
_CLI = 'from musicrec.cli import app; app(prog_name="musicrec")'
_CURSOR_DIGEST = re.compile(r'("cursor": ")[A-Za-z0-9_-]{16}')
CLI = [
    ["info", "--json"],
    ["search", "bohemian rhapsody"],
    ["recommend", "--seed", "bohemian rhapsody", "--limit", "10", "--json"],
    ["recommend", "--seed", "bohemian rhapsody", "--target-energy", "0.8", "--min-tempo", "100",
     "--max-year", "2015", "--limit", "10"],
    ["families", "--show"],
    ["family", "3"],
    ["journey", "bohemian rhapsody", "one more time", "--length", "8", "--json"],
    ["radio", "bohemian rhapsody", "--count", "20", "--json"],
    ["recommend", "--help"],
    ["continue", "--help"],
]
API = [
    "/v1/recommendations?seed_tracks={track}&limit=20&target_energy=0.7&min_tempo=90",
    "/v1/recommendations?seed_genres=0&limit=10",
    "/v1/audio-features?ids={track},{track2}",
    "/v1/audio-features/{track}",
    "/v1/tracks/{track}",
    "/v1/search?q=love&type=track,artist,album&limit=10",
    "/v1/musicrec/families",
    "/v1/musicrec/families/2",
    "/v1/recommendations?seed_tracks={track}&min_instrumentalness=2",
    "/openapi.json",
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _artefacts(lib: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted(p for p in lib.rglob("*") if p.is_file()):
        name = str(path.relative_to(lib))
        if name == "manifest.json":
            manifest = json.loads(path.read_text())
            for key in VOLATILE:
                manifest.pop(key, None)
            manifest["source"].pop("path", None)
            found[name] = manifest
        else:
            found[name] = _digest(path)
    return found


def _run(src: Path, args: list[str], lib: Path | None = None) -> str:
    """A musicrec command's exit code and output, with `--library LIB` unless it asks --help."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "120", "NO_COLOR": "1"}
    where = ["--library", str(lib)] if lib is not None and "--help" not in args else []
    done = subprocess.run([sys.executable, "-c", _CLI, *args, *where], capture_output=True,
                          text=True, env=env, timeout=600)
    output = f"exit {done.returncode}\n{done.stdout}{done.stderr}"
    output = _CURSOR_DIGEST.sub(r"\1DIGEST", output)
    return output.replace(str(lib), "LIB") if lib is not None else output


def _api(src: Path, lib: Path) -> dict[str, str]:
    code = f"""
import hashlib, json, sys
sys.path.insert(0, {str(src)!r})
from fastapi.testclient import TestClient
from musicrec.api import create_app
from musicrec.library import Library, LiveLibrary
lib = Library.open({str(lib)!r})
track, track2 = (t["id"] for t in lib.tracks([0, 1]))
client = TestClient(create_app(LiveLibrary(lib.path)))
out = {{}}
for path in {API!r}:
    url = path.format(track=track, track2=track2)
    answer = client.get(url)
    out[path] = f"{{answer.status_code}} " + hashlib.sha256(answer.content).hexdigest()[:16]
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(src)})
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def record(out: Path, src: Path, synth_rows: int) -> None:
    results: dict[str, object] = {"src": str(src)}
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    try:
        synth = WORK / "synth.csv"
        _run(src, ["synth", "--rows", str(synth_rows), "--out", str(synth)])
        sources = {"demo": None, f"synth{synth_rows}": synth}
        for name, source in sources.items():
            lib = WORK / name
            build = ["demo"] if source is None else ["build", str(source)]
            results[f"{name}/build"] = _run(src, build, lib).splitlines()[0]
            results[f"{name}/artefacts"] = _artefacts(lib)
            results[f"{name}/cli"] = {" ".join(a): _run(src, a, lib) for a in CLI}
            results[f"{name}/api"] = _api(src, lib)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


def _comparable(key: str, value: object) -> object:
    """`info --json` without what differs between any two builds (times, paths, checksums)."""
    if key != "info --json" or not isinstance(value, str):
        return value
    status, _, body = value.partition("\n")
    info = json.loads(body)
    for name in (*VOLATILE, "stage_seconds", "bytes_on_disk", "path"):
        info.pop(name, None)
    info["source"].pop("path", None)
    return status, info


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    differences = 0
    for section in sorted(set(a) | set(b)):
        if section == "src":
            continue
        left, right = a.get(section), b.get(section)
        if isinstance(left, dict) and isinstance(right, dict):
            for key in sorted(set(left) | set(right)):
                if _comparable(key, left.get(key)) != _comparable(key, right.get(key)):
                    differences += 1
                    print(f"DIFFERENT {section} :: {key}")
        elif left != right:
            differences += 1
            print(f"DIFFERENT {section}")
    checked = sum(len(v) if isinstance(v, dict) else 1 for k, v in a.items() if k != "src")
    print(f"{checked} items compared, {differences} different")
    return 1 if differences else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--src", type=Path, default=ROOT / "src")
    rec.add_argument("--synth-rows", type=int, default=200_000)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        record(args.out, args.src.resolve(), args.synth_rows)
    else:
        raise SystemExit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
