"""The data settings a source carries, and the first load that stores them in the warehouse.

A mapping states its source's time zone and currency (`dates.time_zone`, `currency`). An
export that does not state them carries them in its rows, and its preset says where
(`data_settings:` views): Shopify's `Currency` column and the UTC offsets of its times,
GA4's event dates beside their UTC instants and the `currency` parameter of purchases.

The first load into an empty warehouse — no stored data settings and no row in any
canonical table — stores the source's settings, in the load's own transaction. Later
loads never change them; their report says where the source's settings differ.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from omnikpi.errors import ConfigError
from omnikpi.ingest.mapping import Mapping, PresetMapping
from omnikpi.ingest.sql import ident
from omnikpi.ingest.zones import ZoneEvidence, choose_zone, utc
from omnikpi.model import TABLES
from omnikpi.settings import DataSettings, validate_currency
from omnikpi.warehouse import Warehouse

#: How the report and the CLI name each data setting (as `omnikpi warehouse set` does).
SETTING_NAMES = {"time_zone": "time-zone", "currency": "currency"}


@dataclass(frozen=True)
class SourceSettings:
    """The data settings of one source (by setting name), and what is worth saying about
    how they were found (say, several zones fitting its times)."""

    values: dict[str, str]
    notes: tuple[str, ...] = ()


def read_source_settings(warehouse: Warehouse, mapping: Mapping) -> SourceSettings:
    """The settings `mapping` states, else those its preset's views read from the rows
    (the views must exist on the warehouse's connection)."""
    values: dict[str, str] = {}
    notes: list[str] = []
    if mapping.dates.time_zone:
        values["time_zone"] = mapping.dates.time_zone
    if mapping.currency:
        values["currency"] = mapping.currency
    views = mapping.data_settings if isinstance(mapping, PresetMapping) else None
    if views is None:
        return SourceSettings(values)
    if views.currency and "currency" not in values:
        found = _currencies(warehouse, views.currency)
        if found:
            values["currency"] = found[0]
            if len(found) > 1:
                notes.append(
                    f"the export has several currencies ({', '.join(found)}); "
                    f"{found[0]}, the most frequent, is taken as the shop's"
                )
    if views.time_zone and "time_zone" not in values:
        countries = _most_frequent(warehouse, views.country) if views.country else []
        zone, note = _infer_zone(warehouse, views.time_zone, countries[0] if countries else None)
        if zone:
            values["time_zone"] = zone
        if note:
            notes.append(note)
    return SourceSettings(values, tuple(notes))


def settings_for_empty(warehouse: Warehouse, source: SourceSettings) -> dict[str, str]:
    """The source's settings if `warehouse` is empty (none stored, no canonical rows),
    else nothing: only the first load of a warehouse gives it settings."""
    if not source.values or warehouse.stored_settings():
        return {}
    present = warehouse.table_set()
    names = [t.name for t in TABLES if t.kind != "system" and t.name in present]
    if names:
        any_rows = " OR ".join(f"EXISTS (SELECT 1 FROM main.{ident(n)})" for n in names)
        if warehouse.fetch_value(f"SELECT {any_rows}"):
            return {}
    return dict(source.values)


def differences(
    source: SourceSettings, new: MappingType[str, str], in_effect: DataSettings
) -> tuple[str, ...]:
    """What the report says where the source's settings differ from the warehouse's."""
    kept = in_effect.as_dict()
    return tuple(
        f"the warehouse keeps its {SETTING_NAMES[name]} {kept[name]}; this source's is "
        f"{value} (loads never change stored settings: `omnikpi warehouse set "
        f"{SETTING_NAMES[name]} {value}` does)"
        for name, value in source.values.items()
        if name not in new and kept.get(name) != value
    )


def _most_frequent(warehouse: Warehouse, view: str) -> list[str]:
    """The values of a `value, rows` view, most frequent first."""
    rows = warehouse.fetch_rows(
        f"SELECT trim(CAST(value AS VARCHAR)) AS v, sum(rows) AS n "
        f"FROM {ident('_view_' + view)} WHERE nullif(trim(CAST(value AS VARCHAR)), '') "
        "IS NOT NULL GROUP BY v ORDER BY n DESC, v"
    )
    return [str(value) for value, _ in rows]


def _currencies(warehouse: Warehouse, view: str) -> list[str]:
    """The ISO 4217 codes of a `value, rows` view, most frequent first."""
    codes = []
    for value in _most_frequent(warehouse, view):
        try:
            codes.append(validate_currency(value.upper()))
        except ConfigError:
            continue  # not a currency code: not evidence of the shop's currency
    return codes


def _infer_zone(
    warehouse: Warehouse, view: str, country: str | None
) -> tuple[str | None, str | None]:
    """The zone that reproduces the view's evidence, and a note when it is a guess."""
    rows = warehouse.fetch_arrow(f"FROM {ident('_view_' + view)}").to_pylist()
    if not rows:
        return None, "the export has no times to tell its time zone from"
    choice = choose_zone([_evidence(row) for row in rows], country)
    if choice.zone is None:
        return None, (
            "no time zone gives every time of the export its offset (were files of "
            "several shops loaded together?); set it with `omnikpi warehouse set time-zone`"
        )
    if choice.is_guess:
        return choice.zone, (
            f"{len(choice.fitting)} time zones fit the export's times; {choice.zone} was "
            "chosen (set another with `omnikpi warehouse set time-zone`)"
        )
    return choice.zone, None


def _evidence(row: dict[str, Any]) -> ZoneEvidence:
    minutes = row.get("utc_offset_minutes")
    return ZoneEvidence(
        first=utc(row["first_utc"]),
        last=utc(row["last_utc"]),
        utc_offset=None if minutes is None else timedelta(minutes=int(minutes)),
        local_date=row.get("local_date"),
    )
