"""Audiences: segment rules over the customer 360, target lists with a reproducible
holdout, their aggregate profile and the campaign readout (docs/audiences.md), and ad-hoc
customer analyses such as a new store's catchment (`omnikpi.audiences.catchment`)."""

from omnikpi.audiences.definition import (
    AudienceDefinition,
    audience_id_of,
    load_definition,
    parse_definition,
)
from omnikpi.audiences.holdout import HOLDOUT, TREATED, assign_holdout, draw_position
from omnikpi.audiences.readout import CampaignReadout, campaign_outcomes, read_out
from omnikpi.audiences.rules import (
    AUDIENCE_CHANNELS,
    Rule,
    RuleChoices,
    RuleError,
    parse_rule,
    rule_data,
)
from omnikpi.audiences.selection import count_customers, select_customers
from omnikpi.audiences.summary import profile_means, segment_mix

__all__ = [
    "AUDIENCE_CHANNELS",
    "HOLDOUT",
    "TREATED",
    "AudienceDefinition",
    "CampaignReadout",
    "Rule",
    "RuleChoices",
    "RuleError",
    "assign_holdout",
    "audience_id_of",
    "campaign_outcomes",
    "count_customers",
    "draw_position",
    "load_definition",
    "parse_definition",
    "parse_rule",
    "profile_means",
    "read_out",
    "rule_data",
    "segment_mix",
    "select_customers",
]
