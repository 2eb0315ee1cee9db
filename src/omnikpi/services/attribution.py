"""Attribution for the CLI, the API and the pages: a model run on aggregated paths read
from a file, and its result as rows and as a JSON document.

Paths from the file carry no customer, so no customer-level guard applies; journeys read
from the warehouse (issue 24, item 2) will be built per customer and go through it.

>>> attribute_paths_file(Path("paths.csv"), "markov").total_conversions  # doctest: +SKIP
5.0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnikpi.errors import ConfigError
from omnikpi.marketing.attribution import MODELS, Attribution, AttributionSettings, attribute
from omnikpi.marketing.paths_file import read_paths_csv

__all__ = [
    "MODELS",
    "Attribution",
    "AttributionSettings",
    "attribute_paths_file",
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


def journeys_from_warehouse() -> None:
    """Attribution on the warehouse's journeys: not built yet, so a clear error."""
    raise ConfigError(
        "journeys from the warehouse come with the journeys builder (issue 24, item 2), "
        "not yet available; give --paths FILE.csv (columns path, conversions, "
        "non_conversions [, value] [, days])"
    )


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
