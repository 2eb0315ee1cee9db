"""The KPI catalog explorer: the KPIs a role may open, searched by id and by English or
Korean name, filtered by shopping stage, function, RACE step and tier."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from omnikpi.auth import UserRole, may_see_tier
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Catalog, KpiSpec
from omnikpi.kpi.spec import STAGES
from omnikpi.services.access import visible_kpis

#: RACE planning steps (Smart Insights' Reach, Act, Convert, Engage); "-" = none.
RACE_STEPS: tuple[str, ...] = ("reach", "act", "convert", "engage", "-")
#: The "tier" filter's value for KPIs on no dashboard.
UNTIERED = "none"


@dataclass(frozen=True)
class CatalogSearch:
    """What the explorer was asked for (None: any)."""

    text: str = ""
    stage: str | None = None
    function: str | None = None
    race: str | None = None
    tier: str | None = None


@dataclass(frozen=True)
class CatalogFacets:
    """The values each filter offers, from the KPIs the role may open."""

    stages: tuple[str, ...]
    functions: tuple[str, ...]
    races: tuple[str, ...]
    tiers: tuple[str, ...]


@dataclass(frozen=True)
class CatalogPage:
    """The KPIs found, out of how many the role may open."""

    search: CatalogSearch
    facets: CatalogFacets
    kpis: tuple[KpiSpec, ...]
    total: int


def _fold(text: str) -> str:
    """Text for matching: Unicode-normalized, case-folded, `_` read as a space."""
    return unicodedata.normalize("NFKC", text).casefold().replace("_", " ").strip()


def matches(kpi: KpiSpec, text: str) -> bool:
    """Whether every word of `text` is in the KPI's id or English or Korean name."""
    haystack = _fold(f"{kpi.id} {kpi.name.en} {kpi.name.ko}")
    squashed = haystack.replace(" ", "")
    return all(word in haystack or word in squashed for word in _fold(text).split())


def facets_of(kpis: Sequence[KpiSpec], role: UserRole) -> CatalogFacets:
    """The stages, functions, RACE steps and tiers present among `kpis` (tiers: those
    `role` may open)."""
    tiers = {tier for kpi in kpis for tier in kpi.tiers if may_see_tier(role, tier)}
    return CatalogFacets(
        stages=tuple(s for s in STAGES if any(k.stage == s for k in kpis)),
        functions=tuple(sorted({k.function for k in kpis})),
        races=tuple(r for r in RACE_STEPS if any(k.race == r for k in kpis)),
        tiers=(
            *sorted(tiers, key=lambda t: (t.startswith("member:"), t != "cxo", t)),
            *((UNTIERED,) if any(not k.tiers for k in kpis) else ()),
        ),
    )


def _check(name: str, value: str | None, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise InvalidChoice(name, value, ", ".join(choices))


def search_catalog(catalog: Catalog, role: UserRole, search: CatalogSearch) -> CatalogPage:
    """The KPIs `role` may open that match `search`, in shopping-stage order."""
    visible = visible_kpis(catalog, role)
    facets = facets_of(visible, role)
    _check("stage", search.stage, STAGES)
    _check("function", search.function, facets.functions)
    _check("race", search.race, RACE_STEPS)
    _check("tier", search.tier, facets.tiers)
    found = [
        kpi
        for kpi in visible
        if (search.stage is None or kpi.stage == search.stage)
        and (search.function is None or kpi.function == search.function)
        and (search.race is None or kpi.race == search.race)
        and (
            search.tier is None
            or (search.tier in kpi.tiers)
            or (search.tier == UNTIERED and not kpi.tiers)
        )
        and (not search.text.strip() or matches(kpi, search.text))
    ]
    return CatalogPage(search, facets, tuple(found), len(visible))
