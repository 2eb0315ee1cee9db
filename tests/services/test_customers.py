"""The customer services: customer-level reads only for analysts and admins (audited,
refusals too), aggregates for everyone with small cells withheld for roles without
customer-level access, the stored profiles kept fresh by loads and forgets; on the
simulated retailer, the planted late-delivery effect on NPS shows in the
negative-experience segment."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from omnikpi.auth import AppStateStore, Role, UserRole, app_state_path, audit_entries
from omnikpi.auth.audit import Actor, AuditEvent
from omnikpi.auth.permissions import ActionDenied
from omnikpi.errors import InvalidChoice, NotFound
from omnikpi.model.derived import CUSTOMER_PROFILES
from omnikpi.services.customers import (
    cohorts,
    customer_profile,
    list_customers,
    refresh_customer_profiles,
    refresh_profiles_after_change,
    rfm_groups,
    segment_sizes,
    segment_transition_matrix,
)
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.conftest import SIM_END
from tests.customers.tiny_retailer import AS_OF, MONTH_BEFORE, build_tiny_retailer

LEAD = Actor("lena", UserRole(Role.TEAM_LEAD), "10.0.0.3")
ANALYST = Actor("lee", UserRole(Role.ANALYST), "10.0.0.5", channel="api")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_retailer(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture
def settings(template: Path, tmp_path: Path) -> Settings:
    path = Path(shutil.copy(template, tmp_path / "tiny.duckdb"))
    return Settings(warehouse=path, min_cell_customers=2)


@pytest.fixture
def store(settings: Settings) -> AppStateStore:
    return AppStateStore.open(app_state_path(settings.warehouse))


def test_a_team_lead_is_refused_a_customer_s_360_and_the_refusal_is_audited(
    settings: Settings, store: AppStateStore
) -> None:
    with pytest.raises(ActionDenied):
        customer_profile(settings, store, LEAD, "A")
    with pytest.raises(ActionDenied):
        list_customers(settings, store, LEAD, segment="hero")
    entries = audit_entries(store, event=AuditEvent.ACCESS_DENIED)
    assert [(e.username, e.subject) for e in entries] == [
        ("lena", "customers segment=hero"),
        ("lena", "customer A"),
    ]
    assert audit_entries(store, event=AuditEvent.CUSTOMER_READ) == []


def test_an_analyst_reads_a_360_audited_with_one_row(
    settings: Settings, store: AppStateStore
) -> None:
    profile = customer_profile(settings, store, ANALYST, "A")
    assert (profile["segment"], profile["rfm_group"], profile["orders"]) == (
        "negative_experience",
        "champions",
        3,
    )
    assert profile["as_of"].date() == AS_OF  # the latest order day by default
    [entry] = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert (entry.username, entry.subject, entry.row_count) == ("lee", "customer A", 1)
    # An earlier date gives the customer as they were then (A was active on 05-31).
    assert customer_profile(settings, store, ANALYST, "A", as_of=MONTH_BEFORE)["segment"] == (
        "active"
    )
    with pytest.raises(NotFound, match='no customer "Z"'):
        customer_profile(settings, store, ANALYST, "Z")
    with pytest.raises(InvalidChoice, match=r"as-of \"2025-07-01\".*≤ 2025-06-30"):
        customer_profile(settings, store, ANALYST, "A", as_of=date(2025, 7, 1))
    reads = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert [e.row_count for e in reads][:2] == [0, 0]  # the failures are audited too


def test_an_analyst_lists_a_segment_highest_revenue_first(
    settings: Settings, store: AppStateStore
) -> None:
    result = list_customers(settings, store, ANALYST, segment="negative_experience")
    # A 60,000, K 15,000, I 10,000.
    assert [r["customer_id"] for r in result.rows] == ["A", "K", "I"]
    [entry] = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert (entry.subject, entry.row_count) == ("customers segment=negative_experience", 3)
    with pytest.raises(InvalidChoice, match=r'segment "heroes".*negative_experience, hero'):
        list_customers(settings, store, ANALYST, segment="heroes")


def test_segment_sizes_withhold_small_and_complementary_cells_for_a_lead(
    settings: Settings,
) -> None:
    lead = segment_sizes(settings, LEAD, since=AS_OF, by="member")
    cells = {(r["member"], r["segment"]): (r["customers"], r["suppressed"]) for r in lead.rows}
    # As of 2025-06-30 (k = 2): members: A negative_experience (1) -> withheld; non-members:
    # negative_experience I, K (2) would give A back from the total -> complementary;
    # one each hero, active, cart_abandoner, at_risk, lapsed, prospect -> withheld;
    # new C, H (2) shown; empty cells (0) give no one away and are shown.
    assert cells[("True", "negative_experience")] == (None, "small_cell")
    assert cells[("False", "negative_experience")] == (None, "complementary")
    assert cells[("False", "new")] == (2, None)
    assert cells[("False", "hero")] == (None, "small_cell")
    assert cells[("True", "hero")] == (0, None)
    assert (lead.minimum, lead.withheld) == (2, 8)
    analyst = segment_sizes(settings, ANALYST, since=AS_OF, by="member")
    shown = {(r["member"], r["segment"]): r["customers"] for r in analyst.rows}
    assert shown[("True", "negative_experience")] == 1
    assert shown[("False", "negative_experience")] == 2
    assert "suppressed" not in analyst.columns
    assert (analyst.minimum, analyst.withheld) == (None, 0)


def test_sizes_run_month_by_month(settings: Settings) -> None:
    result = segment_sizes(settings, ANALYST, since=date(2025, 5, 1))
    totals: dict[date, int] = {}
    for row in result.rows:
        totals[row["as_of"]] = totals.get(row["as_of"], 0) + row["customers"]
    # 9 customers had signed up by 05-31, 11 by 06-30.
    assert totals == {MONTH_BEFORE: 9, AS_OF: 11}
    with pytest.raises(InvalidChoice, match='by "channel"'):
        segment_sizes(settings, ANALYST, by="channel")


def test_transitions_for_a_lead_and_an_analyst(settings: Settings) -> None:
    analyst = segment_transition_matrix(settings, ANALYST)
    moved = {
        (r["from_segment"], r["to_segment"]): r["customers"] for r in analyst.rows if r["customers"]
    }
    # From 2025-05-31 (the month end before the date) to 2025-06-30; see test_segments.
    assert moved[("active", "negative_experience")] == 1
    assert moved[("(not yet a customer)", "new")] == 2
    assert sum(moved.values()) == 11
    # Two monthly steps: 04-30 -> 05-31, then the step above.
    steps = segment_transition_matrix(settings, ANALYST, months=2)
    assert sorted({(r["from_date"], r["to_date"]) for r in steps.rows}) == [
        (date(2025, 4, 30), MONTH_BEFORE),
        (MONTH_BEFORE, AS_OF),
    ]
    assert [r for r in steps.rows if r["to_date"] == AS_OF] == analyst.rows
    lead = segment_transition_matrix(settings, LEAD)
    cells = {(r["from_segment"], r["to_segment"]): r for r in lead.rows}
    assert cells[("active", "negative_experience")]["customers"] is None
    assert cells[("active", "negative_experience")]["share"] is None
    assert cells[("(not yet a customer)", "new")]["customers"] == 2
    assert cells[("(not yet a customer)", "new")]["share"] == 1.0
    # I and K stayed (2), but the column "to negative_experience" totals 3 (the size of
    # that segment, shown elsewhere) with A's lone withheld move: withheld too.
    assert cells[("negative_experience", "negative_experience")]["suppressed"] == ("complementary")


def test_rfm_groups_and_cohorts_for_a_lead(settings: Settings) -> None:
    groups = {r["rfm_group"]: r for r in rfm_groups(settings, LEAD).rows}
    # champions A, B (2) and hibernating E, F, J (3) are shown; the four groups of one
    # customer are withheld with their means.
    assert (groups["champions"]["customers"], groups["hibernating"]["customers"]) == (2, 3)
    assert groups["loyal"]["customers"] is None
    assert groups["loyal"]["revenue"] is None
    assert groups["loyal"]["suppressed"] == "small_cell"
    table = cohorts(settings, LEAD, since=date(2024, 12, 1))
    december = [r for r in table.rows if r["cohort"] == date(2024, 12, 1)]
    # D and K (2 customers): month 0 shown; months 1 and 5 had one customer -> withheld,
    # and the cumulated revenue from month 1 on (it would give month 1 back).
    assert [r["active_customers"] for r in december] == [2, None, 0, 0, 0, None, 0]
    assert [r["cumulative_revenue_per_customer"] for r in december] == [17_500.0] + [None] * 6
    # Cohorts of one customer are withheld whole.
    january = [r for r in table.rows if r["cohort"] == date(2025, 1, 1)]
    assert {r["cohort_customers"] for r in january} == {None}


def test_stored_profiles_follow_loads_and_forgets(settings: Settings, store: AppStateStore) -> None:
    from omnikpi.services.forget import forget_customer

    with Warehouse.open(settings.warehouse) as warehouse:
        # Not kept yet: a change leaves the warehouse alone.
        assert refresh_profiles_after_change(warehouse, settings, {"orders"}) is None
        assert not warehouse.has_table(CUSTOMER_PROFILES.name)
        done = refresh_customer_profiles(warehouse, settings)
        assert (done.rows, done.as_of) == (11, AS_OF)
        # Kept: a change of an input rebuilds it; of another table it does not.
        assert refresh_profiles_after_change(warehouse, settings, {"site_checks"}) is None
        again = refresh_profiles_after_change(warehouse, settings, {"orders"})
        assert again is not None
        assert again.rows == 11
    forget_customer(settings, store, Actor.cli(), "A", reason="test")
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        ids = {r[0] for r in warehouse.fetch_rows("SELECT customer_id FROM customer_profiles")}
    assert "A" not in ids
    assert len(ids) == 11


@pytest.mark.slow
def test_late_deliveries_lower_the_nps_of_the_negative_experience_segment(
    sim_path: Path, tmp_path: Path
) -> None:
    """The simulator plants NPS answers after late deliveries drawn from a worse
    distribution (`simulation_truth` delivery.nps.late vs .on_time). Segmented without
    the NPS criterion (so the answers do not decide the segment), the customers with a
    recent complaint, bad review or late delivery answer NPS well below the others, and
    those with a late delivery close to the planted late-delivery NPS."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "no_nps.yaml").write_text(
        "segments:\n"
        "  - id: negative_experience\n"
        "    priority: 10\n"
        "    condition: orders > 0 and (complaints_recent > 0 or bad_reviews_recent > 0"
        " or late_deliveries_recent > 0)\n",
        encoding="utf-8",
    )
    settings = Settings(warehouse=sim_path, segment_dirs=(rules,))
    store = AppStateStore.open(tmp_path / "state.sqlite")
    listed = list_customers(
        settings, store, Actor.cli(), segment="negative_experience", limit=1_000_000
    )
    negative = {r["customer_id"] for r in listed.rows}
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        truth = dict(warehouse.fetch_rows("SELECT key, value FROM simulation_truth"))
        answers = warehouse.fetch_frame(
            "SELECT customer_id, score FROM surveys WHERE kind = 'nps' "
            "AND CAST(responded_at AS DATE) > ? - INTERVAL 90 DAY",
            [SIM_END],
        )
    answers["negative"] = answers["customer_id"].isin(negative)

    def nps(scores: pd.Series) -> float:
        return float(100 * ((scores >= 9).mean() - (scores <= 6).mean()))

    inside = nps(answers.loc[answers["negative"], "score"])
    outside = nps(answers.loc[~answers["negative"], "score"])
    assert len(negative) > 300
    # Planted: +40 after on-time deliveries, -33 after late ones.
    assert truth["delivery.nps.on_time"] == pytest.approx(40.0)
    assert outside > 25
    assert inside < outside - 25


def test_a_failed_rebuild_drops_the_stored_profiles_and_says_so(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import omnikpi.services.customers as service
    from omnikpi.errors import RefreshFailed

    with Warehouse.open(settings.warehouse) as warehouse:
        refresh_customer_profiles(warehouse, settings)

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(service, "refresh_customer_profiles", broken)
        # Stale rows could still hold a forgotten customer's id: they go.
        with pytest.raises(RefreshFailed, match=r"\(disk full\) and were dropped"):
            refresh_profiles_after_change(warehouse, settings, {"customers"})
        assert not warehouse.has_table(CUSTOMER_PROFILES.name)


@pytest.mark.slow
def test_sizes_and_transitions_add_up_on_the_simulated_retailer(sim_path: Path) -> None:
    settings = Settings(warehouse=sim_path)
    sizes = segment_sizes(settings, Actor.cli(), since=date(2025, 10, 1))
    moved = segment_transition_matrix(settings, Actor.cli())
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        signed_up = {
            day: int(
                warehouse.fetch_value(
                    "SELECT count(*) FROM customers WHERE CAST(created_at AS DATE) <= ?", [day]
                )
            )
            for day in (date(2025, 10, 31), date(2025, 11, 30), SIM_END)
        }
    totals: dict[date, int] = {}
    by_segment: dict[tuple[date, str], int] = {}
    for row in sizes.rows:
        totals[row["as_of"]] = totals.get(row["as_of"], 0) + row["customers"]
        by_segment[(row["as_of"], row["segment"])] = row["customers"]
    assert totals == signed_up  # every customer in exactly one segment
    # Rows of the matrix add up to the November sizes, columns to December's.
    rows: dict[str, int] = {}
    columns: dict[str, int] = {}
    for row in moved.rows:
        rows[row["from_segment"]] = rows.get(row["from_segment"], 0) + row["customers"]
        columns[row["to_segment"]] = columns.get(row["to_segment"], 0) + row["customers"]
    november = date(2025, 11, 30)
    assert {s: n for s, n in rows.items() if s != "(not yet a customer)"} == {
        s: n for (d, s), n in by_segment.items() if d == november
    }
    assert rows["(not yet a customer)"] == signed_up[SIM_END] - signed_up[november]
    assert columns == {s: n for (d, s), n in by_segment.items() if d == SIM_END}
