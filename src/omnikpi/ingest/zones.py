"""The IANA time zone an export's times were written in, from the evidence its rows carry.

Shopify writes every time with its UTC offset (`2023-01-05 10:23:45 -0500`); a GA4
BigQuery export gives each event's UTC instant (`event_timestamp`) beside its date in
the property's zone (`event_date`). A zone *fits* when it gives every observed instant
that offset, or that local date — daylight saving time included, so a shop whose times
move from -0500 to -0400 on the second Sunday of March fits America/New_York and not
America/Bogota (no DST) or America/Chicago (one hour off).

Several zones usually fit (New York, Toronto and Nassau keep the same clocks), and they
give the same local dates for every time the export holds. The first fitting zone by
this rule is chosen:

1. zones of the export's main country (the country most of its addresses or visitors are
   in), most populous first — the order of tzdata's `zone.tab`;
2. the principal zones of the largest markets, most populous first (`PRINCIPAL_ZONES`);
3. UTC;
4. every other zone, in `zone.tab` order.

>>> march = [ZoneEvidence(datetime(2024, 3, 9, 15, tzinfo=UTC), datetime(2024, 3, 9, 15,
...     tzinfo=UTC), utc_offset=timedelta(hours=-5)), ZoneEvidence(datetime(2024, 3, 11, 15,
...     tzinfo=UTC), datetime(2024, 3, 11, 15, tzinfo=UTC), utc_offset=timedelta(hours=-4))]
>>> choose_zone(march, "US").zone
'America/New_York'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

#: The zone of the largest city of each large market, most populous first: the choice
#: among zones that fit equally when the export names no country (rule 2 above).
PRINCIPAL_ZONES = (
    "Asia/Shanghai",
    "Asia/Kolkata",
    "America/New_York",
    "Asia/Jakarta",
    "America/Sao_Paulo",
    "Asia/Karachi",
    "Africa/Lagos",
    "Asia/Dhaka",
    "Europe/Moscow",
    "America/Mexico_City",
    "Asia/Tokyo",
    "Asia/Manila",
    "Africa/Cairo",
    "Asia/Ho_Chi_Minh",
    "Europe/Istanbul",
    "Asia/Tehran",
    "Europe/Berlin",
    "America/Chicago",
    "Asia/Bangkok",
    "Europe/London",
    "Europe/Paris",
    "Africa/Johannesburg",
    "Europe/Rome",
    "Africa/Nairobi",
    "Asia/Seoul",
    "America/Bogota",
    "Europe/Madrid",
    "America/Argentina/Buenos_Aires",
    "America/Los_Angeles",
    "Asia/Riyadh",
    "Europe/Warsaw",
    "Europe/Kyiv",
    "America/Lima",
    "Asia/Kuala_Lumpur",
    "America/Denver",
    "America/Toronto",
    "Australia/Sydney",
    "America/Santiago",
    "Europe/Amsterdam",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Dubai",
    "Asia/Hong_Kong",
    "Pacific/Auckland",
    "America/Phoenix",
    "America/Vancouver",
    "Australia/Brisbane",
    "Australia/Perth",
    "Pacific/Honolulu",
    "America/Anchorage",
)
#: Country names GA4 writes where tzdata's iso3166.tab names the country otherwise.
COUNTRY_NAMES = {
    "United Kingdom": "GB",
    "South Korea": "KR",
    "North Korea": "KP",
    "Czechia": "CZ",
    "Türkiye": "TR",
    "Congo - Kinshasa": "CD",
    "Congo - Brazzaville": "CG",
    "Côte d'Ivoire": "CI",
    "Macao": "MO",
    "Hong Kong SAR China": "HK",
    "Macao SAR China": "MO",
    "Myanmar (Burma)": "MM",
}


@dataclass(frozen=True)
class ZoneEvidence:
    """Times of an export a zone must reproduce: every instant from `first` to `last`
    (UTC, within one day) was written with `utc_offset`, or falls on `local_date`."""

    first: datetime
    last: datetime
    utc_offset: timedelta | None = None
    local_date: date | None = None

    def fits(self, zone: ZoneInfo) -> bool:
        """Whether `zone` gives both ends the observed offset or local date (a zone
        changes its offset at most once a day, so the ends stand for the instants between)."""
        for instant in (self.first, self.last):
            local = instant.astimezone(zone)
            if self.utc_offset is not None and local.utcoffset() != self.utc_offset:
                return False
            if self.local_date is not None and local.date() != self.local_date:
                return False
        return True


@dataclass(frozen=True)
class ZoneChoice:
    """The chosen zone (None: no zone fits, or no evidence), every zone that fits in the
    order of preference, and whether the export's country decided among them."""

    zone: str | None
    fitting: tuple[str, ...]
    by_country: bool = False

    @property
    def is_guess(self) -> bool:
        """Whether other zones fit as well and no country chose among them."""
        return len(self.fitting) > 1 and not self.by_country


def choose_zone(evidence: Sequence[ZoneEvidence], country: str | None = None) -> ZoneChoice:
    """The zone that reproduces every piece of `evidence`, preferring `country`'s zones
    (an ISO 3166 code or English name)."""
    if not evidence:
        return ZoneChoice(None, ())
    code = country_code(country) if country else None
    fitting = [name for name in _candidates(code) if all(e.fits(_zone(name)) for e in evidence)]
    if not fitting:
        return ZoneChoice(None, ())
    return ZoneChoice(fitting[0], tuple(fitting), by_country=fitting[0] in country_zones(code))


def country_zones(code: str | None) -> tuple[str, ...]:
    """The zones of a country (ISO 3166 alpha-2), most populous first (zone.tab order)."""
    return tuple(zone for country, zone in _zone_table() if country == code)


def country_code(name: str) -> str | None:
    """The ISO 3166 alpha-2 code of a country given by code or English name (tzdata's
    iso3166.tab; GA4 writes names such as "United States"), else None."""
    text = name.strip()
    if text.upper() in _countries():
        return text.upper()
    by_name = {country.lower(): code for code, country in _countries().items()}
    by_name |= {country.lower(): code for country, code in COUNTRY_NAMES.items()}
    return by_name.get(text.lower())


def _candidates(country: str | None) -> list[str]:
    listed = _zone_table()
    ranked = list(country_zones(country))
    ranked += [zone for zone in PRINCIPAL_ZONES if zone not in ranked]
    ranked += ["UTC"]
    ranked += [zone for _, zone in listed if zone not in ranked]
    return ranked


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def _zone_table() -> tuple[tuple[str, str], ...]:
    """(country code, zone) of tzdata's zone.tab, in its order: by country, then most
    populous first within a country. A zone serving several countries is listed once."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            rows.append((fields[0], fields[2]))
    return tuple(rows)


@cache
def _countries() -> dict[str, str]:
    text = resources.files("tzdata.zoneinfo").joinpath("iso3166.tab").read_text("utf-8")
    pairs = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {fields[0]: fields[1] for fields in pairs}


def utc(value: datetime) -> datetime:
    """A naive UTC datetime (as DuckDB returns TIMESTAMP) made aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
