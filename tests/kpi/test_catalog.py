"""The catalog covers the reference KPIs with identical metadata, and explains bad entries."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from omnikpi.errors import ConfigError, NotFound
from omnikpi.kpi import load_catalog
from omnikpi.kpi.explain import explain
from omnikpi.kpi.spec import DimensionSpec
from omnikpi.warehouse import Warehouse

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "kpi_reference.csv"
KPI = """
kpis:
  - id: {id}
    name: {{en: Test, ko: 테스트}}
    definition: {{en: Test., ko: 테스트.}}
    stage: purchase
    function: sales
    race: convert
    unit: count
    direction: up
    tiers: {tiers}
    measure: {measure}
"""


def test_every_reference_kpi_is_in_the_catalog_with_its_metadata() -> None:
    catalog = load_catalog()
    with REFERENCE.open(encoding="utf-8") as handle:
        reference = list(csv.DictReader(handle))
    assert len(reference) == 110
    for row in reference:
        kpi = catalog.get(row["id"])
        assert (kpi.name.en, kpi.name.ko) == (row["name_en"], row["name_ko"]), row["id"]
        assert (kpi.stage, kpi.function, kpi.race) == (
            row["stage"],
            row["function"],
            row["race"],
        ), row["id"]
        assert (kpi.unit, kpi.direction) == (row["unit"], row["direction"]), row["id"]
        assert sorted(kpi.tiers) == sorted(t for t in row["tiers"].split(";") if t), row["id"]
        assert kpi.definition.en == row["definition"], row["id"]
        assert kpi.definition.ko, row["id"]


def test_tiers() -> None:
    catalog = load_catalog()
    assert len(catalog.select(tier="cxo")) == 10
    assert len(catalog.select(tier="lead")) == 47
    assert [k.id for k in catalog.select(tier="member:cs_agent")] == [
        "service_tickets",
        "complaints",
        "service_sla_compliance",
        "social_inquiries",
        "csat",
        "first_response_hours",
        "resolution_hours",
        "active_issues",
        "backlog",
    ]
    stages = [k.stage for k in catalog.kpis.values()]
    assert stages.index("awareness") < stages.index("browsing") < stages.index("loyalty")


def test_every_kpi_compiles_to_sql() -> None:
    catalog = load_catalog()
    with Warehouse.create(Path(":memory:")) as empty:
        for kpi_id in catalog.kpis:
            found = explain(catalog, kpi_id, empty)
            assert found.sql, kpi_id
            assert all(sql.lstrip().startswith(("SELECT", "WITH", "--")) for sql in found.sql)
    # Sources written by later steps (CLV scores) say so instead of failing.
    # clv is a mean: a sum and a count over the scores.
    assert (
        explain(catalog, "clv").sql == ["-- customer_scores: reads a table that is not loaded"] * 2
    )


def test_every_percent_kpi_declares_its_bounds() -> None:
    catalog = load_catalog()
    percents = [k for k in catalog.kpis.values() if k.unit == "percent"]
    assert len(percents) > 50
    assert [k.id for k in percents if k.bounds is None] == []


def test_every_packaged_kpi_declares_its_bounds() -> None:
    assert [k.id for k in load_catalog().kpis.values() if k.bounds is None] == []


@pytest.mark.parametrize(
    ("kpi", "bounds"),
    [
        ("conversion_rate", (0, 1)),  # sessions with an order / sessions
        ("order_completion_rate", (0, 1)),  # completed orders are some of the orders
        ("csat", (0, 1)),  # share of answers scoring 4-5
        ("nps", (-100, 100)),  # % promoters - % detractors, in points
        ("csat_mean_score", (1, 5)),  # mean answer on the 1-5 scale
        ("review_rating", (1, 5)),  # stars, 1 to 5
        ("avg_search_position", (1, None)),  # 1 is the top of the results
        ("revenue", (0, None)),
        ("visits", (0, None)),
        ("resolution_hours", (0, None)),
        ("roas", (0, None)),  # revenue / spend: may well exceed 100%
        ("social_engagement_rate", (0, None)),  # engagements / followers: may exceed 100%
        ("points_redemption_rate", (0, None)),  # redeems points earned in earlier periods
        ("project_budget_used", (0, None)),  # over budget is above 100%
        ("avg_margin", (None, 1)),  # gross profit / revenue: a loss is below 0
        ("subscriber_growth_rate", (-1, None)),  # cannot lose more than every subscriber
        ("loyalty_member_spend_uplift", (-1, None)),  # a ratio of AOVs minus 1
        ("gross_profit", (None, None)),  # profit can be a loss
        ("cost_variance", (None, None)),
    ],
)
def test_bounds_follow_each_kpis_definition(kpi: str, bounds: tuple[float, float]) -> None:
    assert load_catalog().get(kpi).bounds == bounds


def test_bounds_tell_what_is_inside_and_print_as_intervals() -> None:
    catalog = load_catalog()
    csat, nps, revenue = catalog.get("csat"), catalog.get("nps"), catalog.get("revenue")
    assert (csat.within_bounds(1.0), csat.within_bounds(1.05), csat.within_bounds(-0.01)) == (
        True,
        False,
        False,
    )
    assert (csat.clamp(1.034), csat.clamp(-0.2), csat.clamp(0.5)) == (1.0, 0.0, 0.5)
    assert (nps.bounds_text, revenue.bounds_text) == ("[-100, 100]", "[0, ∞)")
    assert catalog.get("gross_profit").bounds_text == "(-∞, ∞)"
    assert revenue.within_bounds(1e12)


def test_bounds_with_low_above_high_are_rejected(tmp_path: Path) -> None:
    text = KPI.format(id="bad_one", tiers="[]", measure="{type: count, source: orders}")
    path = _write(tmp_path, text + "    bounds: [1, 0]\n")
    with pytest.raises(ConfigError) as info:
        load_catalog([tmp_path])
    assert str(info.value) == (
        f'{path}: KPI "bad_one" field "bounds": Value error, low bound 1 is above high '
        "bound 0 (write [low, high])"
    )


def _write(folder: Path, text: str) -> Path:
    path = folder / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("measure", "tiers", "message"),
    [
        (
            "{type: average, source: orders, expr: net_amount}",
            "[]",
            'KPI "bad_one" field "measure"',
        ),
        (
            "{type: sum, source: order, expr: net_amount}",
            "[]",
            'KPI "bad_one" field "measure.source": unknown source "order"',
        ),
        ("{type: count, source: orders}", "[boss]", 'tier "boss" is not valid'),
        ("{type: formula, expr: 'revenue / nothing_here'}", "[]", 'unknown KPI "nothing_here"'),
        ("{type: share, of: colour, measure: orders}", "[]", 'unknown dimension "colour"'),
        ("{type: percentile, source: orders, expr: net_amount, q: 1.5}", "[]", 'field "measure.q"'),
    ],
)
def test_invalid_entries_name_file_kpi_and_field(
    tmp_path: Path, measure: str, tiers: str, message: str
) -> None:
    path = _write(tmp_path, KPI.format(id="bad_one", tiers=tiers, measure=measure))
    with pytest.raises(ConfigError) as info:
        load_catalog([tmp_path])
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_self_reference_is_rejected(tmp_path: Path) -> None:
    _write(
        tmp_path, KPI.format(id="loop_a", tiers="[]", measure="{type: formula, expr: 'loop_a + 1'}")
    )
    with pytest.raises(ConfigError, match='KPI "loop_a" refers to itself'):
        load_catalog([tmp_path])


def test_users_add_and_override_kpis(tmp_path: Path) -> None:
    _write(
        tmp_path,
        KPI.format(
            id="aov",
            tiers="[cxo]",
            measure="{type: ratio, numerator: revenue, denominator: orders}",
        )
        + KPI.format(
            id="big_orders",
            tiers="[]",
            measure="{type: count, source: orders, filter: 'net_amount > 100000'}",
        ).replace("kpis:\n", ""),
    )
    catalog = load_catalog([tmp_path])
    assert catalog.get("aov").name.en == "Test"
    assert catalog.get("big_orders").measure.type == "count"
    assert load_catalog().get("aov").name.en == "Average order value"


def test_missing_catalog_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog([tmp_path / "nope"])


def test_unknown_kpi_names_at_most_five_close_ids_and_where_to_find_the_rest() -> None:
    with pytest.raises(NotFound) as info:
        load_catalog().get("revnue")
    message = str(info.value)
    assert 'unknown KPI "revnue" (did you mean revenue' in message
    assert message.endswith("see `omnikpi kpi list` for every KPI")
    suggested = message.split("did you mean ")[1].split("?")[0].split(", ")
    assert 1 <= len(suggested) <= 5
    assert "active_customers" not in message  # not every id


def test_an_ordinal_dimension_lists_its_values_in_order() -> None:
    hour = load_catalog().dimensions["hour"]
    assert hour.ordinal
    assert hour.values == [f"{h:02d}" for h in range(24)]
    with pytest.raises(ValueError, match="is ordinal but lists no values"):
        DimensionSpec(id="weekday", name=hour.name, ordinal=True)
