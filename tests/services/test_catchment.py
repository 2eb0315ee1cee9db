"""The catchment service on six hand-placed customers (tests/audiences/catchment_data.py):
who may ask, what roles without customer-level access do not see, and the errors that
say what to fix."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from omnikpi.auth import MemberRole, Role, UserRole
from omnikpi.auth.audit import Actor
from omnikpi.auth.permissions import ActionDenied
from omnikpi.errors import ConfigError, DataError, InvalidChoice, UnknownValue
from omnikpi.model.derived import CUSTOMER_SCORES
from omnikpi.services.catchment import (
    CatchmentAnswer,
    CatchmentRequest,
    catchment_analysis,
    store_choices,
)
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.audiences.catchment_data import CITY_HALL, GANGNAM, HOMES, build_catchment_retailer

LEAD = Actor("lena", UserRole(Role.TEAM_LEAD), "10.0.0.3")
ANALYST = Actor("lee", UserRole(Role.ANALYST), "10.0.0.5", channel="api")
#: 5 km around City Hall: H1 (0 km) and H3 (0.600 km); Hongdae's H6 is 5.051 km away.
NEAR_CITY_HALL = CatchmentRequest(*CITY_HALL, radius_km=5.0)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_catchment_retailer(tmp_path_factory.mktemp("catchment") / "c.duckdb")


@pytest.fixture(scope="module")
def settings(template: Path) -> Settings:
    """The retailer, read only by these tests, with k = 2."""
    return Settings(warehouse=template, min_cell_customers=2)


@pytest.fixture(scope="module")
def analysed(settings: Settings) -> CatchmentAnswer:
    """An analyst's answer for 5 km around City Hall (computed once: the customer 360 of
    a warehouse without stored profiles takes a second)."""
    return catchment_analysis(settings, ANALYST, NEAR_CITY_HALL)


def test_roles_without_customer_aggregates_are_refused(settings: Settings) -> None:
    for role in (Role.BU_USER, Role.MEMBER):
        job = MemberRole.CRM_MARKETER if role == Role.MEMBER else None
        actor = Actor("someone", UserRole(role, job))
        with pytest.raises(ActionDenied, match="view customer aggregates"):
            catchment_analysis(settings, actor, NEAR_CITY_HALL)


def test_an_analyst_sees_the_hand_computed_catchment(analysed: CatchmentAnswer) -> None:
    answer = analysed
    assert (answer.window.start.isoformat(), answer.window.end.isoformat()) == (
        "2024-07-01",
        "2025-06-30",
    )
    inside, every = answer.summary["catchment"], answer.summary["all"]
    assert (inside["customers"], inside["orders"], inside["revenue"]) == (2, 3, 80_000)
    assert inside["average_order_value"] == pytest.approx(80_000 / 3)
    assert (every["customers"], every["buyers"], every["orders_per_buyer"]) == (6, 5, 1.2)
    # No CLV model was fitted: CLV is the lifetime gross profit per customer.
    assert answer.clv_basis == "historical_gross_profit"
    assert inside["clv_per_customer"] == 41_000  # (46,000 + 36,000) / 2
    assert every["clv_per_customer"] == 33_000  # 198,000 / 6
    channels = {row["value"]: row for row in answer.facets["channels"]}
    assert list(channels) == ["store", "web", "app"]  # by all customers' revenue
    assert channels["web"]["catchment_revenue_share"] == 0.625
    assert channels["app"]["catchment_orders"] == 0  # nobody near City Hall used the app
    assert channels["app"]["catchment_revenue_share"] == 0.0
    bands = {row["value"]: row for row in answer.facets["distance_bands"]}
    assert list(bands) == ["0-2", "2-5", "5-10", "10+"]  # every band, in order
    assert (bands["5-10"]["catchment_customers"], bands["5-10"]["catchment_share"]) == (2, 1.0)
    assert (bands["0-2"]["all_customers"], bands["0-2"]["all_share"]) == (2, 0.4)
    assert (answer.located_customers, answer.unlocated_customers) == (5, 1)
    assert (answer.minimum, answer.withheld) == (None, 0)
    assert "catchment_suppressed" not in answer.facets["channels"][0]


def test_small_cells_are_withheld_from_a_team_lead(settings: Settings) -> None:
    answer = catchment_analysis(settings, LEAD, NEAR_CITY_HALL)
    assert answer.minimum == 2
    # Two customers live in the catchment: its summary is shown at k = 2.
    assert answer.summary["catchment"]["customers"] == 2
    channels = {row["value"]: row for row in answer.facets["channels"]}
    # One catchment customer bought in store (< 2): withheld, and web with it, else the
    # revenue shares (adding up to 1) would give the store's back.
    assert channels["store"]["catchment_suppressed"] == "small_cell"
    assert channels["web"]["catchment_suppressed"] == "complementary"
    assert channels["web"]["catchment_revenue_share"] is None
    assert channels["store"]["catchment_revenue"] is None
    # All customers: one used the app (withheld), store (2) is the smaller sibling.
    assert channels["app"]["all_suppressed"] == "small_cell"
    assert channels["store"]["all_suppressed"] == "complementary"
    assert channels["web"]["all_suppressed"] is None
    assert channels["web"]["all_customers"] == 3
    # Nobody is no one: an empty cell is shown.
    assert channels["app"]["catchment_customers"] == 0
    assert channels["app"]["catchment_suppressed"] is None
    categories = {row["value"]: row for row in answer.facets["categories"]}
    # One catchment customer bought makeup: withheld, and skincare with it.
    assert [categories[c]["catchment_suppressed"] for c in ("makeup", "skincare")] == [
        "small_cell",
        "complementary",
    ]
    assert categories["makeup"]["all_revenue_share"] == pytest.approx(80 / 210)
    bands = {row["value"]: row for row in answer.facets["distance_bands"]}
    # All customers: H6 alone is 10+ km from a store; 0-2 (2) and 5-10 (2) tie, the first
    # is withheld with it.
    assert [bands[b]["all_suppressed"] for b in bands] == [
        "complementary",
        None,
        None,
        "small_cell",
    ]
    assert (bands["5-10"]["all_customers"], bands["5-10"]["all_share"]) == (2, 0.4)
    assert bands["5-10"]["catchment_share"] == 1.0
    # Segments: one prospect (H6) among all customers, withheld with its smallest sibling.
    segments = [row for row in answer.facets["segments"] if row["all_suppressed"]]
    assert sorted(row["all_suppressed"] for row in segments) == ["complementary", "small_cell"]
    assert answer.withheld == 4 + 2 + 2 + 2  # channels, categories, bands, segments
    # With k = 3 the whole catchment is too small to describe.
    strict = catchment_analysis(replace(settings, min_cell_customers=3), LEAD, NEAR_CITY_HALL)
    summary = strict.summary["catchment"]
    assert summary["suppressed"] == "small_cell"
    assert {summary[name] for name in ("customers", "orders", "clv_per_customer")} == {None}
    assert strict.summary["all"]["customers"] == 6


def test_a_store_a_drive_time_and_the_radius_agree(
    settings: Settings, analysed: CatchmentAnswer
) -> None:
    around_s1 = catchment_analysis(settings, ANALYST, CatchmentRequest(store_id="S1", radius_km=1))
    assert (around_s1.store_id, around_s1.store_name) == ("S1", "Store S1")
    assert (around_s1.catchment.latitude, around_s1.catchment.longitude) == GANGNAM
    assert around_s1.summary["catchment"]["customers"] == 1  # H2 lives at the station
    # 10 minutes at 30 km/h is 5 km.
    drive = catchment_analysis(settings, ANALYST, CatchmentRequest(*CITY_HALL, drive_minutes=10))
    assert drive.catchment.radius_km == 5.0
    assert (drive.drive_minutes, drive.speed_kmh) == (10, 30.0)
    assert drive.summary == analysed.summary
    choices = store_choices(settings)
    assert [(store_id, name.name) for store_id, name in choices][:2] == [
        ("DC", "Store DC"),
        ("S1", "Store S1"),
    ]
    assert len(choices) == 5


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        (CatchmentRequest(store_id="S9", radius_km=5), UnknownValue, 'store "S9" does not exist'),
        (CatchmentRequest(91.0, 127.0, radius_km=5), InvalidChoice, "latitude"),
        (CatchmentRequest(37.5, 200.0, radius_km=5), InvalidChoice, "longitude"),
        (CatchmentRequest(37.5, 127.0, radius_km=0), InvalidChoice, "radius-km"),
        (CatchmentRequest(37.5, 127.0, radius_km=501), InvalidChoice, "at most 500"),
        (CatchmentRequest(37.5, 127.0), ConfigError, "give a radius"),
        (CatchmentRequest(37.5, 127.0, 5, drive_minutes=10), ConfigError, "not both"),
        (CatchmentRequest(37.5, None, 5), ConfigError, "give a location"),
        (CatchmentRequest(37.5, 127.0, 5, store_id="S1"), ConfigError, "not both"),
        (CatchmentRequest(37.5, 127.0, drive_minutes=2000), InvalidChoice, "radius-km"),
    ],
)
def test_errors_say_what_to_fix(
    settings: Settings, request_: CatchmentRequest, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        catchment_analysis(settings, ANALYST, request_)


def test_an_unknown_store_lists_valid_ones(settings: Settings) -> None:
    with pytest.raises(UnknownValue) as raised:
        catchment_analysis(settings, ANALYST, CatchmentRequest(store_id="S9", radius_km=5))
    assert raised.value.suggestions  # close ids, or the first few
    assert set(raised.value.suggestions) <= {"DC", "S1", "S2", "S4", "S5"}


def test_without_home_locations_it_says_how_to_load_them(tmp_path: Path) -> None:
    path = build_catchment_retailer(tmp_path / "nowhere.duckdb", dict.fromkeys(HOMES))
    with pytest.raises(DataError, match=r"latitude/longitude \(postcode centroids\)"):
        catchment_analysis(Settings(warehouse=path), ANALYST, NEAR_CITY_HALL)


def test_clv_is_the_predicted_one_once_the_models_scored_customers(
    template: Path, tmp_path: Path
) -> None:
    path = Path(shutil.copy(template, tmp_path / "scored.duckdb"))
    # As services.clv writes them: the last microsecond of 2025-06-30 in Seoul.
    scored_at = datetime(2025, 6, 30, 14, 59, 59, 999_999, tzinfo=UTC)
    rows = [("H1", 120_000.0), ("H2", 300_000.0), ("H4", 60_000.0)]
    scores = pa.Table.from_pylist(
        [
            {
                "customer_id": cid,
                "scored_at": scored_at,
                "as_of": date(2025, 6, 30),
                "model": "bgnbd+gamma-gamma",
                "frequency": 1,
                "recency_days": 10,
                "age_days": 100,
                "horizon_days": 365,
                "expected_purchases": 1.0,
                "expected_purchases_1y": 1.0,
                "p_alive": 0.5,
                "expected_spend": 10_000.0,
                "margin_rate": 0.4,
                "clv": value / 3,
                "clv_3y": value,
            }
            for cid, value in rows
        ]
    )
    with Warehouse.open(path) as warehouse:
        warehouse.replace_rows(CUSTOMER_SCORES, scores)
    answer = catchment_analysis(Settings(warehouse=path), ANALYST, NEAR_CITY_HALL)
    assert answer.clv_basis == "predicted"
    # The catchment (H1, H3): H1 alone is scored. All: the mean of the three scored.
    assert answer.summary["catchment"]["clv_customers"] == 1
    assert answer.summary["catchment"]["clv_per_customer"] == 120_000
    assert answer.summary["all"]["clv_per_customer"] == 160_000  # 480,000 / 3
