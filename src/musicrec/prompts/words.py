"""Words of prompts and playlist titles, made comparable.

Titles are written fast and loosely ("Chillin", "chill vibezzz", "workout 💪", "THROWBACKS"), so
both the vocabulary learned from them and the prompts read against it go through one `key`:
lower case without accents (`musicrec.search.normalize_text`), letters repeated for emphasis
collapsed, and the endings that only inflect ("-s", "-z", "-ing", "-in'") dropped. Emoji count
as words: "🔥" is a common title on its own.
"""

from __future__ import annotations

import re
import unicodedata

from musicrec.search import normalize_text

_REPEATS = re.compile(r"(.)\1+")
_ENDINGS = ("ing", "in", "s", "z")
# Keys shorter than this are left whole: "sing" must not become "s".
MIN_STEM = 3


def is_emoji(char: str) -> bool:
    """A pictograph (Unicode "Symbol, other"), which `normalize_text` would drop."""
    return unicodedata.category(char) == "So"


def tokens(text: str) -> list[str]:
    """The words of a text in order: normalised words, then each distinct emoji once."""
    words = normalize_text(text).split()
    emoji = [c for c in dict.fromkeys(text) if is_emoji(c)]
    return words + emoji


def key(word: str) -> str:
    """The form two spellings of one word share: "Chillin" and "chill" -> "chil"."""
    collapsed = _REPEATS.sub(r"\1", normalize_text(word) or word)  # an emoji stays itself
    for ending in _ENDINGS:
        stem = collapsed.removesuffix(ending)
        if stem != collapsed and len(stem) >= MIN_STEM:
            return stem
    return collapsed


def keys(text: str) -> list[str]:
    """`key` of each word of a text, each once, in order."""
    return list(dict.fromkeys(key(w) for w in tokens(text)))
