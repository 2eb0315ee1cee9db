"""The analysts' customer pages on the simulated retailer: each opens for an analyst;
customer-level pages answer 403 to a team lead, who sees the aggregate segment sizes with
small cells withheld ("<10") and no customer id; opening a customer's 360 is audited."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Role, UserRole
from omnikpi.auth.audit import Actor, AuditEvent
from omnikpi.services.audit import AuditFilter, list_audit_log
from omnikpi.services.customers import (
    CustomerTable,
    cohorts,
    list_customers,
    segment_sizes,
    segment_transition_matrix,
)
from omnikpi.services.warehouse import read_warehouse
from omnikpi.web.routes.customer_pages import (
    cohort_curve,
    heat_style,
    latest_sizes,
    transition_grid,
)
from tests.web.conftest import LOGIN_BY_ROLE

ANALYST = UserRole(Role.ANALYST)
LEAD = UserRole(Role.TEAM_LEAD)


def actor(role: UserRole) -> Actor:
    return Actor(username=LOGIN_BY_ROLE[role], role=role, channel="page")


@pytest.fixture(scope="module")
def customer_id(web_app: FastAPI) -> str:
    """The simulated retailer's customer with the highest revenue."""
    context = web_app.state.context
    top = list_customers(context.settings, context.store, Actor.cli(), limit=1)
    return str(top.rows[0]["customer_id"])


def cells(html: str, table_id: str) -> list[str]:
    """The text of every body cell of the table `table_id`."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, f"no table #{table_id}"
    body = table.group(0).split("<tbody>", 1)[1]
    raw = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in raw]


def test_the_analyst_sees_segment_sizes_transitions_and_rfm_groups(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI
) -> None:
    page = signed_in_clients[ANALYST].get("/customers")
    assert page.status_code == 200
    html = page.text
    assert 'id="segment-chart"' in html
    assert '"stacked": true' in html
    assert 'id="customer-search"' in html
    assert "<10" not in html
    assert "&lt;10" not in html
    sizes = segment_sizes(web_app.state.context.settings, actor(ANALYST))
    latest = [row for row in sizes.rows if row["as_of"] == sizes.as_of]
    shown = cells(html, "segment-sizes")
    for row in latest:  # each row: segment, customers, share, change
        assert f"{row['customers']:,}" in shown, row
    assert 'id="transition-matrix"' in html
    assert 'id="rfm-groups"' in html


def test_a_lead_sees_the_aggregates_with_small_cells_withheld_and_no_customer_ids(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI, customer_id: str
) -> None:
    page = signed_in_clients[LEAD].get("/customers")
    assert page.status_code == 200
    html = page.text
    assert 'id="customer-search"' not in html
    assert customer_id not in html
    settings = web_app.state.context.settings
    moves = segment_transition_matrix(settings, actor(LEAD))
    withheld = [row for row in moves.rows if row["suppressed"]]
    assert withheld, "the simulated retailer has small transition cells"
    matrix = re.search(r'<table[^>]*id="transition-matrix".*?</table>', html, re.S)
    assert matrix
    for row in withheld:
        cell = re.search(
            rf'data-from="{re.escape(row["from_segment"])}" '
            rf'data-to="{re.escape(row["to_segment"])}">(.*?)</td>',
            matrix.group(0),
            re.S,
        )
        assert cell, row
        assert "&lt;10" in cell.group(1), row
    # what the lead is shown equals what the analyst is shown where nothing is withheld
    full = segment_sizes(settings, actor(ANALYST))
    lead = segment_sizes(settings, actor(LEAD))
    for mine, theirs in zip(lead.rows, full.rows, strict=True):
        if not mine["suppressed"]:
            assert mine["customers"] == theirs["customers"]
    assert 'id="customers-suppressed"' in html


@pytest.mark.parametrize("path", ["/customers/clv", "/customers/{id}"])
def test_customer_level_pages_answer_403_to_a_lead(
    signed_in_clients: dict[UserRole, TestClient], customer_id: str, path: str
) -> None:
    page = signed_in_clients[LEAD].get(path.replace("{id}", customer_id))
    assert page.status_code == 403
    assert "text/html" in page.headers["content-type"]
    main = re.search(r"<main.*</main>", page.text, re.S)
    assert main  # the error page; only the language switch keeps the address asked for
    assert customer_id not in main.group(0)


def test_the_360_page_shows_the_customer_and_is_audited(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI, customer_id: str
) -> None:
    store = web_app.state.context.store
    wanted = AuditFilter(username=LOGIN_BY_ROLE[ANALYST], event=AuditEvent.CUSTOMER_READ)
    before = len(list_audit_log(store, Actor.cli(), wanted))
    page = signed_in_clients[ANALYST].get(f"/customers/{customer_id}")
    assert page.status_code == 200
    assert f"Customer {customer_id}" in page.text or f"고객 {customer_id}" in page.text
    assert 'data-field="segment"' in page.text
    assert 'data-field="revenue"' in page.text
    # the latest orders, newest first, as the warehouse has them through the 360's day
    with read_warehouse(web_app.state.context.settings) as warehouse:
        latest = warehouse.fetch_rows(
            "SELECT order_id FROM orders WHERE customer_id = ? "
            "ORDER BY placed_at DESC, order_id DESC LIMIT 20",
            [customer_id],
        )
    listed = re.findall(
        r"<tr>\s*<td>([^<]+)</td>", page.text.split('id="profile-recent-orders"')[1]
    )
    assert listed == [str(row[0]) for row in latest]
    assert len(listed) > 3  # the top customer has a history to show
    assert "built-in method" not in page.text  # a dict's own attributes are not its values
    entries = list_audit_log(store, Actor.cli(), wanted)
    assert len(entries) == before + 1
    assert entries[0].subject == f"customer {customer_id}"
    assert entries[0].row_count == 1 + len(listed)


def test_the_search_box_opens_a_customer_and_an_unknown_one_is_not_found(
    signed_in_clients: dict[UserRole, TestClient], customer_id: str
) -> None:
    client = signed_in_clients[ANALYST]
    found = client.get("/customers", params={"customer": f" {customer_id} "})
    assert found.status_code == 303
    assert found.headers["location"] == f"/customers/{customer_id}"
    missing = client.get("/customers/no-such-customer")
    assert missing.status_code == 404
    assert "no-such-customer" in missing.text


@pytest.mark.parametrize(
    "path",
    [
        "/customers/cohorts",
        "/customers/cohorts?by=first_channel&metric=cumulative_revenue_per_customer",
        "/customers/top?window=6m",
    ],
)
def test_the_aggregate_pages_open_for_analysts_and_leads(
    signed_in_clients: dict[UserRole, TestClient], path: str
) -> None:
    for role in (ANALYST, LEAD):
        assert signed_in_clients[role].get(path).status_code == 200, role


def test_the_cohort_heatmap_shows_the_services_retention(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI
) -> None:
    table = cohorts(web_app.state.context.settings, actor(ANALYST))
    first = min(row["cohort"] for row in table.rows)
    row = next(r for r in table.rows if r["cohort"] == first and r["months_since"] == 1)
    html = signed_in_clients[ANALYST].get("/customers/cohorts").text
    shown = cells(html, "cohort-table-1")
    assert f"{row['retention'] * 100:.1f}%" in shown
    assert f"{row['cohort_customers']:,}" in shown
    bad = signed_in_clients[ANALYST].get("/customers/cohorts?by=favourite_colour")
    assert bad.status_code == 400


def test_the_clv_page_says_how_to_fit_when_no_model_is_fitted(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    page = signed_in_clients[ANALYST].get("/customers/clv")
    assert page.status_code == 200
    assert 'id="clv-not-fitted"' in page.text
    assert "omnikpi customers clv predict" in page.text


# -- the pages' pure helpers, by hand ---------------------------------------------------------
def test_the_cohort_curve_weights_by_cohort_size_and_skips_partial_or_withheld_months() -> None:
    rows = [
        {"months_since": 1, "complete": True, "retention": 0.2, "cohort_customers": 100},
        {"months_since": 1, "complete": True, "retention": 0.5, "cohort_customers": 300},
        {"months_since": 1, "complete": False, "retention": 0.9, "cohort_customers": 50},
        {"months_since": 2, "complete": True, "retention": None, "cohort_customers": 100},
    ]
    curve = cohort_curve(rows, "retention", 3)
    assert curve[0] is None  # no month 0 given
    assert curve[1] == pytest.approx((0.2 * 100 + 0.5 * 300) / 400)  # 0.425
    assert curve[2] is None  # only a withheld value


def test_the_transition_grid_totals_a_row_only_when_nothing_in_it_is_withheld() -> None:
    def row(source: str, target: str, customers: int | None) -> dict[str, object]:
        return {
            "from_date": date(2025, 11, 30),
            "to_date": date(2025, 12, 31),
            "from_segment": source,
            "to_segment": target,
            "customers": customers,
        }

    table = CustomerTable(
        ("from_segment", "to_segment", "customers"),
        [row("a", "a", 7), row("a", "b", 3), row("b", "a", None), row("b", "b", 40)],
        date(2025, 12, 31),
    )
    grid = transition_grid(table)
    assert grid["sources"] == ["a", "b"]
    assert grid["targets"] == ["a", "b"]
    assert grid["totals"] == {"a": 10, "b": None}
    assert grid["from_date"] == date(2025, 11, 30)


def test_latest_sizes_give_the_change_since_the_month_before() -> None:
    def row(day: date, segment: str, customers: int | None) -> dict[str, object]:
        return {"as_of": day, "segment": segment, "customers": customers, "share": None}

    earlier, later = date(2025, 11, 30), date(2025, 12, 31)
    rows = [row(earlier, "a", 5), row(earlier, "b", None), row(later, "a", 8), row(later, "b", 9)]
    latest = latest_sizes(CustomerTable(("as_of", "segment", "customers"), rows, later))
    assert [(r["segment"], r["change"]) for r in latest] == [("a", 3), ("b", None)]


def test_heat_grows_with_the_share_and_dark_cells_get_light_text() -> None:
    assert heat_style(None) == ""
    assert heat_style(0.0) == "background-color: rgb(11 92 173 / 0.060)"
    assert heat_style(1.0) == "color: #fff; background-color: rgb(11 92 173 / 0.900)"
