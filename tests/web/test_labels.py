"""Stores and regions are named in the page's language everywhere: filter choices,
breakdown rows and chart labels (values stay ids)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from omnikpi.auth import UserRole, parse_role
from omnikpi.i18n import t
from omnikpi.kpi import load_catalog
from omnikpi.services import FilterChoices
from omnikpi.services.choices import StoreName
from omnikpi.web.labels import Labels
from omnikpi.web.view_params import parse_view_params
from tests.conftest import SIM_END
from tests.web.test_pages import in_language, korean_view_form

ANALYST = parse_role("analyst")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
STORES = {
    "S001": StoreName("Myeongdong Flagship", {"ko": "명동 플래그십"}),
    "S005": StoreName("Busan Seomyeon", {"ko": "부산 서면점"}),
    "S099": StoreName("Yeoju Outlet"),
}


def labels(locale: str) -> Labels:
    return Labels(locale, load_catalog(), STORES)  # type: ignore[arg-type]


def test_stores_and_regions_are_named_in_the_page_language() -> None:
    korean, english = labels("ko"), labels("en")
    assert korean.value("store", "S005") == "부산 서면점"
    assert english.value("store", "S005") == "Busan Seomyeon"
    assert korean.value("store", "S099") == "Yeoju Outlet"  # no Korean name in the data
    assert korean.value("store", "S404") == "S404"
    assert korean.value("region", "Busan") == t("dimension_values.region.Busan", "ko") == "부산"
    assert english.value("region", "Chungbuk") == "North Chungcheong"


def test_filter_options_are_ordered_by_the_names_people_read() -> None:
    regions = ["Busan", "Jeju", "Seoul"]
    assert labels("ko").options("region", regions) == [
        ("Busan", "부산"),
        ("Seoul", "서울"),
        ("Jeju", "제주"),
    ]
    assert [name for _, name in labels("en").options("store", STORES)] == [
        "Busan Seomyeon",
        "Myeongdong Flagship",
        "Yeoju Outlet",
    ]


def test_the_view_form_names_each_filter_value_in_the_page_language() -> None:
    choices = FilterChoices(
        stores=tuple(STORES.items()), regions=("Busan", "Seoul"), channels=("app", "web")
    )
    query = {"channel": "app", "store": "S001", "region": "Seoul"}
    view = parse_view_params(query, role=parse_role("team_lead").role, today=SIM_END)
    form = korean_view_form(view, choices, labels("ko"))
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', form)
    assert ("S001", " selected", "명동 플래그십") in options
    assert ("S005", "", "부산 서면점") in options
    assert ("Seoul", " selected", "서울") in options
    assert ("app", " selected", "앱") in options
    assert "Myeongdong Flagship" not in form
    assert "Seoul<" not in form


def breakdown_chart_names(html: str) -> list[str]:
    """The bar labels of a detail page's breakdown chart."""
    chart = re.search(r"chart--breakdown\" data-chart='([^']*)'", html)
    assert chart is not None
    names: list[str] = json.loads(chart.group(1))["labels"]
    return names


def test_breakdowns_and_their_charts_name_stores_and_regions_in_korean(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    client = in_language(signed_in_clients, ANALYST, "ko")
    by_store = client.get("/kpis/revenue?grain=month&by=store")
    assert by_store.status_code == 200
    stores = breakdown_chart_names(by_store.text)
    assert {"명동 플래그십", "강남역점"} <= set(stores)
    assert all(HANGUL.search(name) for name in stores), stores
    assert re.search(r">\s*명동 플래그십\s*</t[hd]>", by_store.text)
    by_region = client.get("/kpis/revenue?grain=month&by=region")
    assert by_region.status_code == 200
    regions = breakdown_chart_names(by_region.text)
    assert {"부산", "서울"} <= set(regions)
    assert all(HANGUL.search(name) for name in regions), regions
