"""Messages about a number of things take the plural form the number needs ("1 filter",
"2 filters"), chosen by CLDR's rules for the page's language."""

from __future__ import annotations

import re

import pytest

from omnikpi.errors import ConfigError
from omnikpi.i18n import has_message, messages, t
from omnikpi.i18n.catalog import PLURAL_OTHER


@pytest.mark.parametrize(
    ("count", "english", "korean"),
    [
        (0, "0 filters", "필터 0개"),
        (1, "1 filter", "필터 1개"),
        (2, "2 filters", "필터 2개"),
        (1204, "1,204 filters", "필터 1,204개"),
    ],
)
def test_the_number_chooses_the_form_and_is_formatted(
    count: int, english: str, korean: str
) -> None:
    assert t("view.filters_on", "en", count=count) == english
    assert t("view.filters_on", "ko", count=count) == korean


def test_every_english_form_agrees_with_its_number() -> None:
    assert t("stageboard.stage_count", "en", count=1) == "1 KPI"
    assert t("stageboard.stage_count", "en", count=7) == "7 KPIs"
    one = t("status.quarantine.total", "en", count=1)
    assert one == "1 problem found by validation is held in quarantine."
    assert t("status.loads.showing", "en", shown="1", count=1) == "Latest 1 of 1 load."


def test_a_plural_message_needs_the_number_itself() -> None:
    assert has_message("view.filters_on")
    with pytest.raises(ConfigError, match=r'"view\.filters_on" has plural forms .* not \'3\''):
        t("view.filters_on", "en", count="3")
    with pytest.raises(ConfigError, match="needs the number"):
        t("view.filters_on", "en")


def test_no_english_message_counts_things_without_plural_forms() -> None:
    """A plain message "{count} KPIs" reads "1 KPIs" for one: it must have forms instead."""
    counting = re.compile(r"\{count\} [A-Za-z]+s\b")
    plain = [
        key
        for key, text in messages("en").items()
        if counting.search(text) and not key.endswith(f".{PLURAL_OTHER}")
    ]
    assert plain == [], "give these messages forms {one: ..., other: ...} (see catalog.py)"
