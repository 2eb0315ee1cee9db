"""Attribution for the CLI, the API and the pages: a model run on aggregated paths read
from a file or built from the warehouse's journeys, and its result as rows and as a JSON
document.

Paths from the file carry no customer, so no customer-level guard applies; journeys read
from the warehouse are built per customer inside `services.journeys` and leave it only as
aggregated paths.

>>> attribute_paths_file(Path("paths.csv"), "markov").total_conversions  # doctest: +SKIP
5.0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnikpi.errors import ConfigError
from omnikpi.marketing.attribution import MODELS, Attribution, AttributionSettings, attribute
from omnikpi.marketing.paths import JourneyPaths
from omnikpi.marketing.paths_file import read_paths_csv
from omnikpi.services.journeys import JourneyRequest, read_journey_paths
from omnikpi.settings import Settings

__all__ = [
    "MODELS",
    "Attribution",
    "AttributionSettings",
    "JourneyRequest",
    "attribute_paths_file",
    "attribute_warehouse",
    "attribution_document",
    "attribution_rows",
    "journeys_from_warehouse",
]


def attribute_paths_file(
    file: Path, model: str, settings: AttributionSettings | None = None
) -> Attribution:
    """Credit each channel of the paths in `file` (see `omnikpi.marketing.paths_file`)."""
    if model not in MODELS:
        raise ConfigError(f'--model "{model}" is not valid (allowed: {", ".join(MODELS)})')
    return attribute(read_paths_csv(file), model, settings)


def journeys_from_warehouse(
    settings: Settings, request: JourneyRequest | None = None, *, with_days: bool = False
) -> JourneyPaths:
    """The warehouse's journeys (see `services.journeys`) as aggregated paths."""
    return read_journey_paths(settings, request or JourneyRequest(), with_days=with_days)


def attribute_warehouse(
    settings: Settings,
    model: str,
    attribution: AttributionSettings | None = None,
    request: JourneyRequest | None = None,
) -> Attribution:
    """Credit each channel of the warehouse's journeys by `model` (time decay reads each
    touch's days before the conversion unless it counts positions)."""
    if model not in MODELS:
        raise ConfigError(f'--model "{model}" is not valid (allowed: {", ".join(MODELS)})')
    used = attribution or AttributionSettings()
    timed = model == "time_decay" and not used.positional
    return attribute(journeys_from_warehouse(settings, request, with_days=timed), model, used)


def attribution_rows(result: Attribution) -> list[dict[str, Any]]:
    """One row per channel: conversions, share, revenue (when the paths had a value) and,
    for Markov, the removal effect; largest credit first."""
    rows = []
    for credit in sorted(result.channels, key=lambda c: (-c.conversions, c.channel)):
        row: dict[str, Any] = {
            "channel": credit.channel,
            "conversions": credit.conversions,
            "share": credit.share,
        }
        if result.total_revenue is not None:
            row["revenue"] = credit.revenue
        if result.removal_effects is not None:
            row["removal_effect"] = result.removal_effects[credit.channel]
        rows.append(row)
    return rows


def attribution_document(result: Attribution, settings: AttributionSettings) -> dict[str, Any]:
    """The result as JSON: the model, its settings, the totals and the channels' rows."""
    used = {
        "last_non_direct": {"direct": settings.direct},
        "time_decay": {"half_life": settings.half_life, "positional": settings.positional},
        "position": {"first_weight": settings.first_weight, "last_weight": settings.last_weight},
        "markov": {"order": settings.order},
    }.get(result.model, {})
    return {
        "model": result.model,
        "settings": used,
        "total_conversions": result.total_conversions,
        "total_revenue": result.total_revenue,
        **({"details": result.details} if result.details else {}),
        "channels": attribution_rows(result),
    }
