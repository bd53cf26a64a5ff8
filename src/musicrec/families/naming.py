"""Names that say what sets a family apart from the whole catalogue, each word backed by the
family's own numbers.

For every trait feature (schema's `traits`: a word for above the catalogue, one for below) a
family has a profile: its median, and its rank, the mean percentile of its songs among all the
catalogue's songs (0.5 for a typical family: ranks work alike for tempo in BPM, loudness in dB
and yes/no columns such as explicit). A word enters a name only when the family leans clearly
one way, rank at least 0.6 ("fast": its typical song is faster than 60 % of the catalogue) or
at most 0.4, and its median sits on the same side of the catalogue's median, and, where the
word makes a claim in absolute terms (schema's `trait_split`: "undanceable" means danceability
below 0.5, not just below most songs of a dance-heavy catalogue), on that side too. The most
distinctive words (rank furthest from 0.5) come first, at most 3 unless more are needed to tell
families apart. The decade of the median release year follows; where the catalogue has genre
labels, the labels covering at least 30 % of the family's songs stand between (they may name a
family, never shape one). Every word comes with its evidence, shown by `musicrec families
--json` and the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from musicrec import schema

# Feature -> (word when a family is above the catalogue, word when below), ties broken in
# this order.
TRAITS: dict[str, tuple[str, str]] = {
    f.name: f.traits for f in schema.TRAITS}  # type: ignore[misc]
SPLITS: dict[str, float] = {f.name: f.trait_split for f in schema.TRAITS
                            if f.trait_split is not None}
LEAN = 0.1  # a word needs a rank at least this far from 0.5
_NAME_WORDS = 3
_LABEL_SHARE = 0.3
_LABELS = 2
_RANK_SAMPLE = 20_000  # percentiles are read against a sorted sample of this many values:
# within about 0.005 of the exact ones (sampling error), and quick to search.
PLAIN = "Middle-of-the-road"  # the name of a family with no distinctive trait


class TraitRanks:
    """Each trait feature's values and catalogue percentiles, computed once for both levels."""

    def __init__(self, columns: dict[str, np.ndarray], rng: np.random.Generator):
        """columns: the catalogue's columns as `floats` reads them, by name (those it has)."""
        self.values: dict[str, np.ndarray] = {}
        self.percentiles: dict[str, np.ndarray] = {}
        self.medians: dict[str, float] = {}
        for name in TRAITS:
            if name not in columns:
                continue
            values = columns[name]
            known = values[~np.isnan(values)]
            if not len(known):
                continue
            sample = np.sort(rng.choice(known, min(len(known), _RANK_SAMPLE), replace=False))
            # Mid-ranks: a value shared by many songs (mode, explicit) sits in their middle.
            self.percentiles[name] = (np.searchsorted(sample, values)
                                      + np.searchsorted(sample, values, side="right")) / (
                2.0 * len(sample))
            self.values[name] = values
            self.medians[name] = float(np.median(known))

    def profile(self, rows: np.ndarray) -> dict[str, dict[str, float]]:
        """The median and rank of each trait feature over these songs (known values only)."""
        out = {}
        for name, values in self.values.items():
            known = ~np.isnan(values[rows])
            if known.any():
                out[name] = {"median": float(np.median(values[rows][known])),
                             "rank": round(float(self.percentiles[name][rows][known].mean()), 4)}
        return out


def floats(table: pa.Table, name: str) -> np.ndarray:
    """A column as float64, NaN where null (and where a year is 0, which means unknown)."""
    values = table.column(name).cast(pa.float64()).to_numpy()
    return np.where(values > 0, values, np.nan) if name == "year" else values


def trait_words(profile: dict[str, dict[str, float]],
                catalogue_medians: dict[str, float]) -> list[dict[str, Any]]:
    """The words a family's profile backs, most distinctive first, each with its evidence."""
    words = []
    for name, (above, below) in TRAITS.items():
        if name not in profile:
            continue
        rank, median = profile[name]["rank"], profile[name]["median"]
        centre = catalogue_medians[name]
        split = SPLITS.get(name)
        if rank >= 0.5 + LEAN and median >= centre and (split is None or median > split):
            word = above
        elif rank <= 0.5 - LEAN and median <= centre and (split is None or median < split):
            word = below
        else:
            continue
        words.append({"word": word, "feature": name, "rank": rank, "family_median": median,
                      "catalogue_median": centre})
    return sorted(words, key=lambda w: -abs(w["rank"] - 0.5))  # stable: TRAITS breaks ties


def dominant_labels(table: pa.Table, column: str | None,
                    members: Sequence[np.ndarray]) -> list[list[dict[str, Any]]]:
    """Per family, the catalogue labels (e.g. genres) of at least 30 % of its songs, at most 2,
    commonest first, with their shares; empty lists when the catalogue has no such column."""
    if column is None or column not in table.column_names:
        return [[] for _ in members]
    encoded = pc.dictionary_encode(pc.utf8_lower(table.column(column))).combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    labels = encoded.dictionary.to_pylist()
    out = []
    for rows in members:
        counts = np.bincount(codes[rows][codes[rows] >= 0], minlength=len(labels))
        top = [int(c) for c in np.argsort(-counts, kind="stable")[:_LABELS]
               if counts[c] >= _LABEL_SHARE * len(rows) and (labels[c] or "").strip()]
        out.append([{"word": labels[c], "column": column,
                     "share": round(float(counts[c] / len(rows)), 4)} for c in top])
    return out


def era_word(years: tuple[int, int, int]) -> list[dict[str, Any]]:
    """The decade of the median release year, with the median; nothing when years are unknown."""
    median = years[1]
    return [{"word": f"{median // 10 * 10}s", "feature": "year", "family_median": median}] \
        if median else []


def unique_names(traits: list[list[dict[str, Any]]], labels: list[list[dict[str, Any]]],
                 eras: list[list[dict[str, Any]]], taken: Sequence[str] = ()) -> list[str]:
    """Unique names: words, labels, decade. Families that would share a name (with each other
    or with a name in `taken`, in any order of its words) take their next distinctive word, in
    turn, until the names differ or the words run out; any still alike get roman numerals in id
    order."""
    depth = [min(_NAME_WORDS, len(t)) for t in traits]

    def name(i: int) -> str:
        words = " ".join(w["word"] for w in traits[i][:depth[i]]).capitalize() or PLAIN
        tag = " / ".join(w["word"] for w in labels[i])
        return " · ".join(part for part in (words, tag, *(w["word"] for w in eras[i])) if part)

    def same(text: str) -> tuple[str, ...]:
        """Names alike but for the order of their words clash too ("Wordy danceable",
        "Danceable wordy")."""
        words, _, rest = text.casefold().partition(" · ")
        return (*sorted(words.split()), rest)

    taken_keys = {same(t) for t in taken}
    while True:
        names = [name(i) for i in range(len(traits))]
        keys = [same(n) for n in names]
        clashing = [i for i, key in enumerate(keys) if keys.count(key) > 1 or key in taken_keys]
        deeper = [i for i in clashing if depth[i] < len(traits[i])]
        if not deeper:
            break
        for i in deeper:
            depth[i] += 1
    seen: dict[str, int] = {}
    for i in clashing:
        seen[names[i]] = seen.get(names[i], 0) + 1
        names[i] = f"{names[i]} {roman(seen[names[i]])}"
    return names


def roman(number: int) -> str:
    out = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                           (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                           (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        out += letters * count
    return out
