"""The real app in Debian's chromium: sign-in per role, menus, language, layout, offline.

Every test records each request the browser makes and fails if one leaves 127.0.0.1.
Screenshots of each page in both languages land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from omnikpi.auth import AppStateStore, app_state_path, create_user, parse_role
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from tests.conftest import run_cli
from tests.web.browser import (
    DESKTOP,
    PHONE,
    OpenPage,
    assert_all_local,
    assert_fits,
    shoot,
    sign_in,
    switch_language,
)
from tests.web.conftest import fixed_now, serving

pytestmark = pytest.mark.browser

#: The status page over the simulated year, so the chart has data.
STATUS_2025 = "/status?grain=month&start=2025-01-01&end=2025-12-31"


@pytest.mark.parametrize(("viewport", "size"), [(DESKTOP, "1280"), (PHONE, "390")])
def test_login_page_in_both_languages(
    open_page: OpenPage, viewport: dict[str, int], size: str
) -> None:
    page = open_page("/", viewport=viewport)
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_fits(page)
    shoot(page, f"login-en-{size}")
    switch_language(page, "한국어")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="로그인")).to_be_visible()
    assert_fits(page)
    shoot(page, f"login-ko-{size}")


def test_wrong_password_is_refused_with_a_message(open_page: OpenPage) -> None:
    page = open_page()
    sign_in_attempt = page.get_by_label("Username")
    sign_in_attempt.fill("lead")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("username or password is wrong")
    expect(page).to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize(
    ("username", "sees_api_docs"),
    [
        ("executive", False),
        ("lead", False),
        ("member_cs_agent", False),
        ("member_logistics", False),
        ("analyst", True),
        ("admin", True),
        ("bu_user", False),
    ],
)
def test_each_role_signs_in_and_sees_only_its_menu(
    open_page: OpenPage, username: str, sees_api_docs: bool
) -> None:
    page = open_page("/status")
    sign_in(page, username)
    expect(page).to_have_url(re.compile(r"/status$"))
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Data status")).to_have_attribute("aria-current", "page")
    expect(menu.get_by_role("link", name="API")).to_have_count(1 if sees_api_docs else 0)
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {username}")
    shoot(page, f"home-{username}-en")


def test_language_is_remembered_for_the_user(open_page: OpenPage) -> None:
    page = open_page()
    sign_in(page, "member_merchandiser")
    expect(page).to_have_url(re.compile(r"/my-kpis$"))  # a member lands on their own KPIs
    page.goto("/home")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, member_merchandiser")
    switch_language(page, "한국어")
    expect(page.get_by_role("heading", level=1)).to_have_text("member_merchandiser님, 안녕하세요")
    expect(page.get_by_text("내 역할: 팀원 · MD")).to_be_visible()
    shoot(page, "home-member_merchandiser-ko")
    page.set_viewport_size(PHONE)
    assert_fits(page)
    expect(page.get_by_role("button", name="로그아웃")).to_be_visible()
    shoot(page, "home-member_merchandiser-ko-390")
    page.get_by_role("button", name="로그아웃").click()
    expect(page.get_by_role("heading", name="로그인")).to_be_visible()

    # Another browser (English by default) signs in as the same user: Korean again.
    other = open_page(lang="en-US")
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(other, "member_merchandiser", language=None)
    expect(other.locator("html")).to_have_attribute("lang", "ko")
    switch_language(other, "English")
    expect(other.get_by_role("heading", level=1)).to_have_text("My KPIs")


@pytest.mark.parametrize(("viewport", "size"), [(DESKTOP, "1280"), (PHONE, "390")])
def test_status_page_in_both_languages(
    open_page: OpenPage, viewport: dict[str, int], size: str
) -> None:
    page = open_page(STATUS_2025, viewport=viewport)
    sign_in(page, "analyst")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data status")
    expect(page.locator(".chart svg")).to_have_count(1)
    tables = page.get_by_role("region", name="Tables (scroll sideways to see every column)")
    expect(tables.locator("tbody tr")).to_have_count(32)
    expect(tables.get_by_role("rowheader", name="Orders orders")).to_be_visible()
    assert_fits(page)
    shoot(page, f"status-en-{size}")
    switch_language(page, "한국어")
    expect(page.get_by_role("heading", level=1)).to_have_text("데이터 현황")
    expect(page.locator(".chart svg")).to_have_count(1)
    assert_fits(page)
    shoot(page, f"status-ko-{size}")


def test_period_picker_keeps_the_view_in_the_url(open_page: OpenPage) -> None:
    page = open_page(STATUS_2025)
    sign_in(page, "lead")
    expect(page.locator(".chart svg")).to_have_count(1)
    page.get_by_label("Grain").select_option("week")
    page.get_by_label("From", exact=True).fill("2025-10-06")
    page.get_by_label("To", exact=True).fill("2025-12-28")
    page.get_by_label("Table", exact=True).select_option("sessions")
    page.evaluate("window.samePage = true")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"grain=week.*table=sessions"))
    assert page.evaluate("window.samePage === true"), "htmx should swap the page in place"
    expect(page.locator("#view-apply")).to_be_focused()  # keyboard users stay where they were
    expect(page.get_by_label("Grain")).to_have_value("week")
    page.get_by_text("Show as a table").click()
    periods = page.locator(".chart-table tbody tr")
    expect(periods).to_have_count(12)
    expect(periods.first).to_contain_text("Week of Oct 6, 2025")
    expect(page.locator(".chart svg")).to_have_count(1)
    # The bookmarked URL opens the same view in a new browser.
    bookmarked = page.url
    other = open_page(bookmarked.replace(page.url.split("/status")[0], ""))
    sign_in(other, "lead")
    expect(other.get_by_label("Grain")).to_have_value("week")
    expect(other.get_by_label("Table", exact=True)).to_have_value("sessions")


def test_keyboard_reaches_the_content_first(open_page: OpenPage) -> None:
    page = open_page("/home")
    sign_in(page, "executive")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#main') !== null")
    expect(page.locator("#main .tile__link").first).to_be_focused()  # the first page tile
    expect(page.locator("#main .tile__link").first).to_contain_text("Scorecard")


@pytest.mark.parametrize("lang", ["en-US", "ko-KR"])
def test_denied_and_missing_pages_explain_themselves(open_page: OpenPage, lang: str) -> None:
    suffix = lang[:2]
    page = open_page("/api/docs", lang=lang)
    sign_in(page, "member_cs_agent", language="English" if suffix == "en" else "한국어")
    expect(page.locator(".error-page__status")).to_have_text("403")
    message = (
        "As Team member, you may not read the API documentation"
        if suffix == "en"
        else "팀원 역할로는 API 문서 보기 권한이 없습니다"
    )
    expect(page.locator(".error-page__message")).to_contain_text(message)
    shoot(page, f"forbidden-{suffix}")
    page.goto("/no-such-page")
    expect(page.locator(".error-page__status")).to_have_text("404")
    shoot(page, f"not-found-{suffix}")


def test_api_docs_work_offline(open_page: OpenPage, requested: list[str]) -> None:
    page = open_page("/api/docs")
    sign_in(page, "analyst")
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/v1/status", exact=True)).to_be_visible()
    shoot(page, "api-docs-en")
    assert any(url.endswith("/api/v1/openapi.json") for url in requested)


#: CDNOW's format (customer, id, yyyymmdd, CDs, dollars), CRLF as in the original files.
CDNOW_GOOD = "".join(
    f" {customer:05d} 0001 199701{day:02d}  {cds}   {cds * 12.49:.2f}\r\n"
    for customer, day, cds in [(1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 3, 3), (5, 8, 1)]
)
CDNOW_WITH_PROBLEMS = (
    " 00006 0001 19970110  1   11.77\r\n"
    " 00007 0001 19971301  1   12.00\r\n"  # month 13
    " 00008 0001 19970112  1   -5.00\r\n"  # negative amount
)


@pytest.fixture
def loaded_server(tmp_path: Path) -> Iterator[str]:
    """The app on a warehouse filled by two `omnikpi ingest` runs, one with bad rows."""
    warehouse = tmp_path / "shop.duckdb"
    for name, text in [("a_sample.txt", CDNOW_GOOD), ("b_sample.txt", CDNOW_WITH_PROBLEMS)]:
        (tmp_path / name).write_bytes(text.encode("ascii"))
        code = run_cli(
            "ingest", "--preset", "cdnow", str(tmp_path / name), "--warehouse", str(warehouse),
            "--max-error-rate", "90%",
        )  # fmt: skip
        assert code == 0
    store = AppStateStore.open(app_state_path(warehouse))
    create_user(store, "ops", "long enough", parse_role("admin"))
    app = create_app(load_settings(warehouse=warehouse), store=store, now=fixed_now)
    with serving(app) as url:
        yield url


@pytest.mark.parametrize(("viewport", "size"), [(DESKTOP, "1280"), (PHONE, "390")])
def test_status_page_lists_loads_and_quarantine(
    browser: Browser,
    loaded_server: str,
    requested: list[str],
    viewport: dict[str, int],
    size: str,
) -> None:
    context = browser.new_context(viewport=viewport, locale="en-US", base_url=loaded_server)
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.goto("/status?grain=month&start=1997-01-01&end=1997-01-31")
    page.get_by_label("Username").fill("ops")
    page.get_by_label("Password", exact=True).fill("long enough")
    page.keyboard.press("Enter")
    loads = page.get_by_role("region", name="Latest loads (scroll sideways to see every column)")
    expect(loads.locator("tbody tr")).to_have_count(2)
    with_problems = loads.locator("tbody tr", has_text="b_sample.txt")
    expect(with_problems.locator("td").nth(7)).to_have_text("2")  # rows quarantined
    expect(loads.locator(".kind--loaded")).to_have_text(["Loaded", "Loaded"])
    expect(page.get_by_text("problems found by validation are held in quarantine")).to_be_visible()
    quarantine = page.get_by_role("region", name="Quarantined rows (scroll sideways")
    expect(quarantine).to_contain_text("is not a date in format %Y%m%d")
    expect(page.locator(".chart svg")).to_have_count(1)
    assert_fits(page)
    shoot(page, f"status-loaded-en-{size}")
    switch_language(page, "한국어")
    expect(page.get_by_role("heading", name="최근 적재")).to_be_visible()
    expect(page.locator(".kind--loaded")).to_have_text(["적재됨", "적재됨"])
    assert_fits(page)
    shoot(page, f"status-loaded-ko-{size}")
    context.close()
    assert_all_local(requested)
