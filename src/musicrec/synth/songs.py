"""One chunk of rows: albums, songs, credits, titles, re-releases and album names, drawn from
one generator in a fixed order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from musicrec.schema import KAGGLE_HEADER
from musicrec.synth.plan import (
    _ids,
    _pick,
    _Plan,
)
from musicrec.synth.tables import (
    _ALBUM_SHARE,
    _ARTIST_SHARE,
    _COMPILATION_TITLES,
    _DAYS_IN_MONTH,
    _EXPLICIT_INTERCEPT,
    _EXPLICIT_SLOPE,
    _KEY_PROB,
    _LAST_YEAR,
    _LATENT,
    _MAIN_STYLE_ALBUMS,
    _MONTH_ONLY_PROB,
    _NEAR_DUP_NOISE,
    _ODD_METER_PROB,
    _ODD_METER_SLOPE,
    _ODD_METERS,
    _PRECISION_YEARS,
    _QUANTILES,
    _SILENT_SHARE,
    _SPEECH,
    _STYLE_MAJOR,
    _STYLE_MEANS,
    _TRACK_SHARE,
    _TRACK_SUFFIX_PROB,
    _TRACK_SUFFIXES,
    _TWO_DIGITS,
    _WITHIN_CHOLESKY,
    _YEAR,
    _YEAR_ONLY_PROB,
    _YEAR_TEXT,
    _YEAR_UNKNOWN_SHARE,
    _Z_GRID,
)


def _offsets(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Correlated latent offsets (n, 11) carrying ``share`` of the within-style covariance."""
    return rng.standard_normal((n, len(_LATENT))) @ (np.sqrt(share) * _WITHIN_CHOLESKY.T)


def _to_values(latent: np.ndarray) -> np.ndarray:
    """Map latent scores (n, k) through the first k quantile tables."""
    return np.stack(
        [np.interp(latent[:, j], _Z_GRID, _QUANTILES[j]) for j in range(latent.shape[1])], axis=1
    )


def _round_significant(x: np.ndarray, digits: int = 3) -> np.ndarray:
    """Round non-negative values to ``digits`` significant digits, as Spotify reports them."""
    magnitude = np.floor(np.log10(np.where(x > 0, x, 1.0)))
    scale = 10.0 ** (digits - 1 - magnitude)
    # Dividing by an exact power of ten gives the double nearest the decimal, so the CSV shows
    # 0.0727 rather than 0.07270000000000001.
    return np.round(x * scale) / scale


def _release_dates(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` strings; ``0000`` for unknown years."""
    n = len(years)
    month = rng.integers(1, 13, n)
    day = 1 + np.floor(rng.random(n) * _DAYS_IN_MONTH[month - 1]).astype(np.int64)
    year_only = np.interp(years, _PRECISION_YEARS, _YEAR_ONLY_PROB)
    month_only = np.interp(years, _PRECISION_YEARS, _MONTH_ONLY_PROB)
    draw = rng.random(n)
    text_year = _YEAR_TEXT[years]
    with_month = text_year + "-" + _TWO_DIGITS[month]
    with_day = with_month + "-" + _TWO_DIGITS[day]
    return np.where(
        (years == 0) | (draw < year_only),
        text_year,
        np.where(draw < year_only + month_only, with_month, with_day),
    )


@dataclass
class _Albums:
    """One chunk's albums: their artist, size, whether a compilation, style, latent centre and
    year (0: unknown)."""

    artist: np.ndarray
    size: np.ndarray
    compilation: np.ndarray
    style: np.ndarray
    centre: np.ndarray
    years: np.ndarray


@dataclass
class _Songs:
    """One chunk's original songs (not re-releases), with everything a re-release keeps."""

    rows: np.ndarray  # their row in the chunk
    album: np.ndarray
    style: np.ndarray
    artist: np.ndarray
    latent: np.ndarray
    values: np.ndarray
    key: np.ndarray
    mode: np.ndarray
    explicit: np.ndarray
    meter: np.ndarray
    silent: np.ndarray


def _chunk(plan: _Plan, k: int) -> pd.DataFrame:
    """Rows of chunk ``k``: the 24 Kaggle columns and ``style``.

    The steps draw from one generator in a fixed order, so a chunk depends only on the plan's
    seed and ``k``.
    """
    rng = np.random.default_rng([plan.seed, k + 1])
    albums = _draw_albums(plan, k, rng)
    n = int(albums.size.sum())
    row_album = np.repeat(np.arange(len(albums.size)), albums.size)
    album_start = np.cumsum(albums.size) - albums.size
    position = np.arange(n) - np.repeat(album_start, albums.size)
    discs = np.where((albums.size >= 20) & (rng.random(len(albums.size)) < 0.5),
                     np.where(albums.size >= 32, 3, 2), 1)
    per_disc = -(-albums.size // discs)
    songs = _draw_songs(rng, albums, row_album)
    artists, artist_ids, guest = _credits(plan, rng, songs)
    title = _titles(plan, rng, len(songs.rows), guest)
    source = _sources(rng, albums, album_start, songs)
    feature = _features(rng, songs, source, albums.compilation[row_album])
    album_name = _album_names(plan, rng, albums, songs, title)
    ids, album_ids = _ids(rng, n), _ids(rng, len(albums.size))[row_album]
    per_row = {
        "id": ids, "name": title[source], "album": album_name[row_album], "album_id": album_ids,
        "artists": artists[source], "artist_ids": artist_ids[source],
        "track_number": position % per_disc[row_album] + 1,
        "disc_number": position // per_disc[row_album] + 1,
        "explicit": songs.explicit[source], "key": songs.key[source],
        "mode": songs.mode[source], "time_signature": songs.meter[source],
        "year": albums.years[row_album],
        "release_date": _release_dates(rng, albums.years)[row_album],
        **{name: _as_spotify_writes(name, values) for name, values in feature.items()},
    }
    columns = {**{name: per_row[name] for name in KAGGLE_HEADER}, "style": songs.style[source]}
    # Exact repeats land at random later places in the chunk, not next to their original.
    repeated = rng.choice(n, plan.chunk_exact_dups[k], replace=False)
    keys = np.concatenate([np.arange(n), repeated + rng.random(len(repeated)) * (n - repeated)])
    order = np.concatenate([np.arange(n), repeated])[np.argsort(keys, kind="stable")]
    return pd.DataFrame({name: column[order] for name, column in columns.items()})


def _as_spotify_writes(name: str, values: np.ndarray) -> np.ndarray:
    """A feature rounded as Spotify's exports show it: 3 significant digits for the 0..1
    features, 3 decimals for loudness and tempo, whole milliseconds."""
    if name == "duration_ms":
        return np.rint(values).astype(np.int64)
    if name in ("loudness", "tempo"):
        return np.round(values, 3)
    return _round_significant(values)


def _draw_albums(plan: _Plan, k: int, rng: np.random.Generator) -> _Albums:
    """Chunk ``k``'s albums: style, latent centre and year."""
    a0, a1 = plan.artist_bounds[k], plan.artist_bounds[k + 1]
    b0, b1 = plan.album_bounds[k], plan.album_bounds[k + 1]
    album_artist = plan.album_artist[b0:b1]
    n_albums = b1 - b0
    styles = plan.artist_styles[album_artist]
    use_second = (styles[:, 1] >= 0) & (rng.random(n_albums) >= _MAIN_STYLE_ALBUMS)
    album_style = np.where(use_second, styles[:, 1], styles[:, 0])
    artist_offset = _offsets(rng, a1 - a0, _ARTIST_SHARE)[album_artist - a0]
    album_offset = _offsets(rng, n_albums, _ALBUM_SHARE)
    album_centre = _STYLE_MEANS[album_style] + artist_offset + album_offset
    # Years carry no track-level part, so the shared parts are scaled up to the full spread.
    year_score = _STYLE_MEANS[album_style, _YEAR] + (
        artist_offset[:, _YEAR] + album_offset[:, _YEAR]
    ) / np.sqrt(_ARTIST_SHARE + _ALBUM_SHARE)
    years = np.rint(np.interp(year_score, _Z_GRID, _QUANTILES[_YEAR])).astype(np.int64)
    years = np.where(rng.random(n_albums) < _YEAR_UNKNOWN_SHARE, 0, np.minimum(years, _LAST_YEAR))
    return _Albums(album_artist, plan.album_size[b0:b1], plan.album_is_compilation[b0:b1],
                   album_style, album_centre, years)


def _draw_songs(rng: np.random.Generator, albums: _Albums, row_album: np.ndarray) -> _Songs:
    """The original songs: latent scores, feature values, key, mode, explicit and meter."""
    original = np.flatnonzero(~albums.compilation[row_album])
    n_orig = len(original)
    orig_album = row_album[original]
    orig_style = albums.style[orig_album]
    latent = albums.centre[orig_album, :_YEAR] + _offsets(rng, n_orig, _TRACK_SHARE)[:, :_YEAR]
    values = _to_values(latent)
    key = rng.choice(12, n_orig, p=_KEY_PROB / _KEY_PROB.sum())
    mode = (rng.random(n_orig) < _STYLE_MAJOR[orig_style]).astype(np.int64)
    explicit_logit = _EXPLICIT_INTERCEPT + _EXPLICIT_SLOPE * latent[:, _SPEECH]
    explicit = rng.random(n_orig) < 1 / (1 + np.exp(-explicit_logit))
    odd_meter = rng.random(n_orig) < _ODD_METER_SLOPE * (
        1 - values[:, _LATENT.index("danceability")]
    )
    meter = np.where(odd_meter, rng.choice(_ODD_METERS, n_orig, p=_ODD_METER_PROB), 4)
    silent = rng.random(n_orig) < _SILENT_SHARE
    meter = np.where(silent, 0, meter)
    return _Songs(original, orig_album, orig_style, albums.artist[orig_album], latent, values,
                  key, mode, explicit, meter, silent)


def _credits(plan: _Plan, rng: np.random.Generator, songs: _Songs
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(artists, artist_ids, first guest or -1) per original song. Guests come from the
    album's style; a draw that repeats an artist is dropped."""
    n_orig = len(songs.rows)
    n_guests = rng.choice(3, n_orig, p=(0.85, 0.11, 0.04))
    style_count = np.diff(plan.style_starts)[songs.style]
    guests = []
    for _ in range(2):
        slot = plan.style_starts[songs.style] + (rng.random(n_orig) * style_count).astype(np.int64)
        guests.append(plan.artists_by_style[np.minimum(slot, len(plan.artists_by_style) - 1)])
    guest1 = np.where((n_guests >= 1) & (guests[0] != songs.artist), guests[0], -1)
    guest2 = np.where(
        (n_guests >= 2) & (guest1 >= 0) & (guests[1] != songs.artist) & (guests[1] != guest1),
        guests[1],
        -1,
    )
    artists = "[" + plan.artist_name_reprs[songs.artist]
    artist_ids = "[" + plan.artist_id_reprs[songs.artist]
    for guest in (guest1, guest2):
        artists = np.where(guest >= 0, artists + ", " + plan.artist_name_reprs[guest], artists)
        artist_ids = np.where(
            guest >= 0, artist_ids + ", " + plan.artist_id_reprs[guest], artist_ids
        )
    return artists + "]", artist_ids + "]", guest1


def _titles(plan: _Plan, rng: np.random.Generator, n_orig: int, guest1: np.ndarray
            ) -> np.ndarray:
    """Song titles: one to four words, now and then quoted, a suffix, a featured guest."""
    words = [_pick(rng, plan.words, n_orig) for _ in range(4)]
    n_words = rng.choice((1, 2, 3, 4), n_orig, p=(0.35, 0.4, 0.18, 0.07))
    separator = np.where(rng.random(n_orig) < 0.04, ", ", " ")
    title = words[0]
    title = np.where(n_words >= 2, title + separator + words[1], title)
    title = np.where(n_words >= 3, title + " " + words[2], title)
    title = np.where(n_words >= 4, title + " " + words[3], title)
    quoted = (n_words >= 2) & (rng.random(n_orig) < 0.006)
    title = np.where(quoted, words[0] + ' "' + words[1] + '"', title)
    suffix = np.array(_TRACK_SUFFIXES, dtype=object)[
        rng.choice(len(_TRACK_SUFFIXES), n_orig, p=_TRACK_SUFFIX_PROB)
    ]
    title = title + suffix
    featuring = (guest1 >= 0) & (rng.random(n_orig) < 0.4)
    return np.where(
        featuring, title + " (feat. " + plan.artist_names[np.maximum(guest1, 0)] + ")", title
    )


def _sources(rng: np.random.Generator, albums: _Albums, album_start: np.ndarray,
             songs: _Songs) -> np.ndarray:
    """Each row's original song. Re-releases copy songs of the same artist (the artist's
    originals sit together), and a compilation's year follows the artist's last release."""
    source = np.empty(int(albums.size.sum()), np.int64)
    source[songs.rows] = np.arange(len(songs.rows))
    for album in np.flatnonzero(albums.compilation):
        lo = np.searchsorted(songs.artist, albums.artist[album], side="left")
        hi = np.searchsorted(songs.artist, albums.artist[album], side="right")
        start, size = album_start[album], albums.size[album]
        source[start : start + size] = lo + rng.choice(hi - lo, size, replace=False)
        released = albums.years[(albums.artist == albums.artist[album]) & ~albums.compilation]
        known = released[released > 0]
        albums.years[album] = (
            min(_LAST_YEAR, int(known.max()) + int(rng.integers(1, 15))) if known.size else 0
        )
    return source


def _features(rng: np.random.Generator, songs: _Songs, source: np.ndarray,
              is_copy: np.ndarray) -> dict[str, np.ndarray]:
    """Every row's feature values: a re-release's are its original's, slightly moved."""
    copies = np.flatnonzero(is_copy)
    all_values = songs.values[source]
    all_values[copies] = _to_values(
        songs.latent[source[copies]]
        + _NEAR_DUP_NOISE * rng.standard_normal((len(copies), _YEAR))
    )
    feature = {name: all_values[:, j] for j, name in enumerate(_LATENT[:_YEAR])}
    feature["danceability"][songs.silent[source]] = 0.0
    feature["tempo"][songs.silent[source]] = 0.0
    return feature


def _album_names(plan: _Plan, rng: np.random.Generator, albums: _Albums, songs: _Songs,
                 title: np.ndarray) -> np.ndarray:
    """Album names: singles are named after their first song, compilations by a stock title."""
    n_albums = len(albums.size)
    album_words = [_pick(rng, plan.words, n_albums) for _ in range(3)]
    n_album_words = rng.choice((1, 2, 3), n_albums, p=(0.4, 0.4, 0.2))
    album_name = album_words[0]
    album_name = np.where(n_album_words >= 2, album_name + " " + album_words[1], album_name)
    album_name = np.where(n_album_words >= 3, album_name + " " + album_words[2], album_name)
    album_name = np.where(rng.random(n_albums) < 0.04, album_name + " (Deluxe Edition)", album_name)
    album_name = np.where(
        (albums.size >= 4) & (albums.size <= 7) & (rng.random(n_albums) < 0.3),
        album_name + " EP",
        album_name,
    )
    first_song = np.searchsorted(songs.album, np.arange(n_albums))
    album_name = np.where(
        (albums.size <= 2) & ~albums.compilation,
        title[np.minimum(first_song, len(songs.rows) - 1)],
        album_name,
    )
    best_of = "The Best Of " + plan.artist_names[albums.artist]
    stock = _COMPILATION_TITLES[rng.integers(0, len(_COMPILATION_TITLES), n_albums)]
    return np.where(
        albums.compilation, np.where(rng.random(n_albums) < 0.3, best_of, stock), album_name
    )
