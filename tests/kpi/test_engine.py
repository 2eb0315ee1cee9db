"""Query validation: one clear error per mistake, naming the bad value and the choices."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from omnikpi.errors import ConfigError, NotFound, UnknownValue
from omnikpi.kpi import KpiQuery, load_catalog, query
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.targets import TargetRow, import_targets
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.kpi.conftest import pick


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ids": ["revnue"]}, NotFound, 'unknown KPI "revnue" (did you mean revenue'),
        ({"ids": []}, ConfigError, 'KPI list "" is not valid (allowed: one or more KPI ids'),
        ({"ids": ["revenue", " "]}, ConfigError, 'KPI list "revenue, " is not valid'),
        ({"grain": "hourly"}, ConfigError, 'grain "hourly" is not valid (allowed: day, week'),
        ({"start": "2025-02-30"}, ConfigError, 'start "2025-02-30" is not valid (allowed: YYYY'),
        ({"start": "2025-04-01"}, ConfigError, 'end "2025-03-31" is not valid (allowed: ≥ start'),
        (
            {"by": ["service_channel"]},
            ConfigError,
            'dimension "service_channel" is not allowed for KPI "revenue" (allowed: brand,',
        ),
        ({"filters": {"colour": "red"}}, ConfigError, 'dimension "colour" is not allowed'),
        ({"compare": "last_year"}, ConfigError, 'compare "last_year" is not valid'),
        ({"filters": {"channel": "fax"}}, UnknownValue, 'channel "fax" does not exist'),
        (
            {"ids": ["market_share"], "grain": "week"},
            ConfigError,
            'KPI "market_share" is reported at month grain or coarser (not week)',
        ),
    ],
)
def test_bad_queries(
    golden: Warehouse, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {
        "ids": ["revenue"],
        "grain": "month",
        "start": "2025-03-01",
        "end": "2025-03-31",
    }
    arguments.update(kwargs)
    with pytest.raises(error) as info:
        query(warehouse=golden, **arguments)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_long_table_columns(golden: Warehouse) -> None:
    result = query(
        ["orders", "revenue"],
        "week",
        "2025-03-03",
        "2025-03-16",
        by=["channel"],
        compare="previous",
        warehouse=golden,
    )
    assert list(result.columns) == [
        "kpi",
        "period_start",
        "channel",
        "value",
        "comparison_value",
        "change",
        "change_type",
        "target",
        "status",
        "base",
    ]
    assert result["kpi"].tolist()[:1] == ["orders"]
    assert sorted(set(result["period_start"].astype(str))) == ["2025-03-03", "2025-03-10"]


def test_ratio_kpis_give_their_parts_when_asked(golden: Warehouse) -> None:
    """March 2025 of the golden retailer: 7 sessions, 4 of them with an order (SS6, SS7,
    SS9, SS10). Revenue is a sum: it has no parts."""
    result = query(
        ["conversion_rate", "revenue"], "month", "2025-03-01", "2025-03-31",
        parts=True, warehouse=golden,
    )  # fmt: skip
    assert list(result.columns)[:5] == ["kpi", "period_start", "value", "numerator", "denominator"]
    rows = {r["kpi"]: r for r in result.to_dict("records")}
    assert (rows["conversion_rate"]["numerator"], rows["conversion_rate"]["denominator"]) == (4, 7)
    assert rows["conversion_rate"]["value"] == pytest.approx(4 / 7)
    assert (rows["revenue"]["numerator"], rows["revenue"]["denominator"]) == (None, None)
    plain = query(["conversion_rate"], "month", "2025-03-01", "2025-03-31", warehouse=golden)
    assert "numerator" not in plain.columns


def test_a_rate_carries_its_base_and_too_small_a_base_gets_no_status(golden_copy: Path) -> None:
    path = golden_copy
    march = date(2025, 3, 1)
    with Warehouse.open(path) as warehouse:
        import_targets(warehouse, [TargetRow("aov", "month", march, "", 10_000.0, None)])
    with Warehouse.open(path, read_only=True) as warehouse:

        def run(min_base: int) -> pd.DataFrame:
            engine = KpiQuery(load_catalog(), warehouse, Settings(path, min_base=min_base))
            ids = ["aov", "conversion_rate", "revenue"]
            return engine.run(ids, "month", march, "2025-03-31", parts=True)

        enough, too_few = run(5), run(6)
    # AOV over the 5 completed March orders (O6 O7 O8 O10 O11); conversion over 7 visits.
    assert pick(enough, "aov", "2025-03-01", "base") == 5
    assert pick(enough, "conversion_rate", "2025-03-01", "base") == 7
    assert pick(enough, "revenue", "2025-03-01", "base") is None  # a sum has no base
    rates = enough[enough["base"].notna()]
    assert (rates["base"] == rates["denominator"]).all()
    assert pick(enough, "aov", "2025-03-01", "status") == "green"  # 14,200 vs 10,000
    assert pick(too_few, "aov", "2025-03-01", "status") is None
    assert pick(too_few, "aov", "2025-03-01", "target") == 10_000  # the target stays


def test_a_kpi_without_data_names_the_tables_it_waits_for(golden: Warehouse) -> None:
    engine = KpiQuery(load_catalog(), golden)
    assert engine.missing_tables("clv") == ("customer_scores",)
    assert engine.missing_tables("aov") == ()


def test_requests_answered_together_equal_their_separate_answers(golden: Warehouse) -> None:
    """A detail's trend, breakdown and compared breakdown read in one pass."""
    catalog = load_catalog()
    requests = [
        KpiRequest.parse("revenue", "month", "2024-01-01", "2025-03-31", compare="previous"),
        KpiRequest.parse(
            "revenue", "month", "2025-03-01", "2025-03-31", by=["channel"], parts=True
        ),
        KpiRequest.parse(["aov", "nps"], "week", "2025-02-03", "2025-03-30", by=["region"]),
    ]
    engine = KpiQuery(catalog, golden)
    together = engine.answer_many(requests)
    for request, frame in zip(requests, together, strict=True):
        alone = KpiQuery(catalog, golden).answer(request)
        pd.testing.assert_frame_equal(frame, alone)
        assert frame["value"].notna().any()
