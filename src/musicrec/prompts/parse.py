"""A prompt in words read into the parts of a recommendation, each with how it was read.

"rainy sunday jazz, slow, like Norah Jones, not Drake, 90s" reads, in any order, as:

- seeds: `like X`, `by X`, `similar to X`, a "quoted title", or a whole prompt that is an
  artist's or a song's name; `not X`, `no X`, `without X`, `-X` are negative seeds;
- numbers: years and ranges (`90s`, `1990-1995`, `1983`), tempo (`120 bpm`, `under 100 bpm`);
- `#word` or `genre:X`: a sound family or genre label; a genre label written plainly too;
- words: learned from playlist titles (`musicrec.prompts.vocabulary`) or, for the audio-feature
  words of `musicrec.schema` (`Feature.asks`), a target near the catalogue's high or low end;
- its words (all but names, numbers, genres and negative parts) read together as a playlist
  title: the training playlists titled like them (`musicrec.prompts.titles`).

Nothing here fails on a word it does not know: the word is listed in `Reading.unknown`. A
prompt with nothing understood is an `InvalidQueryError` (a 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from rapidfuzz import fuzz, process

from musicrec import schema
from musicrec.errors import InvalidQueryError, NotFoundError
from musicrec.prompts.words import MIN_STEM, key, tokens
from musicrec.request import MAX_SEEDS
from musicrec.search import normalize_text

if TYPE_CHECKING:
    from musicrec.library import Library

# Bounded like search (`musicrec.api.routes.search`): every word may cost a fuzzy match.
MAX_PROMPT_CHARS = 300
MAX_PROMPT_WORDS = 40
# A feature word targets this point of a 0..1 feature (1 - it for "less"): "calm" is energy
# 0.2 whatever the catalogue; other features target a percentile of the catalogue's values
# (100 - it for "less"): "fast" is fast for this catalogue.
ASK_UNIT = 0.8
ASK_PERCENTILE = 85
# An unknown word is read as a learned word this close to it (rapidfuzz ratio), if as long,
# shown as a guess ("summa" -> "summer"). On the validation split, (80, 4) answered 0.836 of
# the titles and found 0.338 (hit@10), where (85, 5) answered 0.816 and found 0.331.
FUZZY_CUTOFF = 80
FUZZY_MIN_LENGTH = 4
# Songs looked at for a word found only in song titles.
TITLE_SONGS = 50
# A tempo of N bpm allows N +- this share.
TEMPO_SLACK = 0.06
# Words that carry no request beside others ("the good ones": "good"); alone ("my music"),
# their learned meaning is better than nothing.
FILLER = frozenset(("a", "an", "the", "and", "or", "of", "for", "with", "to", "in", "on", "my",
                    "me", "some", "songs", "song", "music", "playlist", "mix", "but", "please",
                    "that", "is", "it", "this", "i", "want", "give", "play"))

Kind = Literal["seed", "not", "genre", "filter", "target", "word", "title", "playlists"]

_QUOTED = re.compile(r'(?:(?<=\s)|^)(-|not\s+)?["“”]([^"“”]+)["“”]', re.IGNORECASE)
_TAG = re.compile(r"(?:#|\bgenre:)([\w&'-]+)", re.IGNORECASE)
_STOP = r"(?=\s*(?:[,;.!?(]|\bbut\b|\bnot\b|\bno\b|\bwithout\b|\blike\b|\bby\b|$))"
_LIKE = re.compile(r"\b(?:like|by|similar to|sounds like)\s+(.+?)" + _STOP, re.IGNORECASE)
_NOT = re.compile(r"(?:\b(?:not|no|without|except)\s+|(?:(?<=\s)|^)-(?=\w))(.+?)" + _STOP,
                  re.IGNORECASE)
_YEARS = re.compile(r"\b((?:19|20)\d\d)\s*(?:-|–|to)\s*((?:19|20)\d\d)\b")
_DECADE = re.compile(r"(?<![\w'])'?((?:19|20)?\d)0'?s\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[2-9]\d|20[0-4]\d)\b")
_BPM = re.compile(r"\b(?:(under|below|less than|slower than|over|above|more than|faster than)"
                  r"\s+)?(\d{2,3})\s*bpm\b", re.IGNORECASE)


@dataclass
class Part:
    """One part of a prompt and how it was read."""

    text: str
    kind: Kind
    meaning: str
    guessed: bool = False  # a name matched loosely, shown as a guess

    def said(self) -> str:
        """ "chill → calmer, from 46 playlists titled 'chill'", for people."""
        return f"{self.text} → {self.meaning}{' (a guess)' if self.guessed else ''}"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind, "meaning": self.meaning,
                "guessed": self.guessed}


@dataclass
class Reading:
    """What a prompt asks for. Seeds are ids; `words` and `negative_words` are rows of the
    library's vocabulary."""

    prompt: str
    parts: list[Part] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    seed_tracks: list[str] = field(default_factory=list)
    seed_artists: list[str] = field(default_factory=list)
    seed_genres: list[str] = field(default_factory=list)
    negative_tracks: list[str] = field(default_factory=list)
    negative_artists: list[str] = field(default_factory=list)
    words: list[int] = field(default_factory=list)
    negative_words: list[int] = field(default_factory=list)
    # Songs whose titles hold a word known nowhere else ("champions"), one array per word.
    titled: list[np.ndarray] = field(default_factory=list)
    # How alike each training playlist's title is to the prompt (`TitledPlaylists.alike`);
    # None when no title is.
    alike: np.ndarray | None = None
    target: dict[str, float] = field(default_factory=dict)
    min: dict[str, float] = field(default_factory=dict)
    max: dict[str, float] = field(default_factory=dict)

    @property
    def seeds(self) -> int:
        return len(self.seed_tracks) + len(self.seed_artists) + len(self.seed_genres)

    def interpretation(self) -> dict[str, Any]:
        """How each part was read and the words not understood (the answer's `musicrec`)."""
        return {"prompt": self.prompt, "parts": [p.to_dict() for p in self.parts],
                "unknown": self.unknown,
                "summary": "; ".join(p.said() for p in self.parts)}


def read_prompt(lib: Library, prompt: str) -> Reading:
    """Read a prompt against a library.

    Raises:
        InvalidQueryError: an empty or too long prompt, or one with nothing understood.
    """
    text = " ".join(prompt.split())
    if not text:
        raise InvalidQueryError("q: the prompt is empty; say what to play, e.g. 'calm acoustic "
                                "70s like Joni Mitchell'")
    if len(text) > MAX_PROMPT_CHARS or len(text.split()) > MAX_PROMPT_WORDS:
        raise InvalidQueryError(f"q: at most {MAX_PROMPT_WORDS} words and {MAX_PROMPT_CHARS} "
                                f"characters, got {len(text.split())} and {len(text)}")
    reading = Reading(prompt=text)
    rest = _take(_QUOTED, text, lambda m: _named(lib, reading, m.group(2), bool(m.group(1)),
                                                 songs_only=True))
    rest = _take(_TAG, rest, lambda m: _genre(lib, reading, m.group(0), m.group(1)))
    rest = _take(_NOT, rest, lambda m: _negative(lib, reading, m.group(0), m.group(1)))
    rest = _take(_LIKE, rest, lambda m: _named(lib, reading, m.group(1), False))
    rest = _numbers(lib, reading, rest)
    rest = _genre_labels(lib, reading, rest)
    if not reading.parts:
        _whole_name(lib, reading, rest)
    words = tokens(rest)
    said = [w for w in words if w not in FILLER]
    for word in said:
        _word(lib, reading, word)
    if not reading.parts:  # only filler words: their learned meaning, if any
        for word in words:
            if word in FILLER:
                _word(lib, reading, word)
    if not reading.parts:
        _close_name(lib, reading, rest)
    _alike_titles(lib, reading, " ".join(said or words))
    if not reading.parts:
        unknown = ", ".join(repr(w) for w in reading.unknown) or repr(text)
        raise InvalidQueryError(f"q: nothing in the prompt was understood (not known: "
                                f"{unknown}); try words such as calm, fast, acoustic, a "
                                "decade (90s), 'like' and an artist, or a genre")
    if not (reading.seeds or reading.words or reading.titled or reading.target or reading.min
            or reading.max or reading.alike is not None):
        avoided = "; ".join(p.said() for p in reading.parts)
        raise InvalidQueryError(f"q: the prompt only says what to leave out ({avoided}); "
                                "add what to play, such as calm, 90s or 'like' and an artist")
    return reading


def _alike_titles(lib: Library, reading: Reading, asked: str) -> None:
    """The training playlists titled like the words of the prompt (those that are no name,
    number, genre or negative part)."""
    titled = lib.titled_playlists
    if titled is None or not asked:
        return
    alike = titled.alike(asked)
    count = int(np.count_nonzero(alike))
    if not count:
        return
    reading.alike = alike
    nearest = np.argsort(-alike)[:min(count, 20)]
    closest = dict.fromkeys(str(t).strip() for t in titled.names[nearest])
    examples = ", ".join(repr(t) for t in list(closest)[:3])
    reading.parts.append(Part(asked, "playlists", f"the songs of {count} playlists titled like "
                              f"it, such as {examples}"))


def _take(pattern: re.Pattern[str], text: str,
          read: Callable[[re.Match[str]], object]) -> str:
    """Read every match of a pattern and return the text without them."""
    for match in pattern.finditer(text):
        read(match)
    return pattern.sub(" , ", text)


def _named(lib: Library, reading: Reading, name: str, negative: bool,
           songs_only: bool = False) -> None:
    """An artist or a song named in the prompt, as a seed (or a negative seed)."""
    found = _find_name(lib, name, songs_only)
    if found is None:
        reading.unknown.append(name.strip())
        return
    kind, item_id, label, guessed = found
    if negative:
        (reading.negative_artists if kind == "artist" else reading.negative_tracks).append(item_id)
        meaning = (f"no songs by {label}, fewer like theirs" if kind == "artist"
                   else f"not {label}, fewer songs like it")
        reading.parts.append(Part(name, "not", meaning, guessed))
        return
    if reading.seeds >= MAX_SEEDS:
        reading.unknown.append(f"{name.strip()} (at most {MAX_SEEDS} artists, songs and genres)")
        return
    (reading.seed_artists if kind == "artist" else reading.seed_tracks).append(item_id)
    reading.parts.append(Part(name, "seed", f"songs like {label} ({kind})", guessed))


def _find_name(lib: Library, name: str, songs_only: bool
               ) -> tuple[str, str, str, bool] | None:
    """(kind, id, label, guessed) of the artist or song a name means best, or None.

    An artist whose name is exactly the text wins, then a song whose title is; otherwise the
    best match of either, marked as a guess."""
    wanted = normalize_text(name)
    if not wanted:
        return None
    artists = [] if songs_only else lib.search_artists(name, 1).items
    songs = lib.search(name, 5).items
    if artists and normalize_text(artists[0]["name"]) == wanted:
        return "artist", artists[0]["id"], artists[0]["name"], False
    for song in songs:
        if normalize_text(song["name"]) == wanted:
            return "track", song["id"], lib.label(song["row"]), False
    if artists:
        return "artist", artists[0]["id"], artists[0]["name"], True
    if songs:
        return "track", songs[0]["id"], lib.label(songs[0]["row"]), True
    return None


def _whole_name(lib: Library, reading: Reading, text: str) -> None:
    """A prompt that is only an artist's or a song's exact name ("Jolene", "three days grace")
    is also a seed, unless each of its words has a meaning of its own ("chill"); a loose match
    is not taken (it would be a guess at a word). Its words are still read as words."""
    words = tokens(text)
    if not words or all(_known(lib, w) for w in words):
        return
    found = _find_name(lib, text, songs_only=False)
    if found is not None and not found[3]:
        _named(lib, reading, text.strip(" ,"), False)


def _close_name(lib: Library, reading: Reading, text: str) -> None:
    """A prompt with nothing else understood that is close to an artist's name (a typo:
    "MarshMellow"), read as that artist and shown as a guess."""
    wanted = normalize_text(text)
    artists = lib.search_artists(wanted, 1).items if wanted else []
    if artists and fuzz.ratio(normalize_text(artists[0]["name"]), wanted) >= FUZZY_CUTOFF:
        reading.unknown = [w for w in reading.unknown if w not in wanted.split()]
        reading.seed_artists.append(artists[0]["id"])
        reading.parts.append(Part(text.strip(" ,"), "seed",
                                  f"songs like {artists[0]['name']} (artist)", guessed=True))


def _genre(lib: Library, reading: Reading, written: str, name: str) -> None:
    """`#word` or `genre:X`: a genre label or a sound family, else its words ("#TBT")."""
    name = name.replace("-", " ").replace("_", " ")
    try:
        _, label = lib.genre_seed(name)
    except NotFoundError:
        for word in tokens(name):
            _word(lib, reading, word)
        return
    _add_genre(reading, written, name, label)


def _add_genre(reading: Reading, written: str, name: str, label: str) -> None:
    if reading.seeds >= MAX_SEEDS:
        reading.unknown.append(f"{written} (at most {MAX_SEEDS} artists, songs and genres)")
        return
    reading.seed_genres.append(name)
    reading.parts.append(Part(written, "genre", f"the {label} songs"))


def _genre_labels(lib: Library, reading: Reading, text: str) -> str:
    """Genre labels of the catalogue written plainly ("hard rock"), longest first."""
    families = {f.name for f in lib.families.families}
    labels = {normalize_text(g): g for g in lib.genre_seeds() if g not in families}
    words = normalize_text(text).split()
    kept: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(4, len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + n])
            if phrase in labels and (n > 1 or lib.vocabulary is None
                                     or lib.vocabulary.find(key(phrase)) is None):
                _add_genre(reading, phrase, labels[phrase], labels[phrase])
                i += n
                break
        else:
            kept.append(words[i])
            i += 1
    emoji = [w for w in tokens(text) if w not in words]
    return " ".join(kept + emoji)


def _negative(lib: Library, reading: Reading, written: str, name: str) -> None:
    """`not X`: an artist or song named exactly (its neighbours pushed down), else a word's
    meaning, else the closest artist or song as a guess."""
    found = _find_name(lib, name, songs_only=False)
    if found is not None and not found[3]:
        _named(lib, reading, name, True)
        return
    vocabulary = lib.vocabulary
    row = None if vocabulary is None else vocabulary.find(key(normalize_text(name)))
    if row is not None and vocabulary is not None and len(name.split()) == 1:
        reading.negative_words.append(row)
        reading.parts.append(Part(written, "not", f"fewer songs of '{vocabulary.shown[row]}' "
                                  f"playlists ({vocabulary.playlists[row]} playlists)"))
        return
    ask = _ask(name)
    if ask is not None and len(name.split()) == 1:
        feature, more = ask
        _target(lib, reading, written, feature, not more)
        return
    _named(lib, reading, name, True)


def _numbers(lib: Library, reading: Reading, text: str) -> str:
    """Years, decades and tempos; returns the text without them. A bare year that playlists
    titled ("2016") is left to be read as a learned word."""
    def years(lo: int, hi: int, written: str, meaning: str) -> None:
        if not lib.has_column("year"):
            reading.unknown.append(f"{written} (this library has no release years)")
            return
        reading.min["year"], reading.max["year"] = float(lo), float(hi)
        reading.parts.append(Part(written, "filter", meaning))

    def year_range(m: re.Match[str]) -> None:
        lo, hi = sorted((int(m.group(1)), int(m.group(2))))
        years(lo, hi, m.group(0), f"released {lo}–{hi}")

    def decade(m: re.Match[str]) -> None:
        digits = m.group(1)
        start = int(digits) * 10 if len(digits) == 3 else (
            2000 if digits in ("0", "1", "2") else 1900) + int(digits) * 10
        years(start, start + 9, m.group(0), f"released {start}–{start + 9}")

    def year(m: re.Match[str]) -> None:
        # "Summer 2016" is when it was played, not released: a target, not a filter.
        if not lib.has_column("year"):
            reading.unknown.append(f"{m.group(0)} (this library has no release years)")
            return
        reading.target["year"] = float(m.group(1))
        reading.parts.append(Part(m.group(0), "target", f"released near {m.group(1)}"))

    def bpm(m: re.Match[str]) -> None:
        how, value = (m.group(1) or "").lower(), float(m.group(2))
        if how in ("under", "below", "less than", "slower than"):
            reading.max["tempo"] = value
            meaning = f"tempo under {value:g} bpm"
        elif how:
            reading.min["tempo"] = value
            meaning = f"tempo over {value:g} bpm"
        else:
            reading.target["tempo"] = value
            reading.min["tempo"] = round(value * (1 - TEMPO_SLACK), 1)
            reading.max["tempo"] = round(value * (1 + TEMPO_SLACK), 1)
            meaning = f"tempo about {value:g} bpm"
        reading.parts.append(Part(m.group(0), "filter", meaning))

    for pattern, read in ((_BPM, bpm), (_YEARS, year_range), (_DECADE, decade)):
        text = _take(pattern, text, read)
    vocabulary = lib.vocabulary

    def bare_year(m: re.Match[str]) -> str:
        if vocabulary is not None and vocabulary.find(m.group(1)) is not None:
            return m.group(0)  # left for the learned word
        year(m)
        return " , "

    return _YEAR.sub(bare_year, text)


def _ask(word: str) -> tuple[schema.Feature, bool] | None:
    """The feature a built-in word asks for, and whether it asks for more of it."""
    wanted = key(normalize_text(word))
    for feature in schema.ASKED:
        more, less = feature.asks  # type: ignore[misc]
        if wanted in {key(w) for w in more}:
            return feature, True
        if wanted in {key(w) for w in less}:
            return feature, False
    return None


def _target(lib: Library, reading: Reading, written: str, feature: schema.Feature,
            more: bool) -> None:
    """A target near the high (or low) end of the library's values of a feature."""
    if not lib.has_column(feature.name):
        reading.unknown.append(f"{written} (this library has no {feature.label.lower()} data)")
        return
    if feature.unit:
        value = ASK_UNIT if more else 1 - ASK_UNIT
    else:
        column = lib.numeric(feature.name)
        sample = column[:: max(1, len(column) // 100_000)]
        value = float(np.nanpercentile(sample, ASK_PERCENTILE if more else 100 - ASK_PERCENTILE))
    reading.target[feature.name] = round(value, 3 if feature.unit else 0)
    reading.parts.append(Part(written, "target", f"{_direction(feature, more)} "
                              f"({feature.label.lower()} about {_shown(feature, value)})"))


def _direction(feature: schema.Feature, more: bool) -> str:
    if feature.words is not None:
        return feature.words[0 if more else 1]
    if feature.traits is not None:
        return feature.traits[0 if more else 1]
    return f"{'higher' if more else 'lower'} {feature.label.lower()}"


def _shown(feature: schema.Feature, value: float) -> str:
    if feature.unit:
        return f"{value:.2f}"
    if feature.display == "duration":
        return f"{value / 60_000:.1f} min"
    return f"{value:.0f}"


def _word(lib: Library, reading: Reading, word: str) -> None:
    """One remaining word: learned from playlist titles, a feature word, or unknown."""
    vocabulary = lib.vocabulary
    row = None if vocabulary is None else vocabulary.find(key(word))
    guessed = False
    ask = _ask(word)
    if row is None and ask is None and vocabulary is not None and len(word) >= FUZZY_MIN_LENGTH:
        close = process.extractOne(key(word), vocabulary.words.tolist(), scorer=fuzz.ratio,
                                   score_cutoff=FUZZY_CUTOFF)
        row, guessed = (close[2], True) if close else (None, False)
    if row is not None and vocabulary is not None:
        if row not in reading.words:
            reading.words.append(row)
            reading.parts.append(Part(word, "word", _learned_meaning(vocabulary, row), guessed))
        return
    if ask is not None:
        _target(lib, reading, word, *ask)
    elif not _compound(lib, reading, word) and not _in_titles(lib, reading, word) \
            and word not in FILLER:
        reading.unknown.append(word)


def _in_titles(lib: Library, reading: Reading, word: str) -> bool:
    """A word known nowhere else that song titles hold ("champions"): those songs, as a guess
    at what it means. FILLER words are not looked for."""
    if word in FILLER or len(word) < FUZZY_MIN_LENGTH:
        return False
    found = lib.search(word, TITLE_SONGS).items
    rows = [t["row"] for t in found if word in normalize_text(t["name"]).split()]
    if not rows:
        return False
    reading.titled.append(np.asarray(rows, dtype=np.int64))
    reading.parts.append(Part(word, "title", f"songs with '{word}' in their titles "
                              f"({len(rows)} found)", guessed=True))
    return True


def _compound(lib: Library, reading: Reading, word: str) -> bool:
    """Two known words written as one ("oldschool", "chillwave"): both read."""
    for i in range(MIN_STEM, len(word) - MIN_STEM + 1):
        head, tail = word[:i], word[i:]
        if _known(lib, head) and _known(lib, tail):
            _word(lib, reading, head)
            _word(lib, reading, tail)
            return True
    return False


def _known(lib: Library, word: str) -> bool:
    """Whether a word has a learned or built-in meaning."""
    vocabulary = lib.vocabulary
    return _ask(word) is not None or (vocabulary is not None
                                      and vocabulary.find(key(word)) is not None)


def _learned_meaning(vocabulary: Any, row: int) -> str:
    """ "lower energy, more acoustic, from 41 playlists" for a learned word."""
    shifts = vocabulary.clear_shifts(row)
    said = [_direction(schema.BY_NAME[name], shift > 0) for name, shift in
            sorted(shifts.items(), key=lambda item: -abs(item[1]))[:3]]
    source = f"from {vocabulary.playlists[row]} playlists titled '{vocabulary.shown[row]}'"
    return ", ".join([*said, source]) if said else f"songs {source}"
