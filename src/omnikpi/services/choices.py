"""The values the pages' filters offer: stores (with their names), regions and channels.

A filter offers exactly the values a breakdown by its dimension can show: those the KPIs'
source rows carry, read through the same dimension mappings a breakdown groups by
(`sources.yaml`). A region that only a table of reference data names (a store's region no
KPI row is attributed to) is not offered; a region the rows carry always is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnikpi.i18n import LOCALES, Locale
from omnikpi.kpi import Catalog
from omnikpi.kpi.domains import data_values
from omnikpi.warehouse import Tables


@dataclass(frozen=True)
class StoreName:
    """A store's name as the data has it, and its names in page languages the data gives
    (the `stores.name_<locale>` columns).

    >>> StoreName("Myeongdong Flagship", {"ko": "명동 플래그십"}).in_language("ko")
    '명동 플래그십'
    """

    name: str
    translations: Mapping[Locale, str] = field(default_factory=dict)

    def in_language(self, locale: Locale) -> str:
        """The name a page in `locale` shows: the data's name in that language, else `name`."""
        return self.translations.get(locale) or self.name


@dataclass(frozen=True)
class FilterChoices:
    """The values the filters offer: stores (id, name), regions and sales channels."""

    stores: tuple[tuple[str, StoreName], ...] = ()
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def store_ids(self) -> tuple[str, ...]:
        """The ids of the stores offered."""
        return tuple(store_id for store_id, _ in self.stores)


def offered_values(catalog: Catalog, tables: Tables, dimension: str) -> list[str]:
    """The values of `dimension` a breakdown can show (sorted): those the rows of every
    source mapping the dimension carry. Rows without a value ("Not set") offer none."""
    return data_values(catalog, tables, dimension, covering_sources(catalog, dimension))


def covering_sources(catalog: Catalog, dimension: str) -> list[str]:
    """The sources mapping `dimension` whose rows carry every value of it that any source's
    rows can: a source that takes the dimension's column as it is from another source (its
    base source, or a source it joins) holds only values of that one, so is left out.

    >>> covering_sources(load_catalog(), "channel")  # doctest: +SKIP
    ['orders', 'sessions', 'events']
    """
    return [
        source
        for source in catalog.sources
        if dimension in catalog.source_dimensions(source)
        and _covered_by(catalog, source, dimension) is None
    ]


def _covered_by(catalog: Catalog, source: str, dimension: str) -> str | None:
    """The source `source` takes its `dimension` column from unchanged, if any."""
    spec = catalog.source(source)
    column = catalog.source_dimensions(source)[dimension]
    joined = any(column in join.columns for join in spec.joins)
    if column in spec.derive or any(column in a.columns for a in spec.aggregates):
        return None  # computed here, from whatever this source's rows hold
    based = spec.source and catalog.source_dimensions(spec.source).get(dimension) == column
    if based and not joined:
        return spec.source
    for join in spec.joins:
        taken = join.columns.get(column)
        if join.source and taken and catalog.source_dimensions(join.source).get(dimension) == taken:
            return join.source
    return None


def load_store_names(tables: Tables, store_ids: list[str]) -> dict[str, StoreName]:
    """The names of `store_ids` from the stores table, with those in each page language
    the table has a column for; an id the table lacks is named by itself."""
    names = {store_id: StoreName(store_id) for store_id in store_ids}
    if not tables.has_table("stores"):
        return names
    table = tables.table("stores")
    # A warehouse made before the model had a name per language has no such columns.
    languages = [locale for locale in LOCALES if f"name_{locale}" in table.columns]
    columns = ["store_id", "name", *(f"name_{locale}" for locale in languages)]
    frame = tables.execute(table.filter(table.store_id.isin(store_ids)).select(*columns))
    for record in frame.to_dict("records"):
        translations: dict[Locale, str] = {}
        for locale in languages:
            translated = record[f"name_{locale}"]
            if isinstance(translated, str) and translated:
                translations[locale] = translated
        names[str(record["store_id"])] = StoreName(str(record["name"]), translations)
    return names


def load_filter_choices(catalog: Catalog, tables: Tables) -> FilterChoices:
    """Stores (by name), regions and channels the filters offer: the values of each a
    breakdown can show (see `offered_values`)."""
    store_ids = offered_values(catalog, tables, "store")
    names = load_store_names(tables, store_ids)
    stores = sorted(names.items(), key=lambda item: (item[1].name, item[0]))
    return FilterChoices(
        stores=tuple(stores),
        regions=tuple(offered_values(catalog, tables, "region")),
        channels=tuple(offered_values(catalog, tables, "channel")),
    )
