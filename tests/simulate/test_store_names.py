"""The simulated retailer names every location in Korean too (stores.name_ko)."""

from __future__ import annotations

import re

from omnikpi.i18n import LOCALES
from omnikpi.model import table as model_table
from omnikpi.simulate import reference as ref

HANGUL = re.compile(r"^[\uac00-\ud7a3 ]+$")


def test_every_location_has_a_korean_name_of_its_own() -> None:
    locations = [row[0] for row in ref.STORES] + [ref.DISTRIBUTION_CENTRE[0]]
    assert sorted(ref.STORE_NAMES_KO) == sorted(locations)
    korean = list(ref.STORE_NAMES_KO.values())
    assert all(HANGUL.match(name) for name in korean), korean
    assert len(set(korean)) == len(korean)


def test_the_stores_table_has_a_name_column_per_page_language() -> None:
    stores = model_table("stores")
    for locale in LOCALES:
        assert stores.column(f"name_{locale}").nullable
