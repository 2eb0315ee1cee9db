"""Where omnikpi finds its warehouse, calendar and catalog: options, environment, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnikpi.errors import ConfigError

DEFAULT_WAREHOUSE = "omnikpi.duckdb"
DEFAULT_TIME_ZONE = "Asia/Seoul"
DEFAULT_CURRENCY = "KRW"


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one run.

    >>> Settings(warehouse=Path("shop.duckdb")).time_zone
    'Asia/Seoul'
    """

    warehouse: Path = Path(DEFAULT_WAREHOUSE)
    time_zone: str = DEFAULT_TIME_ZONE
    currency: str = DEFAULT_CURRENCY
    catalog_dirs: tuple[Path, ...] = field(default_factory=tuple)
    target_tolerance: float = 0.05

    def __post_init__(self) -> None:
        validate_time_zone(self.time_zone)
        if not 0 <= self.target_tolerance < 1:
            raise ConfigError(
                f"target tolerance {self.target_tolerance} is outside [0, 1) "
                "(set OMNIKPI_TARGET_TOLERANCE to e.g. 0.05 for 5%)"
            )


def validate_time_zone(name: str) -> str:
    """Return `name` if it is an IANA time zone, else raise ConfigError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f'time zone "{name}" is not an IANA time zone name (use e.g. "Asia/Seoul")'
        ) from exc
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
    return Settings(
        warehouse=resolve_warehouse(warehouse),
        time_zone=os.environ.get("OMNIKPI_TIME_ZONE", DEFAULT_TIME_ZONE),
        currency=os.environ.get("OMNIKPI_CURRENCY", DEFAULT_CURRENCY),
        catalog_dirs=tuple(dirs),
        target_tolerance=tolerance_value,
    )
