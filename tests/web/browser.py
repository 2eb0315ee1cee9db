"""Driving Debian's chromium with Playwright, and keeping the screenshots for people."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: The widths the layout must work at: a laptop and a phone.
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

#: Opens a page in a fresh browser context: (path, *, viewport, lang) -> Page.
OpenPage = Callable[..., Page]


def assert_all_local(urls: list[str]) -> None:
    """No request went anywhere but the app on 127.0.0.1."""
    assert urls, "the browser made no requests at all"
    remote = [url for url in urls if urlsplit(url).scheme not in ("data", "blob")]
    outside = [url for url in remote if urlsplit(url).hostname != "127.0.0.1"]
    assert not outside, f"requests left 127.0.0.1: {outside}"


def shoot(page: Page, name: str) -> None:
    """Save the first screen and the full page for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.screenshot(path=str(SCREENSHOTS / f"{name}-full.png"), full_page=True)


def sign_in(page: Page, username: str, *, language: str | None = "English") -> None:
    """Fill in and send the login form with the keyboard, then choose `language`.

    Users keep their language between tests (it is remembered), so tests that read
    English text choose it; `language=None` keeps what the user had.
    """
    page.get_by_label("Username").or_(page.get_by_label("사용자 이름")).fill(username)
    page.get_by_label("Password", exact=True).or_(page.get_by_label("비밀번호")).fill("demo")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    if language is not None:
        switch_language(page, language)


def switch_language(page: Page, name: str) -> None:
    """Press the language button called `name` and wait for the page in that language."""
    page.get_by_role("button", name=name).click()
    expect(page.get_by_role("button", name=name)).to_have_attribute("aria-pressed", "true")


def assert_fits(page: Page) -> None:
    """Nothing makes the page scroll sideways (tables scroll inside their own region)."""
    overflow, culprits = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = (e) => e.getBoundingClientRect().right > width + 1;
          const culprits = [...document.querySelectorAll("body *")]
            .filter((e) => wide(e) && e.parentElement && !wide(e.parentElement))
            .slice(0, 5)
            .map((e) => `${e.tagName}.${e.className} ${e.textContent.slice(0, 40)}`);
          return [document.documentElement.scrollWidth - width, culprits];
        }"""
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the window: {culprits}"
