"""The feature pipeline: audio features -> weighted, scaled, unit-length song vectors.

Each feature gets a transform suited to its distribution (log for durations, square root for
the features that pile up near zero, a circle for the musical key), is standardised with the
catalogue's own mean and spread, then multiplied by a weight. Vectors are L2-normalised, so
inner product is cosine similarity. The fitted parameters are plain numbers saved as JSON with
the library: readable, and independent of any library version's pickle format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from musicrec import schema
from musicrec.errors import LibraryError
from musicrec.schema import Transform

# The transforms (why: `Feature.transform` in `musicrec.schema`) and the default weights (only
# ratios matter: vectors are normalised; how they were tuned: docs/quality.md), in the order of
# the vectors' dimensions.
TRANSFORMS: dict[str, Transform] = {
    f.name: f.transform for f in schema.IN_VECTORS}  # type: ignore[misc]
DEFAULT_WEIGHTS: dict[str, float] = {f.name: f.weight for f in schema.IN_VECTORS}


class FeatureConfig(BaseModel):
    """Which features go into the vectors and how much each weighs."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def model_post_init(self, _context: object) -> None:
        unknown = sorted(set(self.weights) - set(TRANSFORMS))
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {sorted(TRANSFORMS)}")
        negative = [k for k, w in self.weights.items() if w < 0]
        if negative:
            raise ValueError(f"weights must be >= 0, got negative for {negative}")


@dataclass(frozen=True)
class FittedFeature:
    """One feature's fitted parameters."""

    name: str
    transform: Transform
    center: float
    scale: float
    weight: float

    @property
    def dims(self) -> list[str]:
        return [f"{self.name}_sin", f"{self.name}_cos"] if self.transform == "circle" else [
            self.name]


def _pre(transform: Transform, x: np.ndarray) -> np.ndarray:
    if transform == "log":
        return np.log(np.maximum(x, 1.0))
    if transform == "sqrt":
        return np.sqrt(np.maximum(x, 0.0))
    return x


class _Plan:
    """How to standardise a fixed list of ordinary features, worked out once: a request's
    explanations standardise the same 10 features every time (20 songs: 26 µs, against 35 µs
    when their centres, scales and transforms were looked up on every call)."""

    def __init__(self, fitted: list[FittedFeature]):
        if any(f.transform == "circle" for f in fitted):
            raise ValueError("circular features are standardised one at a time")
        columns = {t: [j for j, f in enumerate(fitted) if f.transform == t]
                   for t in ("sqrt", "log")}
        self.transformed = [(t, at) for t, at in columns.items() if at]
        self.center = np.array([f.center for f in fitted])
        self.scale = np.array([f.scale for f in fitted])

    def apply(self, values: np.ndarray) -> np.ndarray:
        x = np.array(values, dtype=np.float64)
        for transform, columns in self.transformed:
            x[:, columns] = _pre(transform, x[:, columns])
        z = (x - self.center) / self.scale
        z[np.isnan(z)] = 0.0
        return z


Columns = pa.Table | Mapping[str, np.ndarray]
# Rows standardised at a time by `FeaturePipeline.weighted`.
BLOCK = 65_536


def _column(table: Columns, name: str) -> np.ndarray:
    """A feature column as float64 with NaN where unknown."""
    if not isinstance(table, pa.Table):
        return np.asarray(table[name], dtype=np.float64)
    col = table.column(name)
    return col.to_numpy().astype(np.float64) if col.null_count == 0 else np.asarray(
        col.to_pandas(), dtype=np.float64)


class FeaturePipeline:
    """Fitted transform from catalogue columns to song vectors."""

    def __init__(self, features: list[FittedFeature]):
        self.features = features
        self._by_name = {f.name: f for f in features}
        self._dims = [d for f in features for d in f.dims]
        self._start = {f.name: self._dims.index(f.dims[0]) for f in features}
        self._plans: dict[tuple[str, ...], _Plan] = {}  # by the names standardised together

    @property
    def dims(self) -> list[str]:
        """Names of the vector's dimensions, in order."""
        return list(self._dims)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @classmethod
    def fit(cls, table: pa.Table, config: FeatureConfig | None = None) -> FeaturePipeline:
        """Fit on a catalogue table; features the catalogue lacks (or has no value of) or weighted
        0 are left out."""
        config = config or FeatureConfig()
        fitted = []
        for name, weight in config.weights.items():
            if weight == 0 or name not in table.column_names:
                continue
            transform = TRANSFORMS[name]
            if transform == "circle":
                fitted.append(FittedFeature(name, transform, 0.0, 1.0, weight))
                continue
            x = _pre(transform, _column(table, name))
            if not np.isfinite(x).any():  # a column nobody has a value in (audio-only songs)
                continue
            center = float(np.nanmean(x))
            scale = float(np.nanstd(x)) or 1.0
            fitted.append(FittedFeature(name, transform, center, scale, weight))
        return cls(fitted)

    def standardize(self, name: str, values: np.ndarray) -> np.ndarray:
        """One feature's values on the common scale (mean 0, spread 1), unweighted.

        Returns shape (n,) for ordinary features and (n, 2) for circular ones; unknown values
        (NaN) become the catalogue mean.
        """
        f = self._feature(name)
        values = np.asarray(values, dtype=np.float64)
        if f.transform == "circle":
            angle = 2 * np.pi * values / 12
            known = (values >= 0) & ~np.isnan(values)
            # A circle of radius sqrt(2) has the same spread as a standardised feature.
            out = np.where(known[:, None],
                           np.column_stack((np.sin(angle), np.cos(angle))) * np.sqrt(2), 0.0)
            return out
        return self.standardize_many([name], values[:, None])[:, 0]

    def standardize_many(self, names: Sequence[str], values: np.ndarray) -> np.ndarray:
        """Several ordinary (not circular) features at once: `values` float (m, len(names)),
        one column per name, to float64 (m, len(names)) on the common scale; unknown values
        (NaN) become the catalogue mean (0)."""
        key = tuple(names)
        plan = self._plans.get(key) or self._plans.setdefault(key, _Plan(
            [self._feature(name) for name in key]))
        return plan.apply(values)

    def transform(self, table: Columns) -> np.ndarray:
        """Unit vectors for every row of a table: float32, C-order, shape (n, len(dims))."""
        return normalize(self.weighted(table))

    def weighted(self, table: Columns) -> np.ndarray:
        """Standardised, weighted, not yet normalised vectors; shape (n, len(dims)).

        `table` is a catalogue table or a mapping from feature name to values of shape (n,).
        """
        n = table.num_rows if isinstance(table, pa.Table) else len(table[self.features[0].name])
        out = np.empty((n, len(self.dims)), dtype=np.float32)
        plain = [f for f in self.features if f.transform != "circle"]
        at = [self._start[f.name] for f in plain]
        weights = np.array([f.weight for f in plain])
        # A block of rows at a time, the ordinary features together: one pass for the few rows
        # of a query, and no float64 copy of every column at once in a 1.2M-song build.
        for start in range(0, n, BLOCK):
            part = table.slice(start, BLOCK) if isinstance(table, pa.Table) else {
                f.name: np.asarray(table[f.name])[start:start + BLOCK] for f in self.features}
            rows = slice(start, start + BLOCK)
            if plain:
                values = np.column_stack([_column(part, f.name) for f in plain])
                out[rows, at] = self.standardize_many([f.name for f in plain], values) * weights
            for f in self.features:
                if f.transform == "circle":
                    z = self.standardize(f.name, _column(part, f.name)) * f.weight
                    out[rows, self._start[f.name]:self._start[f.name] + 2] = z
        return out

    def apply_targets(self, weighted: np.ndarray, targets: Sequence[Mapping[str, float]]
                      ) -> np.ndarray:
        """Replace features of unnormalised vectors (m, d) (from `weighted`) with target
        values, one mapping of targets per vector; each feature is standardised once for all
        the vectors that set it."""
        out = np.array(weighted, dtype=np.float32)
        wanted: dict[str, tuple[list[int], list[float]]] = {}
        for i, mine in enumerate(targets):
            for name, value in mine.items():
                at, values = wanted.setdefault(name, ([], []))
                at.append(i)
                values.append(value)
        for name, (at, values) in wanted.items():
            f = self._feature(name)
            start = self._start[name]
            z = self.standardize(name, np.array(values, dtype=np.float64))
            out[at, start:start + len(f.dims)] = z.reshape(len(at), -1) * f.weight
        return out

    def _feature(self, name: str) -> FittedFeature:
        return self._by_name[name]

    def has(self, name: str) -> bool:
        return name in self._by_name

    def to_json(self) -> list[dict[str, object]]:
        return [f.__dict__ for f in self.features]

    @classmethod
    def from_json(cls, data: list[dict[str, object]]) -> FeaturePipeline:
        try:
            return cls([FittedFeature(**d) for d in data])  # type: ignore[arg-type]
        except TypeError as exc:
            raise LibraryError(f"feature configuration is not in the expected format: {exc}") \
                from exc

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, path: Path) -> FeaturePipeline:
        return cls.from_json(json.loads(path.read_text()))


def normalize(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows in place (all-zero rows stay zero); returns float32 C-order."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x
