"""An audience definition: its name, rule (`omnikpi.audiences.rules`), the channel whose
consent every member must have, and its holdout (fraction, seed, stratification column);
read from YAML or JSON with errors naming the place and the values allowed there.

    >>> load_definition("name: All\\nchannel: none\\nrule: {consent: sms}").audience_id
    'all'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from omnikpi.audiences.rules import (
    AUDIENCE_CHANNELS,
    RULE_COLUMNS,
    Rule,
    RuleChoices,
    RuleError,
    check_keys,
    expect_mapping,
    is_number,
    parse_rule,
    rule_data,
)

__all__ = ["AudienceDefinition", "audience_id_of", "load_definition", "parse_definition"]

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class AudienceDefinition:
    """A saved audience: name, rule, the channel whose consent it needs, and its holdout
    (share held out per stratum, seed, optional profile column to stratify by)."""

    name: str
    rule: Rule
    channel: str
    description: str | None = None
    holdout_fraction: float = 0.0
    seed: int = 0
    stratify_by: str | None = None

    @property
    def audience_id(self) -> str:
        return audience_id_of(self.name)

    def rule_json(self) -> str:
        """The rule as canonical JSON (what is stored and compared between versions)."""
        return json.dumps(rule_data(self.rule), sort_keys=True, ensure_ascii=False)


#: Ids the web app's audience pages use for themselves (/audiences/new, ...).
RESERVED_IDS = frozenset({"new", "preview", "requests"})


def audience_id_of(name: str) -> str:
    """The id of an audience called `name`: lowercase words joined by hyphens.

    >>> audience_id_of("Win-back: skincare 90d")
    'win-back-skincare-90d'
    """
    slug = _NOT_SLUG.sub("-", name.lower()).strip("-")
    if not slug:
        raise RuleError("name", f'"{name}" has no letters or digits to make an id from')
    if slug in RESERVED_IDS:
        raise RuleError(
            "name",
            f'"{name}" would be the id "{slug}", which names a page of the audiences '
            f"({', '.join(sorted(RESERVED_IDS))}); choose a longer name",
        )
    return slug


# -- parsing -------------------------------------------------------------------------------
def load_definition(text: str, choices: RuleChoices = RuleChoices()) -> AudienceDefinition:
    """An audience definition from YAML (or JSON, which YAML reads too)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError("audience", f"not valid YAML or JSON ({exc})") from None
    return parse_definition(data, choices)


def parse_definition(data: Any, choices: RuleChoices = RuleChoices()) -> AudienceDefinition:
    """An AudienceDefinition from plain data: name, rule, channel, and optionally
    description and holdout {fraction, seed, stratify_by}."""
    mapping = expect_mapping(data, "audience")
    check_keys(mapping, "audience", ("name", "description", "channel", "rule", "holdout"))
    name = mapping.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError("audience.name", "give the audience a name, e.g. name: Win-back skincare")
    channel = mapping.get("channel")
    if channel not in AUDIENCE_CHANNELS:
        raise RuleError(
            "audience.channel",
            f'"{channel}" is not a channel (allowed: {", ".join(AUDIENCE_CHANNELS)}); its '
            "consent is required of every member",
        )
    if "rule" not in mapping:
        raise RuleError("audience.rule", "missing: the conditions customers must meet")
    description = mapping.get("description")
    holdout = expect_mapping(mapping.get("holdout") or {}, "audience.holdout")
    check_keys(holdout, "audience.holdout", ("fraction", "seed", "stratify_by"))
    fraction = holdout.get("fraction", 0.0)
    if not is_number(fraction) or not 0 <= fraction < 1:
        raise RuleError("audience.holdout.fraction", f"{fraction!r} must be a number in [0, 1)")
    seed = holdout.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise RuleError("audience.holdout.seed", f"{seed!r} must be a whole number ≥ 0")
    stratify_by = holdout.get("stratify_by")
    strata = sorted(c for c, col in RULE_COLUMNS.items() if col.type in ("string", "bool", "int"))
    if stratify_by is not None and stratify_by not in strata:
        raise RuleError(
            "audience.holdout.stratify_by",
            f'"{stratify_by}" is not a column to stratify by (allowed: {", ".join(strata)})',
        )
    return AudienceDefinition(
        name=name.strip(),
        rule=parse_rule(mapping["rule"], choices, "rule"),
        channel=str(channel),
        description=str(description).strip() if description else None,
        holdout_fraction=float(fraction),
        seed=seed,
        stratify_by=stratify_by,
    )
