"""The loyalty_effects table is rewritten after loads that change its inputs, from the month of
the earliest change (golden retailer: orders from March 2024 to 2025-03-11)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from omnikpi.services.loyalty import write_loyalty_effects, write_loyalty_effects_after
from omnikpi.warehouse import Warehouse


def test_effects_follow_the_changed_inputs(golden_copy: Path) -> None:
    with Warehouse.open(golden_copy) as warehouse:
        assert write_loyalty_effects(warehouse) == 13
        warehouse.clear_changes()
        warehouse.run_sql("UPDATE loyalty_effects SET members = -1 WHERE month < '2025-02-01'")
        # A load of sessions changes nothing the effects read.
        assert write_loyalty_effects_after(warehouse, {"sessions"}) == 0
        # Orders from 2025-02-10 on: February and March are recomputed, earlier months kept.
        warehouse.mark_changed({"orders": date(2025, 2, 10)}, "test")
        assert write_loyalty_effects_after(warehouse, {"orders", "sessions"}) == 2
        rows = warehouse.fetch_rows("SELECT month, members FROM loyalty_effects ORDER BY month")
        assert len(rows) == 13
        assert all(members == -1 for month, members in rows if month < date(2025, 2, 1))
        # March: C1 and C3 are members at 2025-03-11 (the last data day).
        assert rows[-1] == (date(2025, 3, 1), 2)
        # A change without a date (a customers reload) rewrites every month.
        warehouse.mark_changed({"customers": None}, "test")
        assert write_loyalty_effects_after(warehouse, {"customers"}) == 13
