"""Where omnikpi finds its warehouse and catalog, and the settings that belong to the data.

Two kinds of settings:

- process settings (`Settings`): which warehouse, which catalog folders, the target
  tolerance — from options, then environment variables, then defaults;
- data settings (`DataSettings`): the reporting time zone, currency and fiscal-year start.
  They are stored in the warehouse (`omnikpi warehouse set`, the first preset load, the
  demo), because they describe the data; an environment variable or option overrides one
  for a single process (`Settings.overrides`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnikpi.errors import ConfigError

DEFAULT_WAREHOUSE = "omnikpi.duckdb"
DEFAULT_TIME_ZONE = "Asia/Seoul"
DEFAULT_CURRENCY = "KRW"
DEFAULT_FISCAL_YEAR_START = "01-01"
#: The attribution models (omnikpi.marketing.attribution implements them) and the one
#: behind the catalog's ROAS unless the warehouse sets another (docs/attribution.md).
ATTRIBUTION_MODELS = (
    "first", "last", "last_non_direct", "linear", "time_decay", "position", "markov", "shapley",
)  # fmt: skip
DEFAULT_ATTRIBUTION_MODEL = "position"
#: How many dimensions a KPI request may break down by, and how many values it may ask for
#: (periods x KPIs x dimension values), unless OMNIKPI_MAX_BY / OMNIKPI_MAX_CELLS say.
DEFAULT_MAX_BY = 3
DEFAULT_MAX_CELLS = 1_000_000
#: Small-cell suppression's threshold: the fewest distinct customers a shown value describes.
DEFAULT_MIN_CELL_CUSTOMERS = 10
#: Environment variables that override a data setting for one process.
DATA_SETTING_ENV = MappingProxyType(
    {
        "time_zone": "OMNIKPI_TIME_ZONE",
        "currency": "OMNIKPI_CURRENCY",
        "fiscal_year_start": "OMNIKPI_FISCAL_YEAR_START",
    }
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class DataSettings:
    """Settings that describe the data: local dates and hours are taken in `time_zone`,
    money is in `currency`, the fiscal year starts on `fiscal_year_start` (MM-DD), and
    revenue is credited to channels for ROAS by `attribution_model` (one of
    `ATTRIBUTION_MODELS`).

    >>> DataSettings().updated({"currency": "GBP"}).currency
    'GBP'
    """

    time_zone: str = DEFAULT_TIME_ZONE
    currency: str = DEFAULT_CURRENCY
    fiscal_year_start: str = DEFAULT_FISCAL_YEAR_START
    attribution_model: str = DEFAULT_ATTRIBUTION_MODEL

    def __post_init__(self) -> None:
        validate_time_zone(self.time_zone)
        validate_currency(self.currency)
        validate_fiscal_year_start(self.fiscal_year_start)
        validate_attribution_model(self.attribution_model)

    def updated(self, values: Mapping[str, str]) -> DataSettings:
        """These settings with `values` (by setting name) replacing some of them."""
        unknown = set(values) - set(DATA_SETTING_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown data setting {', '.join(sorted(unknown))} "
                f"(choose from: {', '.join(DATA_SETTING_KEYS)})"
            )
        return replace(self, **dict(values))

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in DATA_SETTING_KEYS}


DATA_SETTING_KEYS: tuple[str, ...] = tuple(f.name for f in fields(DataSettings))


@dataclass(frozen=True)
class Settings:
    """Resolved process settings for one run.

    >>> Settings(warehouse=Path("shop.duckdb")).overrides
    mappingproxy({})
    """

    warehouse: Path = Path(DEFAULT_WAREHOUSE)
    catalog_dirs: tuple[Path, ...] = field(default_factory=tuple)
    #: Folders of YAML files overriding the packaged lifecycle-segment rules
    #: (OMNIKPI_SEGMENTS, `--segments`; see omnikpi/customers/segments.yaml).
    segment_dirs: tuple[Path, ...] = field(default_factory=tuple)
    target_tolerance: float = 0.05
    #: A rate over fewer units than this (visits, answers, orders) gets no status.
    min_base: int = 30
    #: Small-cell suppression: a KPI value describing fewer distinct customers than this is
    #: withheld from roles without customer-level access (DESIGN §6).
    min_cell_customers: int = DEFAULT_MIN_CELL_CUSTOMERS
    #: The most dimensions one KPI request may break down by (`by`).
    max_by: int = DEFAULT_MAX_BY
    #: The most values one KPI request may ask for: periods x KPIs x dimension values.
    max_cells: int = DEFAULT_MAX_CELLS
    #: Data settings this process uses instead of the warehouse's own (from the
    #: environment or options), by setting name.
    overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not 0 <= self.target_tolerance < 1:
            raise ConfigError(
                f"target tolerance {self.target_tolerance} is outside [0, 1) "
                "(set OMNIKPI_TARGET_TOLERANCE to e.g. 0.05 for 5%)"
            )
        if self.min_base < 0:
            raise ConfigError(
                f"minimum base {self.min_base} is negative "
                "(set OMNIKPI_MIN_BASE to e.g. 30, or 0 to rate every value)"
            )
        if self.min_cell_customers < 1:
            raise ConfigError(
                f"fewest customers per shown value {self.min_cell_customers} is below 1 (set "
                f"OMNIKPI_MIN_CELL_CUSTOMERS to e.g. {DEFAULT_MIN_CELL_CUSTOMERS})"
            )
        if self.max_by < 1:
            raise ConfigError(
                f"most breakdown dimensions {self.max_by} is below 1 "
                f"(set OMNIKPI_MAX_BY to e.g. {DEFAULT_MAX_BY})"
            )
        if self.max_cells < 1:
            raise ConfigError(
                f"most values per request {self.max_cells} is below 1 "
                f"(set OMNIKPI_MAX_CELLS to e.g. {DEFAULT_MAX_CELLS})"
            )
        DataSettings().updated(self.overrides)  # validates each override
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def with_overrides(self, **values: str | None) -> Settings:
        """These settings with more data-setting overrides (None values are ignored)."""
        given = {name: value for name, value in values.items() if value is not None}
        return replace(self, overrides={**self.overrides, **given})


def validate_time_zone(name: str) -> str:
    """Return `name` if it is an IANA time zone, else raise ConfigError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f'time zone "{name}" is not an IANA time zone name (use e.g. "Asia/Seoul")'
        ) from exc
    return name


def validate_currency(code: str) -> str:
    """Return `code` if it looks like an ISO 4217 currency code, else raise ConfigError."""
    if not _CURRENCY.match(code):
        raise ConfigError(
            f'currency "{code}" is not a three-letter ISO 4217 code (use e.g. KRW, GBP, USD)'
        )
    return code


def validate_fiscal_year_start(text: str) -> str:
    """Return `text` if it is a month and day MM-DD (e.g. 02-01), else raise ConfigError."""
    found = _MONTH_DAY.match(text)
    month, day = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1] or (month, day) == (2, 29):
        raise ConfigError(
            f'fiscal-year start "{text}" is not a month and day MM-DD '
            "(e.g. 01-01, or 02-01 for a February year; the 29th of February is not allowed)"
        )
    return text


def validate_attribution_model(name: str) -> str:
    """Return `name` if it is an attribution model, else raise ConfigError."""
    if name not in ATTRIBUTION_MODELS:
        raise ConfigError(
            f'attribution model "{name}" is not valid '
            f"(choose from: {', '.join(ATTRIBUTION_MODELS)})"
        )
    return name


def resolve_warehouse(option: str | Path | None) -> Path:
    """The warehouse path: the option, else $OMNIKPI_WAREHOUSE, else ./omnikpi.duckdb."""
    if option:
        return Path(option)
    env = os.environ.get("OMNIKPI_WAREHOUSE")
    return Path(env) if env else Path(DEFAULT_WAREHOUSE)


def load_settings(
    warehouse: str | Path | None = None, catalog: str | Path | None = None
) -> Settings:
    """Settings from explicit options, then environment variables, then defaults."""
    dirs: list[Path] = []
    env_catalog = os.environ.get("OMNIKPI_CATALOG")
    if env_catalog:
        dirs.extend(Path(p) for p in env_catalog.split(os.pathsep) if p)
    if catalog:
        dirs.append(Path(catalog))
    tolerance = os.environ.get("OMNIKPI_TARGET_TOLERANCE", "0.05")
    try:
        tolerance_value = float(tolerance)
    except ValueError as exc:
        raise ConfigError(
            f'OMNIKPI_TARGET_TOLERANCE "{tolerance}" is not a number (use e.g. 0.05)'
        ) from exc
    min_base = os.environ.get("OMNIKPI_MIN_BASE", "30")
    if not min_base.strip().isdigit():
        raise ConfigError(
            f'OMNIKPI_MIN_BASE "{min_base}" is not a whole number of units (use e.g. 30, '
            "or 0 to rate every value)"
        )
    max_by = _whole_number("OMNIKPI_MAX_BY", DEFAULT_MAX_BY, "most breakdown dimensions")
    min_cell_customers = _whole_number(
        "OMNIKPI_MIN_CELL_CUSTOMERS", DEFAULT_MIN_CELL_CUSTOMERS, "fewest customers per value"
    )
    max_cells = _whole_number("OMNIKPI_MAX_CELLS", DEFAULT_MAX_CELLS, "most values per request")
    overrides = {
        name: os.environ[variable]
        for name, variable in DATA_SETTING_ENV.items()
        if os.environ.get(variable)
    }
    return Settings(
        warehouse=resolve_warehouse(warehouse),
        catalog_dirs=tuple(dirs),
        segment_dirs=tuple(
            Path(p) for p in os.environ.get("OMNIKPI_SEGMENTS", "").split(os.pathsep) if p
        ),
        target_tolerance=tolerance_value,
        min_base=int(min_base),
        min_cell_customers=min_cell_customers,
        max_by=max_by,
        max_cells=max_cells,
        overrides=overrides,
    )


def _whole_number(variable: str, default: int, what: str) -> int:
    """The whole number in environment variable `variable` (`default` when unset); `what`
    names it in the error (underscores and commas are allowed: 1_000_000)."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    digits = text.replace("_", "").replace(",", "")
    if not digits.isdigit():
        raise ConfigError(
            f'{variable} "{text}" is not a whole number ({what}; use e.g. {default:_})'
        )
    return int(digits)
