"""Sequencing: the order of a list of songs, so that adjacent songs mix well.

One step shared by the radio, continuing a playlist, journeys and the app's playlist:

    Mix.of(lib)                               what a library has to mix by; the cost of a change
    arrange(mix, rows, count, order, ...)  -> `count` of `rows` (given best first), in `order`
    Mix.transitions(a, b)                  -> a `Transition` from each song of `a` to `b`'s

The DJ's rule for a smooth transition: tempos within 6 % of each other (or of double or half the
other), and keys neighbours on the Camelot wheel (the same key, the relative major or minor, or
one step around the wheel). Beyond the rule, a transition costs the change of each feature the
sequencer reads (`schema.MIXED`: tempo, key, energy, loudness), in steps of the change a
listener hears (`schema.Feature.mix`). A song whose value is unknown (key -1, tempo 0) costs
nothing for that feature; a library with no known value of one is ordered by what it has
(`Mix.note` says so).

Orders:

    smooth       a greedy walk from the song before, one song ahead: each next song the one
                 whose transition (and best transition after it) costs least; then a 2-opt
                 pass. It may leave out up to `SWAP_SHARE` of the songs asked for, the least
                 relevant, for as many songs next down the list (the relevance budget).
    relevance    best first, as the flow found them.
    energy-up, energy-down   by energy.
    arc          energy rising to the middle, then falling.

Every order keeps the artist window: after a song, its artist is not played again for `gap`
songs (counting the songs before the list and the one after it). A song the window keeps the
walk from placing goes where the window allows at the least cost (for the energy orders and
relevance, the least out of order); where it fits nowhere, the next song down the list takes
its place (in relevance order, it is left out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

import numpy as np

from musicrec import schema

Order = Literal["smooth", "relevance", "energy-up", "energy-down", "arc"]
ORDERS: tuple[str, ...] = get_args(Order)
DEFAULT_ORDER: Order = "smooth"
ORDER_HELP = ("How to order the songs: smooth (adjacent songs mix: tempo, Camelot key, energy "
              "and loudness), relevance (best first), energy-up, energy-down or arc (energy up, "
              "then down).")
ORDER_WORDS: dict[str, str] = {
    "smooth": "Smooth: tempo and key mix from song to song",
    "relevance": "Most fitting first",
    "energy-up": "Energy rising",
    "energy-down": "Energy falling",
    "arc": "Energy arc: up, then down",
}

# Cost of a transition that breaks the DJ's rule, on top of its changes: larger than a smooth
# one's usual changes, so the walk takes a smooth transition whenever one is near (tuned with
# the others in benchmarks/sequence_quality.py --tune; docs/quality.md).
ROUGH = 4.0
# A change counts at most this many steps: a far key is one rough transition, not ten.
CAP = 3.0
# smooth: of `count` songs asked for, this share (rounded up) may be swapped for as many songs
# further down the list: the relevance budget.
SWAP_SHARE = 0.2
# The 2-opt pass after the walk stops after this many rounds over the list.
UNTANGLE_PASSES = 10
_FIFTH = 7  # semitones: one step around the Camelot wheel


class Columns(Protocol):
    """What sequencing reads; `musicrec.library.Library` provides it."""

    def has_column(self, name: str) -> bool: ...

    def numeric(self, name: str) -> np.ndarray: ...  # float32 (n,), NaN where unknown


@dataclass(frozen=True)
class Transition:
    """From one song to the next: each feature's value before and after (None where either is
    unknown), and whether the DJ's rule holds."""

    values: dict[str, tuple[float, float] | None]
    smooth: bool

    def text(self) -> str:
        """"122 → 125 BPM · 8A → 9A · energy 61% → 70% · …", for the features known."""
        names = [*(n for n in _SHOW if n in self.values),
                 *(n for n in self.values if n not in _SHOW)]
        return " · ".join(_SHOW.get(n, _level)(n, *pair) for n in names
                          if (pair := self.values[n]) is not None)


@dataclass(frozen=True)
class Mix:
    """The features a library has to mix by (`schema.MIXED` with at least one known value)."""

    columns: dict[str, np.ndarray]
    mode: np.ndarray | None
    missing: tuple[str, ...]

    @classmethod
    def of(cls, lib: Columns) -> Mix:
        """The library's, read at the first call and kept on it (a scan of each column)."""
        found = lib.__dict__.get("_mix")
        if found is None:
            found = lib.__dict__["_mix"] = cls._read(lib)
        return found

    @classmethod
    def _read(cls, lib: Columns) -> Mix:
        columns, missing = {}, []
        for feature in schema.MIXED:
            column = _column(lib, feature.name)
            if column is None or not np.isfinite(_known(feature.name, column)).any():
                missing.append(feature.name)
            else:
                columns[feature.name] = column
        return cls(columns, _column(lib, "mode"), tuple(missing))

    def reads(self, order: str) -> bool:
        """Whether the library has what `order` orders by."""
        if order == "smooth":
            return bool(self.columns)
        return order == "relevance" or "energy" in self.columns

    def note(self, order: str) -> str | None:
        """What `order` could not use, in words; None when it had everything it reads."""
        if order == "relevance" or not self.missing:
            return None
        if not self.reads(order):
            lacking = self.missing if order == "smooth" else ("energy",)
            return f"this library has no known {_words(lacking)}: the songs keep the order " \
                   "they were found in"
        if order != "smooth":
            return None
        return f"this library has no known {_words(self.missing)}: the songs are ordered by " \
               f"{_words(tuple(self.columns))} only"

    def changes(self, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        """Each feature's change from songs `a` to songs `b` (index arrays that broadcast), in
        the feature's unit: tempo as a ratio above 1 after doubling or halving (0.04: 4 %),
        key as steps on the Camelot wheel, the others as differences; NaN where unknown."""
        out = {}
        for name, column in self.columns.items():
            x, y = (_known(name, column[rows].astype(np.float64)) for rows in (a, b))
            if name == "tempo":
                ratio = np.abs(np.log(y / x))
                out[name] = np.expm1(np.minimum(ratio, np.abs(ratio - np.log(2.0))))
            elif name == "key":
                out[name] = _camelot_steps(x, y, *(self._mode(rows) for rows in (a, b)))
            else:
                out[name] = np.abs(y - x)
        return out

    def smooth(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """bool: the DJ's rule holds from `a` to `b` (for what is known)."""
        return self._rough(self.changes(a, b), np.broadcast(a, b).shape) == 0

    def cost(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The cost of the transitions from songs `a` to songs `b` (index arrays that
        broadcast): the change of each feature in its steps (at most `CAP`), plus `ROUGH` where
        the DJ's rule breaks."""
        changes = self.changes(a, b)
        total = np.zeros(np.broadcast(a, b).shape)
        for name, change in changes.items():
            total += np.nan_to_num(np.minimum(change / schema.BY_NAME[name].mix, CAP))
        return total + ROUGH * self._rough(changes, total.shape)

    def transitions(self, a: Sequence[int], b: Sequence[int]) -> list[Transition]:
        """The transition from each song of `a` to the song of `b` in the same place."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        smooth = self.smooth(a, b)
        values = {name: np.stack([_known(name, column[a].astype(np.float64)),
                                  _known(name, column[b].astype(np.float64))], axis=1)
                  for name, column in self.columns.items()}
        if "key" in values:
            values["key"] = np.stack([values["key"][:, 0] + 12 * self._mode(a),
                                      values["key"][:, 1] + 12 * self._mode(b)], axis=1)
        return [Transition({name: None if np.isnan(v[i]).any() else (float(v[i, 0]),
                                                                     float(v[i, 1]))
                            for name, v in values.items()}, bool(smooth[i]))
                for i in range(len(a))]

    def _mode(self, rows: np.ndarray) -> np.ndarray:
        if self.mode is None:
            return np.full(np.shape(rows), np.nan)
        return self.mode[rows].astype(np.float64)

    def _rough(self, changes: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        rough = np.zeros(shape, dtype=bool)
        for name in ("tempo", "key"):
            if name in changes:
                with np.errstate(invalid="ignore"):
                    rough |= changes[name] / schema.BY_NAME[name].mix > 1.0 + 1e-9
        return rough


def _column(lib: Columns, name: str) -> np.ndarray | None:
    return lib.numeric(name) if lib.has_column(name) else None


def _known(name: str, values: np.ndarray) -> np.ndarray:
    """NaN where a value means unknown: key -1 (none detected), tempo 0 (no pulse)."""
    if name in ("key", "tempo"):
        return np.where(values >= (0 if name == "key" else 1e-6), values, np.nan)
    return values


def _camelot(key: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """Position on the Camelot wheel, 0..11 (C major is 8B, A minor 8A; mode 1 major)."""
    return np.mod(_FIFTH * key + np.where(mode == 1, 8, 5), 12)


def _camelot_steps(key_a: np.ndarray, key_b: np.ndarray, mode_a: np.ndarray,
                   mode_b: np.ndarray) -> np.ndarray:
    """Steps around the wheel plus one for a change between major and minor: 0 the same key,
    1 a neighbour, more a clash. A song of unknown mode is compared by its key alone."""
    both = ~np.isnan(mode_a) & ~np.isnan(mode_b)
    mode_a, mode_b = np.where(both, mode_a, 1.0), np.where(both, mode_b, 1.0)
    around = np.abs(_camelot(key_a, mode_a) - _camelot(key_b, mode_b))
    return np.minimum(around, 12 - around) + (mode_a != mode_b)


def _words(names: tuple[str, ...]) -> str:
    labels = [schema.BY_NAME[n].label.lower() for n in names]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _code(value: float) -> str:
    """A key as stored by `Mix.transitions` (key + 12 x mode) in Camelot notation."""
    key, mode = int(value) % 12, int(value) // 12
    number = int(_camelot(np.array(key), np.array(mode)))
    return f"{number or 12}{'B' if mode == 1 else 'A'}"


def _level(name: str, before: float, after: float) -> str:
    feature = schema.BY_NAME[name]
    if feature.unit:
        return f"{feature.label.lower()} {before * 100:.0f}% → {after * 100:.0f}%"
    unit = " dB" if feature.display == "db" else ""
    return f"{feature.label.lower()} {before:.1f} → {after:.1f}{unit}".replace("-", "−")


_SHOW: dict[str, Callable[[str, float, float], str]] = {
    "tempo": lambda _, a, b: f"{a:.0f} → {b:.0f} BPM",
    "key": lambda _, a, b: f"{_code(a)} → {_code(b)}",
}


# --- ordering -------------------------------------------------------------------------------

def pool_size(order: str, count: int) -> int:
    """How many songs, best first, `arrange` may choose `count` from: a few more than asked
    for, but in relevance order (the songs found, as found)."""
    return count if order == "relevance" else count + swaps(count)


def swaps(count: int) -> int:
    return int(np.ceil(count * SWAP_SHARE))


def arrange(mix: Mix, rows: Sequence[int], count: int, order: str, *,
            before: Sequence[int] = (), after: int | None = None,
            artists: np.ndarray | None = None, gap: int = 0) -> list[int]:
    """`count` of `rows` (best first) in `order`, keeping the artist window.

    Args:
        rows: candidate rows, most relevant first; `pool_size(order, count)` of them are read.
        before: the songs just before the list (the last is where `smooth` starts from; all
            count for the artist window).
        after: a song that will follow the list (a journey's end).
        artists: the primary artist of every row (n,), for the window; gap: its length.
    """
    order = order if mix.reads(order) else "relevance"
    pool = np.asarray(list(rows)[:pool_size(order, count)], dtype=np.int64)
    if not len(pool):
        return []
    count = min(count, len(pool))
    window = _Window(pool, before, after, artists, gap, count)
    zeros = np.zeros(len(pool))
    if order != "smooth":
        score = _static_score(mix, pool, order)
        picked = _walk(np.tile(score, (len(pool), 1)), score, zeros, count, count, window,
                       False)
        # Put back out of order no more than needed: a step down the score costs its size.
        disorder = np.maximum(score[:, None] - score[None, :], 0.0)
        return pool[_fill(_with_ends(disorder, zeros, zeros), picked, count, window)].tolist()
    step = mix.cost(pool[:, None], pool[None, :])
    np.fill_diagonal(step, np.inf)
    first = mix.cost(np.int64(before[-1]), pool) if len(before) else zeros
    last = mix.cost(pool, np.int64(after)) if after is not None else zeros
    picked = _walk(step, first, last, count, count - (len(pool) - count), window, True)
    full = _with_ends(step, first, last)
    return pool[_untangle(full, _fill(full, picked, count, window), window)].tolist()


def _static_score(mix: Mix, pool: np.ndarray, order: str) -> np.ndarray:
    """Lower goes first: the rank for relevance, energy for the energy orders."""
    if order == "relevance":
        return np.arange(len(pool), dtype=np.float64)
    energy = mix.columns["energy"][pool].astype(np.float64)
    ranked = np.argsort(energy, kind="stable")  # rising; unknown energy last
    if order == "arc":  # every other song on the way up, the rest on the way down
        ranked = np.concatenate([ranked[0::2], ranked[1::2][::-1]])
    elif order == "energy-down":
        known = np.isfinite(energy[ranked])
        ranked = np.concatenate([ranked[known][::-1], ranked[~known]])
    score = np.empty(len(pool))
    score[ranked] = np.arange(len(pool))
    return score


class _Window:
    """The artist window: which songs of the pool may come next, and whether an order keeps
    it."""

    def __init__(self, pool: np.ndarray, before: Sequence[int], after: int | None,
                 artists: np.ndarray | None, gap: int, count: int):
        self.size, self.gap, self.count = len(pool), gap, count
        self.artists = None if artists is None or gap <= 0 else np.asarray(artists[pool])
        if self.artists is not None:
            assert artists is not None
            tail = np.asarray(before, dtype=np.int64)[-gap:]
            self.before = [int(a) for a in artists[tail]]
            self.recent = list(self.before)
            self.last = None if after is None else int(artists[after])

    def allows(self, placed: int) -> np.ndarray:
        """bool (pool,): songs the window allows after `placed` songs of the list."""
        if self.artists is None:
            return np.ones(self.size, dtype=bool)
        ok = ~np.isin(self.artists, self.recent[-self.gap:])
        if self.last is not None and self.count - placed <= self.gap:
            ok &= self.artists != self.last
        return ok

    def place(self, index: int) -> None:
        if self.artists is not None:
            self.recent.append(int(self.artists[index]))

    def keeps(self, order: np.ndarray) -> bool:
        """Whether the pool songs in `order` keep the window."""
        if self.artists is None:
            return True
        seen: dict[int, int] = {}
        songs = self.before + self.artists[order].tolist() + (
            [] if self.last is None else [self.last])
        for position, artist in enumerate(songs):
            if position >= len(self.before) and position - seen.get(artist, -self.gap - 1) \
                    <= self.gap:
                return False
            seen[artist] = position
        return True


def _walk(step: np.ndarray, first: np.ndarray, last: np.ndarray, count: int, keep: int,
          window: _Window, ahead: bool) -> list[int]:
    """Pool indices in walk order: each next one the least `step` cost from the one before
    (`first` from the song before the list, plus `last` into the song after it for the final
    one, plus with `ahead` the cheapest step on from it). The first `keep` of the pool are
    placed where the window allows them: the others fill the places they leave."""
    left = np.ones(len(first), dtype=bool)
    picked: list[int] = []
    while len(picked) < count:
        allowed = left & window.allows(len(picked))
        if not allowed.any():
            break
        kept = allowed.copy()
        kept[keep:] = False
        if count - len(picked) <= left[:keep].sum() and kept.any():
            allowed = kept
        score = (step[picked[-1]] if picked else first).copy()
        if len(picked) == count - 1:
            score += last
        elif ahead and left.sum() > 1:
            score += step[:, left].min(axis=1)
        index = int(np.flatnonzero(allowed)[np.argmin(score[allowed])])
        picked.append(index)
        left[index] = False
        window.place(index)
    return picked


def _with_ends(step: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """(m + 2, m + 2): `step` between the pool's songs, then the song before the list (m,
    costs `first` either way) and the song after it (m + 1, `last`)."""
    m = len(first)
    full = np.zeros((m + 2, m + 2))
    full[:m, :m] = step
    full[m, :m] = full[:m, m] = first
    full[m + 1, :m] = full[:m, m + 1] = last
    return full


def _fill(full: np.ndarray, picked: list[int], count: int, window: _Window) -> list[int]:
    """The walk's list with the songs it could not place put where the window allows them at
    the least added cost (`_with_ends` costs), the pool's first songs first, up to `count`."""
    m = len(full) - 2
    placed = set(picked)
    for song in (i for i in range(m) if i not in placed):
        if len(picked) >= count:
            break
        path = [m, *picked, m + 1]
        added = [full[a, song] + full[song, b] - full[a, b] for a, b in zip(
            path[:-1], path[1:], strict=True)]
        for place in np.argsort(added, kind="stable").tolist():
            trial = [*picked[:place], song, *picked[place:]]
            if window.keeps(np.asarray(trial)):
                picked = trial
                break
    return picked


def _untangle(full: np.ndarray, picked: list[int], window: _Window) -> list[int]:
    """2-opt: reverse a stretch of the list wherever that makes the transitions at its two
    ends cost less (`_with_ends` costs, which are symmetric), until no reversal helps."""
    m = len(full) - 2
    path = np.array([m, *picked, m + 1])
    for _ in range(UNTANGLE_PASSES):
        improved = False
        for i in range(len(path) - 3):
            a, b, c, d = path[i], path[i + 1], path[i + 2:-1], path[i + 3:]
            gain = full[a, b] + full[c, d] - full[a, c] - full[b, d]
            j = int(np.argmax(gain))
            if gain[j] > 1e-9:
                turned = path.copy()
                turned[i + 1:i + 3 + j] = path[i + 1:i + 3 + j][::-1]
                if window.keeps(turned[1:-1]):
                    path, improved = turned, True
        if not improved:
            break
    return path[1:-1].tolist()


__all__ = ["CAP", "DEFAULT_ORDER", "Mix", "ORDERS", "ORDER_HELP", "ORDER_WORDS", "Order", "ROUGH",
           "SWAP_SHARE", "Transition", "arrange", "pool_size", "swaps"]
