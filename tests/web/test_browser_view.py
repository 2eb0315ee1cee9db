"""The view in Debian's chromium: relative periods that keep a bookmark current, loading
feedback on every htmx update, and no part of the stage dashboard that never loads.

Every test records each request the browser makes and fails if one leaves 127.0.0.1.
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, Route, expect

from omnikpi.auth import UserRole, parse_role
from omnikpi.i18n import LocaleFormat
from omnikpi.kpi import Grain
from omnikpi.services import default_range
from tests.conftest import SIM_END
from tests.web.browser import PHONE, OpenPage, assert_fits, shoot, sign_in

pytestmark = pytest.mark.browser

BOOKMARK = "/stages?grain=week&period=last-complete-week&store=S001"
#: What a region being replaced carries until its answer is in (app.js, app.css).
BUSY = "aria-busy"


@pytest.fixture(scope="module", autouse=True)
def warm_pages(signed_in_clients: dict[UserRole, TestClient]) -> None:
    """Compute the pages once, so the browser never waits on a cold cache."""
    lead = signed_in_clients[parse_role("team_lead")]
    for url in ["/stages", BOOKMARK]:
        assert lead.get(url).status_code == 200


def address(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_a_bookmarked_relative_period_shows_the_newest_complete_week_and_stays_relative(
    open_page: OpenPage,
) -> None:
    page = open_page(BOOKMARK)
    sign_in(page, "lead")
    # The simulation's data ends on SIM_END: the newest complete week is the one before.
    start, end = default_range(Grain.WEEK, SIM_END, 1)
    english = LocaleFormat("en", "KRW", "Asia/Seoul")
    expect(page.locator(".periodbar__period")).to_have_text(english.period(start, "week"))
    expect(page.get_by_label("Dates")).to_have_value("last-complete-week")
    days = f"{english.day(start)} – {english.day(end)}"
    expect(page.locator("#view-period-dates")).to_have_text(days)
    expect(page.get_by_label("From", exact=True)).to_be_hidden()  # dates only when custom
    shoot(page, "stages-last-complete-week-en-1280")

    store = page.get_by_label("Store")
    values = store.locator("option").evaluate_all("options => options.map(o => o.value)")
    other = next(value for value in values if value not in ("", "S001"))
    store.select_option(other)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"store={other}"))
    asked = address(page)
    assert asked["period"] == ["last-complete-week"]
    assert "start" not in asked
    assert "end" not in asked
    expect(page.locator(".periodbar__period")).to_have_text(english.period(start, "week"))
    # a drill-down keeps the period relative too
    drill = page.locator(".kpitable__row th a").first.get_attribute("href")
    assert drill is not None
    assert parse_qs(urlsplit(drill).query)["period"] == ["last-complete-week"]

    # Custom dates shows the date fields, and then the address has dates, not a period.
    page.get_by_label("Dates").select_option(label="Custom dates")
    expect(page.locator("#view-period-dates")).to_be_hidden()
    page.get_by_label("From", exact=True).fill(start.isoformat())
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"start={start.isoformat()}"))
    assert address(page).get("period", [""]) == [""]


def test_a_new_grain_offers_its_own_relative_periods(open_page: OpenPage) -> None:
    page = open_page("/stages")
    sign_in(page, "lead")
    periods = page.get_by_label("Dates")
    expect(periods).to_have_value("last-13-weeks")  # the default range, named
    periods.select_option("week-to-date")
    page.get_by_label("Grain").select_option("month")
    expect(periods).to_have_value("month-to-date")  # the same kind at the new grain
    page.get_by_label("Grain").select_option("day")
    expect(periods).to_have_value("last-complete-day")  # a day to date is the last day
    page.get_by_label("Grain").select_option("month")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"grain=month&period=last-complete-month"))
    start, _ = default_range(Grain.MONTH, SIM_END, 1)
    expect(page.locator(".periodbar__period")).to_have_text(
        LocaleFormat("en", "KRW", "Asia/Seoul").period(start, "month")
    )


def visible_loading(page: Page) -> int:
    return page.get_by_text("Loading…").filter(visible=True).count()


def test_on_a_phone_no_part_of_the_stage_dashboard_waits_for_ever(open_page: OpenPage) -> None:
    page = open_page("/stages", viewport=PHONE)
    sign_in(page, "lead")
    rows = page.locator(".kpitable__row")
    expect(rows.first).to_be_visible()
    assert page.locator(".kpitable__breakdown").count() > 10  # folded breakdowns are there
    page.mouse.wheel(0, 100_000)
    expect(page.locator("footer")).to_be_in_viewport()
    assert visible_loading(page) == 0
    # a breakdown opened on the phone loads
    row = rows.filter(has=page.locator("[data-disclosure]")).last
    row.locator("[data-disclosure]").click()
    opened = page.locator(".kpitable__breakdown:not([hidden])")
    expect(opened.locator(".breakdown")).to_be_visible()
    assert visible_loading(page) == 0
    assert_fits(page)
    shoot(page, "stages-breakdown-en-390")


def held_routes(page: Page, pattern: str) -> list[Route]:
    """Hold every htmx request to `pattern` until the test lets it go."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.headers.get("hx-request"):
            held.append(route)
        else:
            route.continue_()

    page.route(pattern, hold)
    return held


def test_a_breakdown_is_marked_loading_and_a_failure_offers_a_retry(open_page: OpenPage) -> None:
    page = open_page("/stages")
    sign_in(page, "lead")
    held = held_routes(page, "**/stages/*/channels*")
    button = page.locator("[data-disclosure]").first
    slot = page.locator(f"#{button.get_attribute('aria-controls')} .breakdown-slot")
    button.click()
    expect(slot).to_have_attribute(BUSY, "true")
    expect(slot).to_have_class(re.compile(r"\bhtmx-request\b"))
    shoot(page, "stages-breakdown-loading-en-1280")
    # the app answers with its error page (a comparison this grain does not have)
    url = held[0].request.url
    held[0].continue_(url=url + ("&" if "?" in url else "?") + "compare=weekday_last_year")
    failure = slot.get_by_role("alert")
    expect(failure).to_contain_text("This part could not be loaded: ")
    expect(failure).to_contain_text("weekday_last_year")  # the reason the app gave
    expect(slot).not_to_have_attribute(BUSY, "true")
    expect(slot.locator(".error-page, header, footer")).to_have_count(0)  # not a whole page
    shoot(page, "stages-breakdown-failed-en-1280")

    slot.get_by_role("button", name="Try again").click()
    expect(slot).to_have_attribute(BUSY, "true")
    held[1].continue_()
    expect(slot.locator(".breakdown")).to_be_visible()
    expect(slot).not_to_have_attribute(BUSY, "true")


def test_applying_the_view_marks_the_page_loading_until_it_is_replaced(
    open_page: OpenPage,
) -> None:
    page = open_page("/stages")
    sign_in(page, "lead")
    held = held_routes(page, re.compile(r"/stages\?"))
    page.get_by_label("Dates").select_option("last-complete-week")
    page.get_by_role("button", name="Apply").click()
    main = page.locator("#main")
    expect(main).to_have_attribute(BUSY, "true")
    expect(page.locator("form.viewform")).to_have_class(re.compile(r"\bhtmx-request\b"))
    # the old numbers stay, visibly stale; the form the user is working in does not
    expect(page.locator(".stage").first).to_have_css("opacity", "0.4")
    expect(page.locator(".viewpanel")).to_have_css("opacity", "1")
    shoot(page, "stages-applying-en-1280")
    held[0].continue_()
    expect(page).to_have_url(re.compile(r"period=last-complete-week"))
    expect(page.locator("#main")).not_to_have_attribute(BUSY, "true")
    expect(page.locator("form.viewform")).not_to_have_class(re.compile(r"\bhtmx-request\b"))
    expect(page.locator(".stage").first).to_have_css("opacity", "1")
