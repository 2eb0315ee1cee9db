"""The view in the URL: defaults per role, checks with clear messages, links that keep it."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.auth import Role
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Grain
from omnikpi.web.view_params import ViewParams, parse_view_params

TODAY = date(2026, 1, 1)


def parse(query: dict[str, str], role: Role = Role.TEAM_LEAD) -> ViewParams:
    return parse_view_params(query, role=role, today=TODAY)


@pytest.mark.parametrize(
    ("role", "grain", "start", "end"),
    [
        # the latest complete periods up to yesterday (2025-12-31, a Wednesday)
        (Role.EXECUTIVE, "month", date(2024, 12, 1), date(2025, 12, 31)),  # 13 months
        (Role.TEAM_LEAD, "week", date(2025, 9, 29), date(2025, 12, 28)),  # 13 ISO weeks
        (Role.MEMBER, "day", date(2025, 12, 2), date(2025, 12, 31)),  # 30 days
    ],
)
def test_each_role_opens_on_its_own_grain_and_latest_complete_periods(
    role: Role, grain: str, start: date, end: date
) -> None:
    view = parse({}, role)
    assert (view.grain, view.start, view.end) == (grain, start, end)
    assert (view.compare, view.channel, view.store, view.region, view.member) == (
        "none",
        None,
        None,
        None,
        "all",
    )
    assert view.query_string() == ""  # defaults are not written into links


def test_the_default_period_ends_with_the_latest_data_and_the_page_may_pick_the_grain() -> None:
    view = parse_view_params(
        {}, role=Role.MEMBER, today=TODAY, latest=date(2025, 11, 20),
        grain=Grain.MONTH,
    )  # fmt: skip
    # November is not complete on the 20th: the latest complete month is October.
    assert (view.grain, view.start, view.end) == ("month", date(2024, 10, 1), date(2025, 10, 31))
    daily = parse_view_params({}, role=Role.MEMBER, today=TODAY, latest=date(2025, 11, 20))
    assert (daily.start, daily.end) == (date(2025, 10, 22), date(2025, 11, 20))
    chosen = parse_view_params(
        {"grain": "week"}, role=Role.EXECUTIVE, today=TODAY, grain=Grain.MONTH
    )
    assert chosen.grain == "week"


def test_a_full_view_is_read_and_written_back() -> None:
    query = {
        "grain": "quarter",
        "start": "2025-01-01",
        "end": "2025-12-31",
        "compare": "yoy",
        "channel": "app",
        "store": "S002",
        "region": "Seoul",
        "member": "non_member",
    }
    view = parse(query)
    assert view.comparison == "yoy"
    assert view.filters == {
        "channel": ["app"],
        "store": ["S002"],
        "region": ["Seoul"],
        "member": ["non_member"],
    }
    assert parse(dict(pair.split("=") for pair in view.query_string()[1:].split("&"))) == view


def test_links_change_one_thing_and_keep_the_rest() -> None:
    view = parse({"grain": "month", "channel": "web"})
    assert view.query_string(grain="week") == "?grain=week&channel=web"
    assert view.with_changes(compare="previous").comparison == "previous"


@pytest.mark.parametrize(
    ("query", "param", "allowed"),
    [
        ({"grain": "fortnight"}, "grain", "day, week, month, quarter, year"),
        ({"compare": "last"}, "compare", "none, previous, yoy, last_week"),  # a lead's weeks
        ({"compare": "last_week", "grain": "month"}, "compare", "none, previous, yoy"),
        ({"member": "vip"}, "member", "all, member, non_member"),
        ({"start": "2025-13-01"}, "start", "YYYY-MM-DD"),
        ({"start": "2025-12-31", "end": "2025-01-01"}, "end", "≥ start 2025-12-31"),
        ({"start": "2010-01-01", "end": "2025-12-31"}, "start", "≥ 2015-12-25"),
    ],
)
def test_bad_values_name_the_parameter_and_what_is_allowed(
    query: dict[str, str], param: str, allowed: str
) -> None:
    with pytest.raises(InvalidChoice) as error:
        parse(query)
    assert (error.value.param, error.value.allowed) == (param, allowed)
    assert f"{param} " in str(error.value)


def test_filter_values_are_left_to_the_kpi_request_to_check() -> None:
    """Whether a store or channel exists is checked with the KPIs (an unknown value is a
    422 naming the closest ones), not by the view."""
    view = parse({"channel": "fax", "store": "S999"})
    assert view.filters == {"channel": ["fax"], "store": ["S999"]}


def test_empty_values_mean_no_filter() -> None:
    view = parse({"channel": "", "store": " ", "grain": ""})
    assert (view.channel, view.store, view.grain) == (None, None, "week")
