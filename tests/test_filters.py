"""`Where`: one description of a request's hard filters, as a mask and as an expression."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec.filters import Where
from musicrec.request import RecommendRequest


class Songs:
    """A few columns with known answers: unknown values, and a value given exactly as 0.8."""

    def __init__(self) -> None:
        self.columns = {
            "energy": np.array([0.8, 0.81, np.nan, 0.2, 0.5], np.float32),
            "tempo": np.array([120, 99.5, 100, np.nan, 130], np.float32),
            "explicit": np.array([1, 0, np.nan, 0, 1], np.float32),
        }
        self.family_labels = np.array([0, 3, 5, 3, 1], np.int16)

    def __len__(self) -> int:
        return 5

    def numeric(self, name: str) -> np.ndarray:
        return self.columns[name]


def where(**filters: object) -> Where:
    found = Where.of(RecommendRequest(seed_tracks=["x"], **filters))
    assert found is not None
    return found


@pytest.mark.parametrize(("filters", "rows", "expression"), [
    ({"max": {"energy": 0.8}}, [0, 3, 4], "energy <= 0.800000011920929"),
    ({"min": {"tempo": 100}}, [0, 2, 4], "tempo >= 100.0"),
    ({"min": {"tempo": 100}, "max": {"tempo": 125}}, [0, 2], "tempo >= 100.0 and tempo <= 125.0"),
    ({"explicit": False}, [1, 3], "explicit == 0.0"),
    ({"explicit": True, "families": [1, 0, 1]}, [0, 4], "explicit == 1.0 and family in [0, 1]"),
    ({"min": {"tempo": 100}, "families": [5, 3]}, [2], "tempo >= 100.0 and family in [3, 5]"),
    ({"families": []}, [], "family in []"),
])
def test_mask_and_expression_say_the_same(filters: dict[str, object], rows: list[int],
                                          expression: str) -> None:
    w = where(**filters)
    assert np.flatnonzero(w.mask(Songs())).tolist() == rows
    assert w.expression() == expression


def test_unknown_values_fail_every_bound_and_no_filter_is_none() -> None:
    both_sides = where(min={"energy": 0.0}, max={"energy": 1.0})
    assert not both_sides.mask(Songs())[2], "NaN energy passes no bound"
    assert both_sides.columns == {"energy"}
    assert where(explicit=True, families=[2]).columns == {"explicit", "family"}
    assert Where.of(RecommendRequest(seed_tracks=["x"])) is None
