"""Names of KPIs, dimensions and their values in the page's language.

KPI and dimension names come from the catalog (which holds both languages); stages,
functions, units, statuses and dimension values from the translation catalog; store names
(in the page's language when the stores table gives one) and the currency from the
warehouse. A value without a translation is shown as it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from omnikpi.auth import UserRole
from omnikpi.i18n import Locale, has_message, t
from omnikpi.services import Catalog, KpiSpec
from omnikpi.services.choices import StoreName


@dataclass(frozen=True)
class Labels:
    """Label lookups for one locale, as templates call them (`labels.kpi(kpi)`)."""

    locale: Locale
    catalog: Catalog
    #: Store id → the store's names, for the `store` dimension.
    stores: Mapping[str, StoreName] = field(default_factory=dict)
    #: The warehouse's currency (ISO 4217), named beside the money unit.
    currency: str | None = None

    def kpi(self, kpi: KpiSpec) -> str:
        """The KPI's name in this language."""
        return kpi.name.ko if self.locale == "ko" else kpi.name.en

    def other_name(self, kpi: KpiSpec) -> str:
        """The KPI's name in the other language (shown beside it)."""
        return kpi.name.en if self.locale == "ko" else kpi.name.ko

    def dimension(self, dimension: str) -> str:
        """A dimension's name (`channel` → "Sales channel" / "판매 채널")."""
        spec = self.catalog.dimensions.get(dimension)
        if spec is None:
            return dimension
        return spec.name.ko if self.locale == "ko" else spec.name.en

    def dimensions(self, names: Iterable[str]) -> str:
        """Several dimension names, comma-separated."""
        return ", ".join(self.dimension(name) for name in names)

    def value(self, dimension: str, value: str | None) -> str:
        """A dimension value as people say it (`app` → "App" / "앱"; None → "Not set")."""
        if value is None or value in ("", "None"):
            return t("dimension_values.none", self.locale)
        if dimension == "store":
            store = self.stores.get(value)
            return store.in_language(self.locale) if store else value
        if dimension in ("channel", "acquisition_channel") and has_message(f"channels.{value}"):
            return t(f"channels.{value}", self.locale)
        if dimension == "hour" and value.isdigit():
            return t("dimension_values.hour", self.locale, hour=int(value))
        key = f"dimension_values.{dimension}.{value}"
        return t(key, self.locale) if has_message(key) else value

    def options(self, dimension: str, values: Iterable[str]) -> list[tuple[str, str]]:
        """A filter's choices as (value, name in this language), in the order of the names.

        >>> Labels("ko", catalog).options("region", ["Seoul", "Busan"])  # doctest: +SKIP
        [('Busan', '부산'), ('Seoul', '서울')]
        """
        named = [(value, self.value(dimension, value)) for value in values]
        return sorted(named, key=lambda option: (option[1].casefold(), option[0]))

    def stage(self, stage: str) -> str:
        """A shopping stage's name."""
        return t(f"stages.{stage}", self.locale)

    def function(self, function: str) -> str:
        """A business function's name (unknown ones as written in the catalog)."""
        key = f"functions.{function}"
        return t(key, self.locale) if has_message(key) else function

    def race(self, race: str) -> str:
        """A RACE step's name ("-" is none)."""
        return t(f"race.{'none' if race == '-' else race}", self.locale)

    def tier(self, tier: str) -> str:
        """A tier's name: cxo, lead, member:<role>, or none."""
        if tier.startswith("member:"):
            role = t(f"member_roles.{tier.removeprefix('member:')}", self.locale)
            return t("tiers.member", self.locale, role=role)
        return t(f"tiers.{tier}", self.locale)

    def tiers(self, tiers: Iterable[str]) -> str:
        """A KPI's tiers, comma-separated (or "on no dashboard")."""
        names = [self.tier(tier) for tier in tiers]
        return ", ".join(names) if names else t("tiers.none", self.locale)

    def unit(self, unit: str) -> str:
        """A unit's name; money with its currency ("Money (GBP)")."""
        if unit == "currency" and self.currency:
            return t("units.currency_in", self.locale, currency=self.currency)
        return t(f"units.{unit}", self.locale)

    def role(self, role: UserRole) -> str:
        """A user's role, with the member's job."""
        name = t(f"roles.{role.role}", self.locale)
        if role.member_role is None:
            return name
        return f"{name} · {t(f'member_roles.{role.member_role}', self.locale)}"
