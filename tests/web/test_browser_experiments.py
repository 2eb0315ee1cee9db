"""The experiments pages in Debian's chromium on the simulated retailer: an analyst opens
them from the menu, reads the win-back holdout's verdict and conversion lift, and the
brand-lift table; in Korean on a phone the readout fits the screen.

Screenshots land in test-artifacts/screenshots/experiments-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.browser import PHONE, OpenPage, assert_fits, shoot, sign_in

pytestmark = pytest.mark.browser


def test_an_analyst_reads_a_holdout_and_brand_lift(open_page: OpenPage) -> None:
    page = open_page("/home")
    sign_in(page, "analyst")
    menu = page.get_by_role("navigation", name="Main menu")
    menu.get_by_role("link", name="Experiments").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Experiments", timeout=120_000)
    expect(menu.get_by_role("link", name="Experiments")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Win-back e-mail holdout").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Win-back e-mail holdout", timeout=120_000
    )
    verdict = page.locator("[data-verdict]").first
    expect(verdict).to_have_attribute("data-verdict", "treatment_wins")
    expect(verdict).to_contain_text(re.compile(r"treatment beats holdout with .*% probability"))
    expect(page.locator("#srm-warning")).to_have_count(0)
    expect(page.locator("#lift-treatment")).to_contain_text("Incremental conversions")
    shoot(page, "experiments-holdout-en")

    tabs = page.get_by_role("navigation", name="Experiment pages")
    tabs.get_by_role("link", name="Brand lift").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Brand lift", timeout=120_000)
    expect(page.locator('#brand-lift-table tr[data-question="awareness"]')).to_be_visible()
    shoot(page, "experiments-brand-lift-en")


def test_the_readout_fits_a_phone_in_korean(open_page: OpenPage) -> None:
    page = open_page("/login", viewport=PHONE, lang="ko-KR")
    sign_in(page, "lead", language="한국어")
    page.goto("/experiments/EXP-CHECKOUT-1", timeout=120_000)  # the first readout is computed
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "One-page checkout", timeout=120_000
    )
    expect(page.locator("#tests-table")).to_be_visible()
    expect(page.locator("[data-verdict]").first).to_contain_text("%")
    assert_fits(page)
    shoot(page, "experiments-checkout-ko-phone")
