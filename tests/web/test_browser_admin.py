"""User administration in Debian's chromium: an admin adds a user, who signs in with the
temporary password and chooses their own; the admin changes their role, and then disables
them: the user's open page signs them out at its next request.

Screenshots of both admin pages, in English and Korean, land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import PHONE, OpenPage, assert_fits, shoot, sign_in, switch_language

pytestmark = pytest.mark.browser

NEW_USER = "browser_added"
CHOSEN_PASSWORD = "my own browser password"


def user_form(page: Page, name: str) -> None:
    """Open the user `name` from the admin's list."""
    page.goto("/admin/users")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_admin_adds_a_user_changes_their_role_and_disables_them(open_page: OpenPage) -> None:
    admin = open_page("/admin/users")
    sign_in(admin, "admin")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Users")
    menu = admin.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Users")).to_have_attribute("aria-current", "page")

    # Add an analyst: the next page shows their temporary password, once.
    admin.get_by_label("Username").fill(NEW_USER)
    admin.get_by_label("Role", exact=True).select_option("analyst")
    admin.get_by_role("button", name="Add user").click()
    expect(admin.get_by_role("status")).to_have_text(f"{NEW_USER} was added.")
    temporary = admin.locator("#temporary-password code").inner_text().strip()
    assert re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){3}", temporary)
    shoot(admin, "admin-user-added-en")

    # The new user signs in with it and must choose their own password first.
    user = open_page("/login")
    user.get_by_label("Username").fill(NEW_USER)
    user.get_by_label("Password", exact=True).fill(temporary)
    user.keyboard.press("Enter")
    expect(user.get_by_role("heading", level=1)).to_have_text("Choose your password")
    user.get_by_label("New password", exact=True).fill(CHOSEN_PASSWORD)
    user.get_by_label("New password again").fill(CHOSEN_PASSWORD)
    user.get_by_role("button", name="Save and sign in").click()
    expect(user).to_have_url(re.compile(r"/kpis$"))  # an analyst lands on the catalog
    user_menu = user.get_by_role("navigation", name="Main menu")
    expect(user_menu.get_by_role("link", name="Stages")).to_be_visible()
    expect(user_menu.get_by_role("link", name="API")).to_be_visible()

    # The admin makes them a business-unit user: their next page follows the new role.
    user_form(admin, NEW_USER)
    expect(admin.locator("#sessions tbody tr")).to_have_count(1)
    admin.get_by_label("Role", exact=True).select_option("bu_user")
    admin.get_by_label("Business unit", exact=True).fill("Fashion")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("status")).to_have_text("Role and business unit saved.")
    expect(admin.locator(".lede")).to_have_text("Business-unit user · Fashion")
    user.reload()
    expect(user_menu.get_by_role("link", name="API")).to_have_count(0)
    expect(user_menu.get_by_role("link", name="Scorecard")).to_be_visible()

    # The admin disables them: the page they have open signs them out at its next request.
    admin.get_by_role("button", name="Disable user").click()
    expect(admin.get_by_role("status")).to_have_text("The user is disabled and signed out.")
    expect(admin.locator("#user-status")).to_contain_text("Disabled since")
    expect(admin.locator("#sessions")).to_have_count(0)
    shoot(admin, "admin-user-disabled-en")
    user_menu.get_by_role("link", name="Scorecard").click()
    expect(user).to_have_url(re.compile(r"/login\?next="))
    expect(user.get_by_role("heading", name="Sign in")).to_be_visible()
    user.get_by_label("Username").fill(NEW_USER)
    user.get_by_label("Password", exact=True).fill(CHOSEN_PASSWORD)
    user.keyboard.press("Enter")
    expect(user.get_by_role("alert")).to_contain_text("the account is disabled")


def test_the_admin_pages_in_korean_and_on_a_phone(open_page: OpenPage) -> None:
    page = open_page("/admin/users", lang="ko-KR")
    sign_in(page, "admin", language="한국어")
    expect(page.get_by_role("heading", level=1)).to_have_text("사용자")
    expect(page.get_by_role("heading", name="사용자 추가")).to_be_visible()
    shoot(page, "admin-users-ko")
    page.get_by_label("사용자 이름").fill("no_unit_ko")
    page.get_by_label("역할", exact=True).select_option("bu_user")
    page.get_by_role("button", name="사용자 추가").click()
    expect(page.get_by_role("alert")).to_have_text(
        "사업부 사용자는 한 사업부에 속합니다. 사업부를 입력하세요."
    )
    page.get_by_role("link", name="analyst", exact=True).click()
    expect(page.get_by_role("heading", name="역할과 사업부")).to_be_visible()
    page.set_viewport_size(PHONE)
    assert_fits(page)
    shoot(page, "admin-user-ko-390")
    switch_language(page, "English")
    expect(page.get_by_role("heading", name="Role and business unit")).to_be_visible()
