"""The view in the URL: defaults per role, checks with clear messages, links that keep it."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.auth import Role
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Grain
from omnikpi.services import DEFAULT_PERIODS, default_range
from omnikpi.services.periods import RELATIVE_FORMS, RelativePeriod
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


# -- relative periods: a bookmark that stays current ------------------------------------
BOOKMARK = {"grain": "week", "period": "last-complete-week", "store": "S001"}


@pytest.mark.parametrize(
    ("latest", "start", "end"),
    [
        # Saturday 2026-12-05: the week of Nov 30 is not complete, the one before is
        (date(2026, 12, 5), date(2026, 11, 23), date(2026, 11, 29)),
        # Sunday 2026-12-06: the data grew to the end of that week, so it is shown
        (date(2026, 12, 6), date(2026, 11, 30), date(2026, 12, 6)),
        # two weeks later, a Wednesday
        (date(2026, 12, 16), date(2026, 12, 7), date(2026, 12, 13)),
    ],
)
def test_a_bookmarked_relative_period_opens_on_the_newest_complete_week(
    latest: date, start: date, end: date
) -> None:
    view = parse_view_params(BOOKMARK, role=Role.TEAM_LEAD, today=TODAY, latest=latest)
    assert (view.grain, view.start, view.end) == ("week", start, end)
    assert (view.start, view.end) == default_range(Grain.WEEK, latest, 1)
    assert view.filters == {"store": ["S001"]}
    # links repeat the period, never the dates it means today
    assert view.query_string() == "?grain=week&period=last-complete-week&store=S001"


@pytest.mark.parametrize(
    ("text", "grain", "periods"),
    [
        ("last-complete-day", "day", 1),
        ("last-complete-month", "month", 1),
        ("last-complete-quarter", "quarter", 1),
        ("last-complete-year", "year", 1),
        ("last-13-weeks", "week", 13),
        ("last-30-days", "day", 30),
        ("last-8-quarters", "quarter", 8),
        ("last-2-years", "year", 2),
    ],
)
def test_complete_periods_are_the_latest_ones_the_data_covers(
    text: str, grain: str, periods: int
) -> None:
    latest = date(2026, 12, 5)
    view = parse_view_params({"period": text}, role=Role.MEMBER, today=TODAY, latest=latest)
    assert view.grain == grain  # an address naming only a period takes its grain
    assert (view.start, view.end) == default_range(Grain(grain), latest, periods)
    assert view.period == RelativePeriod.parse(text)
    assert view.period is not None
    assert view.period.name == text


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("day-to-date", date(2026, 11, 18)),
        ("week-to-date", date(2026, 11, 16)),  # the Monday of Wednesday Nov 18
        ("month-to-date", date(2026, 11, 1)),
        ("quarter-to-date", date(2026, 10, 1)),
        ("year-to-date", date(2026, 1, 1)),
    ],
)
def test_a_period_to_date_runs_from_its_first_day_to_the_latest_data(
    text: str, start: date
) -> None:
    latest = date(2026, 11, 18)
    view = parse_view_params({"period": text}, role=Role.EXECUTIVE, today=TODAY, latest=latest)
    assert (view.start, view.end) == (start, latest)


def test_the_grain_of_the_address_splits_the_period() -> None:
    view = parse_view_params(
        {"grain": "day", "period": "last-complete-week"},
        role=Role.EXECUTIVE, today=TODAY, latest=date(2026, 12, 5),
    )  # fmt: skip
    assert (view.grain, view.start, view.end) == ("day", date(2026, 11, 23), date(2026, 11, 29))


def test_without_latest_data_the_period_ends_yesterday() -> None:
    view = parse({"period": "last-complete-month"})
    assert (view.start, view.end) == (date(2025, 12, 1), date(2025, 12, 31))  # TODAY - 1 day


@pytest.mark.parametrize(
    "query",
    [
        {"period": "last-complete-week", "start": "2025-10-01"},
        {"period": "last-complete-week", "end": "2025-12-28"},
        {"period": "week-to-date", "start": "2025-10-01", "end": "2025-12-28"},
    ],
)
def test_a_relative_period_and_dates_are_refused_together_with_the_fix(
    query: dict[str, str],
) -> None:
    with pytest.raises(InvalidChoice) as error:
        parse(query)
    assert (error.value.param, error.value.value) == ("period", query["period"])
    assert "remove them to keep the relative period" in str(error.value)
    assert "remove period= to keep the dates" in str(error.value)


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("last-week", RELATIVE_FORMS),
        ("last-complete-fortnight", RELATIVE_FORMS),
        ("fortnight-to-date", RELATIVE_FORMS),
        ("last-0-weeks", RELATIVE_FORMS),
        ("last-13-week", RELATIVE_FORMS),
        ("last-11-years", "a span of at most 3660 days"),
        ("last-999999-years", "a span of at most 3660 days"),  # before year 1
    ],
)
def test_an_unknown_period_names_the_forms_that_work(text: str, allowed: str) -> None:
    with pytest.raises(InvalidChoice) as error:
        parse({"period": text})
    assert (error.value.param, error.value.value, error.value.allowed) == ("period", text, allowed)


def test_links_keep_the_relative_period_and_drill_downs_too() -> None:
    view = parse({"period": "last-13-weeks", "channel": "app"})
    assert view.query_string() == "?period=last-13-weeks&channel=app"
    assert view.query_string(grain="month") == "?grain=month&period=last-13-weeks&channel=app"
    drill = view.drill_query("stages", "yoy")
    assert drill == "?grain=week&period=last-13-weeks&compare=yoy&channel=app&from=stages"
    # the detail's own default comparison is left out, unless the user chose it
    assert "compare" not in view.drill_query("stages", "previous")
    chosen = parse({"period": "last-13-weeks", "compare": "previous"})
    assert "compare=previous" in chosen.drill_query("stages", "previous")
    # the drill-down opens the same days
    opened = parse(dict(pair.split("=") for pair in drill[1:].split("&")))
    assert (opened.start, opened.end, opened.period) == (view.start, view.end, view.period)
    # dates chosen in a link replace the period, a period replaces the dates
    dated = view.with_changes(start=date(2025, 10, 6))
    assert dated.query_string() == "?start=2025-10-06&end=2025-12-28&channel=app"
    back = dated.with_changes(period=RelativePeriod.parse("week-to-date"))
    assert back.query_string() == "?period=week-to-date&channel=app"


def test_a_view_of_dates_drills_down_with_the_dates() -> None:
    view = parse({"start": "2025-10-06", "end": "2025-12-28"})
    assert view.period is None
    assert view.relative_period is None
    assert view.drill_query("stages", None) == (
        "?grain=week&start=2025-10-06&end=2025-12-28&compare=none&from=stages"
    )


def test_the_form_offers_the_grains_relative_periods_with_the_default_chosen() -> None:
    view = parse({})
    # no range in the address: the default range is the last DEFAULT_PERIODS weeks
    assert view.relative_period == RelativePeriod("last", Grain.WEEK, DEFAULT_PERIODS[Grain.WEEK])
    assert (view.start, view.end) == view.resolve(view.relative_period)
    assert [choice.name for choice in view.period_choices()] == [
        "last-complete-week",
        "last-13-weeks",
        "week-to-date",
    ]
    # a day to date is the last complete day: not offered twice
    assert [choice.name for choice in view.period_choices(Grain.DAY)] == [
        "last-complete-day",
        "last-30-days",
    ]
    # a period of the address the form does not offer comes first, so it stays chosen
    other = parse({"period": "last-4-weeks"})
    assert next(choice.name for choice in other.period_choices()) == "last-4-weeks"
    # each choice says what it means with the view's data (yesterday: Wednesday Dec 31)
    assert view.resolve(RelativePeriod.parse("week-to-date")) == (
        date(2025, 12, 29),
        date(2025, 12, 31),
    )
