"""The translation catalog: both languages hold the same messages, and every label exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omnikpi.auth import Action, MemberRole, Role
from omnikpi.errors import ConfigError
from omnikpi.i18n import LOCALES, has_message, messages, negotiate_locale, placeholders, t
from omnikpi.kpi.periods import COMPARISONS
from omnikpi.model import TABLES
from omnikpi.model.enums import SalesChannel
from omnikpi.services.data_status import LOAD_COLUMNS, QUARANTINE_COLUMNS
from omnikpi.web.errors import PROBLEM_STATUS
from omnikpi.web.navigation import NAV_ITEMS
from omnikpi.web.view_params import GRAINS, MEMBER_FILTERS

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "omnikpi" / "web" / "templates"


def test_both_languages_have_the_same_keys() -> None:
    korean, english = set(messages("ko")), set(messages("en"))
    assert korean - english == set(), "in ko.yaml only"
    assert english - korean == set(), "in en.yaml only"


def test_both_languages_use_the_same_placeholders() -> None:
    for key, english in messages("en").items():
        assert placeholders(messages("ko")[key]) == placeholders(english), key


def test_no_message_is_empty_and_korean_is_korean() -> None:
    hangul = re.compile(r"[\uac00-\ud7a3]")
    for key, text in messages("ko").items():
        assert text.strip(), key
    translated = [k for k, v in messages("ko").items() if hangul.search(v)]
    assert len(translated) > 0.8 * len(messages("ko"))


def test_every_key_a_template_names_exists() -> None:
    literal = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
    used = {key for path in TEMPLATES.rglob("*.html") for key in literal.findall(path.read_text())}
    assert len(used) > 40
    # `t("grains." ~ grain)` names a group; the labels of each group are checked below.
    groups = {key for key in used if key.endswith(".")}
    missing = sorted(key for key in used - groups if not has_message(key))
    assert missing == []
    empty = sorted(g for g in groups if not any(k.startswith(g) for k in messages("en")))
    assert empty == []


def prefixed(prefix: str, names: object) -> list[str]:
    return [f"{prefix}.{name}" for name in names]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "keys",
    [
        prefixed("roles", [r.value for r in Role]),
        prefixed("member_roles", [m.value for m in MemberRole]),
        prefixed("role_descriptions", [r.value for r in Role]),
        prefixed("actions", [a.value for a in Action]),
        prefixed("grains", GRAINS),
        prefixed("comparisons", ["none", *COMPARISONS]),
        prefixed("member_filters", MEMBER_FILTERS),
        prefixed("channels", [c.value for c in SalesChannel]),
        prefixed("kinds", ["core", "secondary", "system"]),
        prefixed("tables", [table.name for table in TABLES]),
        prefixed("nav", [item.key for item in NAV_ITEMS]),
        prefixed("pages", [f"{item.key}.summary" for item in NAV_ITEMS if item.key != "home"]),
        prefixed("errors", [f"{code}.title" for code in PROBLEM_STATUS]),
        prefixed("errors", [f"{code}.message" for code in PROBLEM_STATUS]),
        prefixed("status.loads.columns", LOAD_COLUMNS),
        prefixed("status.quarantine.columns", QUARANTINE_COLUMNS),
    ],
)
def test_every_named_thing_has_a_label(keys: list[str]) -> None:
    assert [key for key in keys if not has_message(key)] == []


def test_placeholders_are_filled_and_missing_ones_are_errors() -> None:
    assert t("home.greeting", "en", name="Mina") == "Hello, Mina"
    assert t("home.greeting", "ko", name="민아") == "민아님, 안녕하세요"
    with pytest.raises(ConfigError, match="needs the parameter 'name'"):
        t("home.greeting", "en")
    with pytest.raises(
        ConfigError, match=r'message "no\.such\.key" is missing from the ko catalog'
    ):
        t("no.such.key", "ko")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        ("fr-FR,fr;q=0.9,en;q=0.5,ko;q=0.7", "ko"),
        ("de", "ko"),
        (None, "ko"),
        ("en;q=abc,ko", "ko"),
    ],
)
def test_browser_language_is_negotiated(header: str | None, expected: str) -> None:
    assert negotiate_locale(header) == expected
    assert expected in LOCALES
