"""Direct computation's SQL for rollup builds (`omnikpi.kpi.compute`)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from omnikpi.kpi.atoms import Atom
from omnikpi.kpi.compute import _GroupingSets, counted_value
from omnikpi.kpi.periods import Grain
from omnikpi.kpi.scope import column_name


def _atom(condition: str, period_filter: str | None = None) -> Atom:
    fields: list[tuple[str, object]] = [("expr", "customer_id"), ("filter", condition)]
    if period_filter:
        fields.append(("period_filter", period_filter))
    return Atom("count_distinct", "orders", tuple(sorted(fields)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distinct_counts_in_two_steps_equal_count_distinct_per_grouping_set(seed: int) -> None:
    """Counting each grouping set's values once with a flag per atom, then summing the
    flags, gives COUNT(DISTINCT) of every atom exactly: with unknown counted values, a
    dimension value none of whose rows has a value (a count of 0, not a missing row), an
    unknown dimension value, an atom no row matches, and an atom counted per grain."""
    rng = np.random.default_rng(seed)
    n = 3000
    rows = pd.DataFrame(
        {
            "_p_day": rng.integers(0, 40, n),
            "_dim_region": rng.choice(np.array(["north", "south", "empty", None], dtype=object), n),
            "_dim_channel": rng.choice(np.array(["web", "store"], dtype=object), n),
            "_e": rng.integers(0, 60, n).astype("float64"),
            "kind": rng.integers(0, 3, n),
        }
    )
    rows["_p_month"] = rows["_p_day"] // 30
    rows.loc[rng.random(n) < 0.1, "_e"] = np.nan
    rows.loc[rows["_dim_region"] == "empty", "_e"] = np.nan
    batch = [_atom("kind == 0"), _atom("kind >= 1"), _atom("kind == 9"), _atom("x", "per grain")]
    rows["_c0"] = (rows["kind"] == 0).astype(int)
    rows["_c1"] = (rows["kind"] >= 1).astype(int)
    rows["_c2"] = 0
    rows["_c3@day"] = (rows["kind"] == 1).astype(int)
    rows["_c3@month"] = (rows["kind"] == 2).astype(int)
    periods = {Grain.DAY: "_p_day", Grain.MONTH: "_p_month"}
    flags = ["_c0", "_c1", "_c2", "_c3@day", "_c3@month"]
    for flag in flags:
        # The plain path's value column: the value where the atom counts the row.
        rows["_v" + flag.removeprefix("_c")] = rows["_e"].where(rows[flag] == 1)
        # The two-step path's flag: the atom counts the row and it has a value.
        rows[flag] = rows[flag].where(rows["_e"].notna(), 0)
    keys = ["_p_day", "_p_month", "_dim_region", "_dim_channel"]
    groups = [[p] for p in periods.values()]
    groups += [[p, d] for p in periods.values() for d in keys[2:]]
    connection = duckdb.connect()
    connection.register("input_rows", rows)
    query = _GroupingSets("SELECT * FROM input_rows", batch, periods, keys, groups)
    plain = connection.sql(query.aggregates()).df()
    two_steps = connection.sql(query.distinct_counts()).df()
    by = [*keys, *(f"_g{k}" for k in keys)]
    plain = plain.sort_values(by, ignore_index=True)
    two_steps = two_steps.sort_values(by, ignore_index=True)
    names = [column_name(a, "value") for a in batch[:3]]
    names += [column_name(batch[3], "value") + s for s in ("@day", "@month")]
    assert list(two_steps.columns) == list(plain.columns) == [*by, *names]
    pd.testing.assert_frame_equal(two_steps, plain, check_dtype=False)
    # Every period (40 days, 2 months) for the total, 4 regions and 2 channels.
    assert len(plain) == 42 * (1 + 4 + 2)
    empty = plain["_dim_region"].eq("empty") & plain["_g_dim_region"].eq(0)
    assert empty.any()
    assert (plain.loc[empty, names] == 0).all().all()
    assert (plain[names[2]] == 0).all()
    assert (plain[names[0]] > 0).any()
    assert (plain[names[3]] != plain[names[4]]).any()


def test_only_atoms_counting_one_expression_distinct_are_counted_in_two_steps() -> None:
    customers = _atom("kind == 0")
    assert counted_value([customers, _atom("kind == 1")]) == "customer_id"
    orders = Atom("count_distinct", "orders", (("expr", "order_id"),))
    assert counted_value([customers, orders]) is None
    total = Atom("sum", "orders", (("expr", "customer_id"),))
    assert counted_value([customers, total]) is None
