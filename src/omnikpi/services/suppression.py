"""Small-cell suppression: KPI values describing fewer than k customers are withheld from
roles without customer-level access (DESIGN §6), on every page, download and API answer.

Roles that may see customer-level rows (analysts, admins; `Action.VIEW_CUSTOMER_LEVEL`)
read every value. For everyone else the KPI engine also counts the distinct customers
behind each value and its comparison (`KpiRequest.population`, see
`omnikpi.kpi.population`), and `suppress` — the one place the rule is applied — withholds:

- **small cells**: a value describing fewer than `Settings.min_cell_customers` (k, default
  10) customers. Its value, numerator, denominator, base, change and status become None and
  the row says why (`suppressed="small_cell"`); its target stays (it is no data).
- **complementary cells**: within a breakdown, the cells of one period split by one
  dimension add up to (or are weighed into) a total shown elsewhere. Where exactly one of
  them is withheld, the total minus the others would give it back, so the sibling with the
  fewest customers is withheld too (`"complementary"`); repeated for every dimension until
  no group has a lone withheld cell.
- the same for the compared period's value (`comparison_suppressed`).

KPIs whose sources describe no customer (media spend, stock, site checks) have no
population and are never withheld. The population counts themselves never leave here.

>>> frame = suppress(answer, minimum=10, dimensions=["store"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from omnikpi.auth import Action, UserRole, is_allowed
from omnikpi.i18n import Locale, t
from omnikpi.kpi.request import KpiRequest
from omnikpi.services.reader import KpiReader

#: Why a value is withheld: it describes too few customers, or it would give one back.
Reason = Literal["small_cell", "complementary"]
REASONS: tuple[Reason, ...] = ("small_cell", "complementary")
#: Columns a withheld value takes with it (they describe the same customers).
VALUE_PARTS = ("value", "numerator", "denominator", "base", "change", "status")
#: The population columns the engine adds (never shown).
POPULATION_COLUMNS = ("population", "comparison_population")


def sees_customers(role: UserRole | None) -> bool:
    """Whether `role` reads every value (customer-level access); None is the warehouse
    owner on the command line, who does."""
    return role is None or is_allowed(role, Action.VIEW_CUSTOMER_LEVEL)


def checked_request(request: KpiRequest, role: UserRole | None) -> KpiRequest:
    """`request` as the engine must answer it for `role`: with the population counts when
    its values are to be checked for small cells."""
    if sees_customers(role) or request.population:
        return request
    return replace(request, population=True)


def read_answer(reader: KpiReader, request: KpiRequest, role: UserRole | None) -> pd.DataFrame:
    """The engine's long table for `request`, suppressed for `role` (see the module
    docstring; columns `suppressed` and `comparison_suppressed` are added, None for values
    shown, and the population columns dropped). Roles with customer-level access get the
    engine's answer unchanged."""
    if sees_customers(role):
        return reader.answer(request)
    frame = reader.answer(checked_request(request, role))
    dimensions = [c for c in frame.columns if c in reader.catalog.dimensions]
    return suppress(frame, reader.settings.min_cell_customers, dimensions)


def suppress(frame: pd.DataFrame, minimum: int, dimensions: Sequence[str]) -> pd.DataFrame:
    """`frame` (an engine answer with population columns) with every value describing
    fewer than `minimum` customers withheld, and the complementary cells that would give
    one back within a split by one of `dimensions`; see the module docstring."""
    result = frame.copy()
    sides = (
        ("value", "population", "suppressed", VALUE_PARTS),
        ("comparison_value", "comparison_population", "comparison_suppressed", ("change",)),
    )
    for value, population, marker, parts in sides:
        reasons = _withheld(result, value, population, minimum, dimensions)
        withheld = reasons.notna().to_numpy().copy()
        for column in parts if value == "value" else (value, *parts):
            if column in result.columns:
                result[column] = result[column].astype(object)
                result.loc[withheld, column] = None
        result[marker] = reasons
    return result.drop(columns=[c for c in POPULATION_COLUMNS if c in result.columns])


def _withheld(
    frame: pd.DataFrame, value: str, population: str, minimum: int, dimensions: Sequence[str]
) -> pd.Series:
    """Each row's reason to withhold `value` (None: shown)."""
    reasons = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if population not in frame.columns or value not in frame.columns or frame.empty:
        return reasons
    counted = pd.to_numeric(frame[population], errors="coerce").to_numpy("float64")
    shown = frame[value].notna().to_numpy()
    size = np.abs(pd.to_numeric(frame[value], errors="coerce").fillna(0.0).to_numpy("float64"))
    small = shown & ~np.isnan(counted) & (counted < minimum)
    reasons[small] = "small_cell"
    split = [d for d in dimensions if d in frame.columns]
    for _ in range(len(frame)):
        added = False
        for dimension in split:
            added |= _complement(frame, reasons, (counted, size, shown), dimension, split)
        if not added:
            break
    return reasons


def _complement(
    frame: pd.DataFrame,
    reasons: pd.Series,
    cells: tuple[np.ndarray, np.ndarray, np.ndarray],
    dimension: str,
    split: Sequence[str],
) -> bool:
    """Withholds, in each group of cells differing only in `dimension`, the sibling with
    the fewest customers (then the smallest value) where exactly one cell is withheld;
    whether any was. `cells`: each row's population, |value| and whether it has one."""
    counted, size, shown = cells
    others = ["kpi", "period_start", *(d for d in split if d != dimension)]
    keys = frame[others].astype(object).where(frame[others].notna(), "\0none")
    groups = keys.groupby(others, sort=False, dropna=False).indices
    withheld = reasons.notna().to_numpy().copy()
    added = False
    for rows in groups.values():
        if len(rows) < 2 or withheld[rows].sum() != 1:
            continue
        candidates = [r for r in rows if shown[r] and not withheld[r] and not np.isnan(counted[r])]
        if not candidates:
            continue
        chosen = min(candidates, key=lambda r: (counted[r], size[r], r))
        reasons.iloc[chosen] = "complementary"
        withheld[chosen] = True
        added = True
    return added


def reason_text(reason: str | None, minimum: int) -> str | None:
    """Why a value is withheld, in words (the API's `reason`; pages translate the reason).

    >>> reason_text("small_cell", 10)
    'fewer than 10 customers'
    """
    if reason == "small_cell":
        return f"fewer than {minimum} customers"
    if reason == "complementary":
        return (
            f"withheld so that a value of fewer than {minimum} customers cannot be worked "
            "out from the total and the other values"
        )
    return None


def withheld_marker(locale: Locale, minimum: int) -> str:
    """How pages and downloads show a withheld value: "<10"."""
    return t("suppression.marker", locale, n=minimum)
