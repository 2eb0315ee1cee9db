"""Cells of the KPI grid in one shape, and their comparison with omnikpi's direct answers.

A cell is (kpi, day, dim, payment_method). omnikpi answers every cell of its grid (every day
times every channel seen), with 0 for a count without rows and NaN for no data; a baseline
answers only the cells its GROUP BY produces. So a cell only omnikpi has must be 0 or no data
there, a cell only the baseline has must be no data, and a cell both have must agree: counts
exactly, everything else to 1e-6 relative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TOTAL = "(total)"
NULL = "(null)"
KEYS = ["kpi", "day", "dim", "payment_method"]
RELATIVE_TOLERANCE = 1e-6


def cells(frame: pd.DataFrame, total_kpis: set[str]) -> pd.DataFrame:
    """`frame` (kpi, day, dim, payment_method, value) with comparable keys: days as dates,
    NULL channels as "(null)", "(total)" for KPIs without a breakdown."""
    out = pd.DataFrame(
        {
            "kpi": frame["kpi"].astype(str).to_numpy(),
            "day": pd.to_datetime(frame["day"]).dt.date.to_numpy(),
            "dim": _text(frame["dim"]),
            "payment_method": _text(frame["payment_method"]),
            "value": pd.to_numeric(frame["value"], errors="coerce").astype("float64").to_numpy(),
        }
    )
    out.loc[out["kpi"].isin(total_kpis), "dim"] = TOTAL
    out.loc[out["kpi"] != "payment_type_share", "payment_method"] = ""
    return out


def _text(values: pd.Series) -> np.ndarray:
    return np.array([NULL if v is None or v != v else str(v) for v in values], dtype=object)


@dataclass
class Comparison:
    """How a baseline's cells compare with omnikpi's."""

    method: str
    cells: int = 0
    with_values: int = 0
    mismatches: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ok(self) -> bool:
        return self.mismatches.empty


def compare(
    method: str, reference: pd.DataFrame, other: pd.DataFrame, exact_kpis: set[str]
) -> Comparison:
    """Compare `other`'s cells with the reference (omnikpi direct) cell by cell."""
    merged = reference.merge(
        other, on=KEYS, how="outer", suffixes=("_omnikpi", "_other"), indicator=True
    )
    ours, theirs = merged["value_omnikpi"], merged["value_other"]
    only_ours = merged["_merge"] == "left_only"
    only_theirs = merged["_merge"] == "right_only"
    both = merged["_merge"] == "both"
    exact = merged["kpi"].isin(exact_kpis)
    close = np.isclose(ours, theirs, rtol=RELATIVE_TOLERANCE, atol=1e-12)
    agree = (ours.isna() & theirs.isna()) | np.where(exact, ours == theirs, close)
    ok = (only_ours & (ours.isna() | (ours == 0))) | (only_theirs & theirs.isna()) | (both & agree)
    return Comparison(
        method,
        cells=len(merged),
        with_values=int((ours.notna() | theirs.notna()).sum()),
        mismatches=merged.loc[~ok, [*KEYS, "value_omnikpi", "value_other", "_merge"]],
    )


def describe(comparison: Comparison, limit: int = 5) -> list[str]:
    """Lines telling what differed, per KPI, with a few examples."""
    if comparison.ok:
        return [
            f"{comparison.method}: {comparison.cells:,} KPI x day x channel cells compared "
            f"({comparison.with_values:,} with values), all equal"
        ]
    lines = [
        f"{comparison.method}: {len(comparison.mismatches):,} of {comparison.cells:,} cells "
        "DIFFER from omnikpi direct"
    ]
    for kpi, rows in comparison.mismatches.groupby("kpi"):
        lines.append(f"  {kpi}: {len(rows):,} cells, e.g.")
        lines += [f"    {row}" for row in rows.head(limit).to_dict("records")]
    return lines
