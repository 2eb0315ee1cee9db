"""Each role's home lists the pages the role may open, and promises nothing else."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import UserRole, is_allowed
from omnikpi.i18n import Locale
from omnikpi.web.navigation import NAV_ITEMS
from tests.web.conftest import LOGIN_BY_ROLE
from tests.web.test_pages import in_language, text_of
from tests.web.test_routes import api_routes

#: What the analyst's home once promised and omnikpi does not have yet (issue 19).
#: Segments, cohorts and lifetime value have their pages since (/customers, issue 23),
#: experiments theirs (/experiments, issue 24).
NOT_BUILT = (
    "target list",
    "insight",
    "타깃 리스트",
    "인사이트",
)


@pytest.mark.parametrize("role", list(LOGIN_BY_ROLE), ids=str)
def test_home_lists_exactly_the_pages_the_role_may_open(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient], role: UserRole
) -> None:
    client = in_language(signed_in_clients, role, "en")
    tiles = re.findall(r'<a class="tile__link" href="([^"]+)"', client.get("/home").text)
    allowed = [
        item.path
        for item in NAV_ITEMS
        if is_allowed(role, item.action)
        and not (item.hidden_for and is_allowed(role, item.hidden_for))
    ]
    assert tiles == [path for path in allowed if path != "/home"]
    assert set(tiles) <= {path for path, _ in api_routes(web_app)}


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_no_home_promises_what_does_not_exist(
    signed_in_clients: dict[UserRole, TestClient], locale: Locale
) -> None:
    for role in LOGIN_BY_ROLE:
        home = text_of(in_language(signed_in_clients, role, locale).get("/home").text)
        promised = [word for word in NOT_BUILT if word in home.casefold()]
        assert promised == [], f"{role} home ({locale})"
