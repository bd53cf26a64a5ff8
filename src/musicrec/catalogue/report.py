"""What a read made of a source: the validated catalogue and the report of every row it did
not keep as it was."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

REJECTED = "rejected"
CELL_UNKNOWN = "cell_unknown"


@dataclass(frozen=True)
class Rejection:
    """One problem with one source row.

    `action` tells what was done: `rejected` (the row is not in the catalogue) or
    `cell_unknown` (the row is kept and this optional cell is null).
    """

    row: int
    column: str
    reason: str
    value: str
    action: str = REJECTED
    # The source file, as the build was given it; several sources can share row numbers.
    file: str = ""


@dataclass
class Catalogue:
    """A validated catalogue: one row per unique track id, in source order.

    Every non-blank data line of the source is either kept, rejected or merged into an
    earlier duplicate: `rows_kept + rows_rejected + duplicates == rows_read`.

    Attributes:
        table: the normalised columns (see `build_table` for the schema).
        rejections: every problem found, rows rejected and cells made unknown (see
            `Rejection.action`), duplicates included.
        rows_read: non-blank data lines in the source file, malformed ones included.
        duplicates: rows merged into an earlier row with the same track id.
        missing_optional: optional columns the source does not have.
        warnings: one-line notes for the build summary (a guessed encoding, an optional
            column that is mostly unreadable).
    """

    table: pa.Table
    rejections: list[Rejection]
    rows_read: int
    duplicates: int
    missing_optional: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Source row number of each kept row (int64, (rows_kept,)): lets several sources be merged.
    row_numbers: np.ndarray | None = None

    @property
    def rows_kept(self) -> int:
        return self.table.num_rows

    @property
    def rows_rejected(self) -> int:
        """Rows not kept for a reason other than being a duplicate."""
        return len({(r.file, r.row) for r in self.rejections
                    if r.action == REJECTED and not r.reason.startswith("duplicate")})

    def rejected_by_reason(self) -> Counter[str]:
        """Rejected rows (duplicates excluded) counted by their first reason."""
        seen: set[tuple[str, int]] = set()
        counts: Counter[str] = Counter()
        for r in self.rejections:
            if (r.action == REJECTED and (r.file, r.row) not in seen
                    and not r.reason.startswith("duplicate")):
                seen.add((r.file, r.row))
                counts[f"{r.column}: {_reason_kind(r.reason)}"] += 1
        return counts

    def unknown_cells_by_reason(self) -> Counter[str]:
        """Optional cells made unknown in kept rows, counted by column and reason."""
        return Counter(f"{r.column}: {_reason_kind(r.reason)}" for r in self.rejections
                       if r.action == CELL_UNKNOWN)

    def rejections_frame(self, with_file: bool = False) -> pd.DataFrame:
        """The report as a table; `with_file` adds the source file of each row (rejected.csv)."""
        # New columns go last: readers of the older reports keep working.
        frame = pd.DataFrame(
            [(r.row, r.column, r.reason, r.value, r.action) for r in self.rejections],
            columns=["row", "column", "reason", "value", "action"],
        )
        if with_file:
            frame["file"] = [r.file for r in self.rejections]
        return frame


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0]
