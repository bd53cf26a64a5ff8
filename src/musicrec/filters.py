"""The hard filters of a request as one value, from which both a mask and an expression come.

The recommender hands an index two descriptions of the same songs: a boolean mask (what every
backend can apply) and a `Where` (inclusive bounds per column, and the sound families
allowed), which an index holding the columns itself can evaluate instead: `MilvusIndex` writes
it as a filter expression on its scalar fields, so the engine filters inside its search.
Both come from here, so they cannot disagree:

* Bounds are float32, as the library stores its values: max_energy=0.8 keeps a song whose
  energy was given as 0.8. The expression writes each bound as the exact decimal of its float32
  value (0.800000011920929): Milvus compares a FLOAT field's float32 value with the literal as
  a double, so `energy <= 0.8` there drops the song whose energy is float32(0.8), which is
  0.800000011920929 (checked with milvus-lite 3.2.2).
* An unknown value fails every bound: NaN in the library's columns, null in Milvus's nullable
  fields, where a comparison with null is never true (also under `not`).
* `explicit` is the bound explicit == 1 or == 0 (unknown fails it, as above).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from musicrec.request import RecommendRequest
from musicrec.schema import TUNABLE

# The scalar field holding each song's sound family (the catalogue has no column of that name).
FAMILY = "family"
# The catalogue columns a request can filter on.
FILTERABLE = (*TUNABLE, "explicit")


class Columns(Protocol):
    """What a mask is computed over; `musicrec.library.Library` provides it."""

    def __len__(self) -> int: ...

    def numeric(self, name: str) -> np.ndarray: ...  # float32 (n,), NaN where unknown

    @property
    def family_labels(self) -> np.ndarray: ...  # int (n,)


@dataclass(frozen=True)
class Where:
    """Songs whose every bounded column is within its bounds and whose family is allowed.

    bounds: (column, lowest, highest) per column, inclusive, float32 values held as Python
        floats; -inf or inf for an open side.
    families: the sound families allowed; None for any.
    """

    bounds: tuple[tuple[str, float, float], ...] = ()
    families: tuple[int, ...] | None = None

    @classmethod
    def of(cls, req: RecommendRequest) -> Where | None:
        """The request's min/max, explicit and family filters; None when it has none."""
        if not req.has_filters:
            return None
        bounds = [(name, _f32(req.min.get(name, -np.inf)), _f32(req.max.get(name, np.inf)))
                  for name in sorted({*req.min, *req.max})]
        if req.explicit is not None:
            bounds.append(("explicit", float(req.explicit), float(req.explicit)))
        families = None if req.families is None else tuple(sorted(set(req.families)))
        return cls(tuple(bounds), families)

    @property
    def columns(self) -> frozenset[str]:
        """The columns (scalar fields) it reads."""
        return frozenset([name for name, _, _ in self.bounds]
                         + ([FAMILY] if self.families is not None else []))

    def mask(self, songs: Columns) -> np.ndarray:
        """bool (n,): which songs pass."""
        tests = []
        with np.errstate(invalid="ignore"):  # NaN compares false: unknown fails every bound
            for name, low, high in self.bounds:
                values = songs.numeric(name)
                if low > -np.inf:
                    tests.append(values >= np.float32(low))
                if high < np.inf:
                    tests.append(values <= np.float32(high))
        if self.families is not None:
            tests.append(np.isin(songs.family_labels, self.families))
        if not tests:
            return np.ones(len(songs), dtype=bool)
        # The first test is the start: no pass over an array of ones, per request.
        ok = tests[0]
        for test in tests[1:]:
            ok &= test
        return ok

    def expression(self) -> str:
        """The same filter in Milvus's expression language, over fields named as the columns
        (e.g. `tempo >= 100.0 and tempo <= 130.0 and explicit == 0.0 and family in [3, 5]`);
        "" when it allows every song."""
        parts = []
        for name, low, high in self.bounds:
            if low == high:
                parts.append(f"{name} == {low!r}")
                continue
            if low > -np.inf:
                parts.append(f"{name} >= {low!r}")
            if high < np.inf:
                parts.append(f"{name} <= {high!r}")
        if self.families is not None:
            parts.append(f"{FAMILY} in {list(self.families)}")
        return " and ".join(parts)


def numeric_column(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric or boolean catalogue column as float32 (n,), NaN where unknown.

    float32 is exact for every stored value (the catalogue keeps features as float32 and
    integers below 2**24) at half the memory of float64.
    """
    return np.asarray(column.to_pandas(), dtype=np.float32)


def scalar_columns(table: pa.Table, family_labels: np.ndarray) -> dict[str, np.ndarray]:
    """The filterable columns a catalogue has, and the families: what an index that filters by
    itself stores beside the vectors (float32 with NaN, and the int family labels)."""
    columns = {name: numeric_column(table.column(name))
               for name in FILTERABLE if name in table.column_names}
    return {**columns, FAMILY: np.asarray(family_labels)}


def _f32(value: float) -> float:
    return float(np.float32(value))
