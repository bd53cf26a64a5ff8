"""Where people's music lives: Subsonic / OpenSubsonic servers and MPD.

- `subsonic_client`: a small Subsonic REST client (httpx), the password read from a file;
- `audio_library`: analysed audio as a library, with a per-song analysis cache (resumable);
- `subsonic_build`: a library from a Subsonic server's songs, ids being the server's;
- `subsonic_sync`: musicrec's playlists written back to the server, replaced in place;
- `subsonic_answers`: the sonic endpoints (`getSonicSimilarTracks`, `findSonicPath`,
  `getSimilarSongs`) answered from a library, in Subsonic's JSON or XML;
- `mpd_radio`: MPD's queue kept a few songs ahead by the radio.

Each needs an extra (`subsonic`: httpx; `mpd`: python-mpd2) imported only when used.
"""
