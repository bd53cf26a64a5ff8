"""The `musicrec` command: each module adds its commands to one Typer app (`common.app`) with
`@app.command`, and only parses arguments, calls the core and prints the answer.

- `common`: the app, the options every command shares, the library folder, knob parsing;
- `library`: synth, build, get, demo, info, evaluate;
- `families`: families and family;
- `songs`: search, recommend, related;
- `servers`: serve (the REST API) and app (the web app);
- `audio`: analyze and sketch;
- `flows`: continue, journey and radio;
- `integrations`: subsonic-sync and mpd-radio (and build's --subsonic / --mpd-music-dir);
- `prompt`: prompt (songs for a prompt in words).
"""

# Each import adds its module's commands; `musicrec --help` lists them in this order.
# isort: off
from musicrec.cli import library, families, songs, servers, audio, flows  # noqa: F401
from musicrec.cli import integrations, prompt  # noqa: F401
# isort: on
from musicrec.cli.common import app

__all__ = ["app"]
