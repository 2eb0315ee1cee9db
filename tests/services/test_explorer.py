"""The catalog explorer: search in both languages, filters, and only what a role may open."""

from __future__ import annotations

import pytest

from omnikpi.auth import parse_role
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import load_catalog
from omnikpi.services import UNTIERED, CatalogSearch, search_catalog, tier_kpis

CATALOG = load_catalog()
ANALYST = parse_role("analyst")
MERCHANDISER = parse_role("member:merchandiser")


def ids(role: str = "analyst", **search: str) -> list[str]:
    page = search_catalog(CATALOG, parse_role(role), CatalogSearch(**search))  # type: ignore[arg-type]
    return [kpi.id for kpi in page.kpis]


def test_analysts_find_every_kpi_in_stage_order() -> None:
    page = search_catalog(CATALOG, ANALYST, CatalogSearch())
    assert page.total == len(page.kpis) == len(CATALOG.kpis)
    assert page.kpis[0].stage == "awareness"
    assert page.kpis[-1].stage == "operations"
    assert page.facets.tiers[:2] == ("cxo", "lead")
    assert page.facets.tiers[-1] == UNTIERED


def test_search_matches_ids_english_and_korean_names() -> None:
    assert "conversion_rate" in ids(text="conversion rate")  # English name words
    assert "conversion_rate" in ids(text="CONVERSION_RATE")  # the id, any case
    assert ids(text="평균 주문") == ["aov"]  # Korean name (건별 평균 주문액)
    assert set(ids(text="전환율")) >= {"conversion_rate", "search_conversion_rate"}
    assert ids(text="no such kpi at all") == []


def test_filters_combine() -> None:
    found = ids(stage="after_sales", function="service", race="engage")
    assert found
    assert all(
        CATALOG.kpis[k].stage == "after_sales" and CATALOG.kpis[k].function == "service"
        for k in found
    )
    assert ids(tier="cxo") == [k.id for k in CATALOG.select(tier="cxo")]
    assert set(ids(tier=UNTIERED)) == {k.id for k in CATALOG.kpis.values() if not k.tiers}


def test_members_see_their_role_and_the_company_kpis_only() -> None:
    page = search_catalog(CATALOG, MERCHANDISER, CatalogSearch())
    visible = {kpi.id for kpi in page.kpis}
    # their tiers' KPIs but those computed from a KPI they may not read (services.access)
    assert {k.id for k in tier_kpis(CATALOG, MERCHANDISER, "member:merchandiser")} <= visible
    assert {k.id for k in tier_kpis(CATALOG, MERCHANDISER, "cxo")} <= visible
    # cart abandonment is theirs and 1 - basket_to_order_rate (lead): read, not listed
    assert {"cart_abandonment_rate", "basket_to_order_rate"} <= visible
    assert "basket_to_order_rate" not in {k.id for k in CATALOG.select(tier="member:merchandiser")}
    assert "impressions" not in visible  # lead and marketer KPIs are not theirs
    assert page.facets.tiers[:2] == ("cxo", "member:merchandiser")


@pytest.mark.parametrize(
    ("search", "param"),
    [
        ({"stage": "checkout"}, "stage"),
        ({"race": "plan"}, "race"),
        ({"tier": "lead"}, "tier"),  # not a tier a merchandiser may open
        ({"function": "finance"}, "function"),
    ],
)
def test_a_bad_filter_names_the_parameter_and_the_choices(
    search: dict[str, str], param: str
) -> None:
    with pytest.raises(InvalidChoice) as error:
        search_catalog(CATALOG, MERCHANDISER, CatalogSearch(**search))  # type: ignore[arg-type]
    assert error.value.param == param
    assert error.value.allowed
