"""Every reference KPI has a value on the simulated retailer built by `omnikpi demo`.

The only exceptions read a source documented as optional and written by a later step: the
CLV scores of the customer-analytics models.
"""

from __future__ import annotations

import csv
from pathlib import Path

from omnikpi.kpi import load_catalog
from omnikpi.kpi.atoms import atoms_of
from omnikpi.kpi.engine import KpiQuery
from omnikpi.warehouse import Warehouse

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "kpi_reference.csv"


def test_every_reference_kpi_has_a_value(sim_path: Path) -> None:
    catalog = load_catalog()
    with REFERENCE.open(encoding="utf-8") as handle:
        ids = [row["id"] for row in csv.DictReader(handle)]
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        engine = KpiQuery(catalog, warehouse)
        result = engine.run(ids, "month", "2025-11-01", "2025-11-30")
        missing = set(result[result["value"].isna()]["kpi"])
        optional = {
            kpi_id
            for kpi_id in ids
            if any(catalog.source(a.source).optional for a in atoms_of(engine.planner.plan(kpi_id)))
        }
    # The loyalty effects and the attributed revenue (roas) are optional too, and the demo
    # writes them after its load.
    assert optional == {
        "clv",
        "cpo_per_clv",
        "loyalty_member_frequency_uplift",
        "loyalty_member_spend_uplift",
        "loyalty_program_roi",
        "roas",
    }
    assert missing == {"clv", "cpo_per_clv"}
    assert set(result["kpi"]) == set(ids)
