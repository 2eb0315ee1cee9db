"""The rule language: what it reads, and errors that name the place in the rule and the
values allowed there."""

from __future__ import annotations

import json

import pytest

from omnikpi.audiences.definition import audience_id_of, load_definition
from omnikpi.audiences.rules import (
    AllOf,
    AnyOf,
    BoughtCondition,
    ColumnCondition,
    ConsentCondition,
    EventCondition,
    Not,
    RuleChoices,
    RuleError,
    SegmentCondition,
    parse_rule,
    rule_data,
)

CHOICES = RuleChoices(segments=("new", "active", "at_risk"), rfm_groups=("champions",))

EXAMPLE = """
name: Win-back skincare
description: Lapsing skincare buyers with e-mail consent
channel: email
rule:
  all:
    - bought: {category: skincare, days: 90}
    - column: p_alive
      op: "<"
      value: 0.5
    - not: {segment: new}
holdout: {fraction: 0.1, seed: 42, stratify_by: segment}
"""


def test_a_definition_reads_into_typed_conditions() -> None:
    definition = load_definition(EXAMPLE, CHOICES)
    assert definition.audience_id == "win-back-skincare"
    assert definition.channel == "email"
    assert (definition.holdout_fraction, definition.seed, definition.stratify_by) == (
        0.1,
        42,
        "segment",
    )
    assert definition.rule == AllOf(
        (
            BoughtCondition(days=90, categories=("skincare",)),
            ColumnCondition("p_alive", "<", 0.5),
            Not(SegmentCondition(("new",))),
        )
    )


def test_plain_data_round_trips() -> None:
    rule = parse_rule(
        {
            "any": [
                {"event": {"type": ["add_to_cart", "begin_checkout"], "days": 7}},
                {"column": "segment", "op": "in", "value": ["new", "active"]},
                {"column": "revenue", "op": "between", "value": [1000, 5000]},
                {"column": "clv", "op": "is_null"},
                {"consent": "sms"},
                {"bought": {"channel": "store", "days": 30, "min_orders": 2, "min_amount": 1e5}},
            ]
        },
        CHOICES,
    )
    assert isinstance(rule, AnyOf)
    assert rule.rules[0] == EventCondition(("add_to_cart", "begin_checkout"), 7)
    assert rule.rules[4] == ConsentCondition("sms")
    data = json.loads(json.dumps(rule_data(rule)))  # what is stored
    assert parse_rule(data, CHOICES) == rule


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"all": [{"segment": "new"}, {"consent": "email"}, {"bought": {"days": 0}}]},
            "rule.all[2].bought.days: 0 must be a whole number ≥ 1",
        ),
        ({"bought": {"category": "skincare"}}, "rule.bought.days: missing"),
        ({"segment": ["new", "vip"]}, 'rule.segment[1]: "vip" is not known (allowed: new, active'),
        ({"rfm_group": "sleepers"}, 'rule.rfm_group: "sleepers" is not known (allowed: champions)'),
        ({"column": "shoe_size", "op": "=", "value": 1}, 'rule.column: "shoe_size" is not a'),
        (
            {"column": "is_member", "op": "<", "value": True},
            'rule.op: "<" does not apply to is_member (allowed: =, !=, is_null, not_null)',
        ),
        ({"column": "orders", "op": ">", "value": "3"}, "rule.value: '3' must be a number"),
        ({"column": "orders", "op": "between", "value": [5, 2]}, "rule.value: low 5 is above"),
        ({"column": "last_order_at", "op": ">", "value": 1}, "ask for dates with the days_since"),
        ({"any": []}, "rule.any: must be a non-empty list"),
        ({"not": {"often": 1}}, 'rule.not: unknown condition "often" (allowed: column, all,'),
        ({"consent": "fax"}, 'rule.consent: "fax" is not a channel (allowed: email, sms, push)'),
        ({"event": {"type": "purchased", "days": 3}}, 'rule.event.type: "purchased" is not'),
        ({"bought": {"days": 3, "colour": "red"}}, "rule.bought.colour: unknown key (allowed:"),
        ({"bought": {"days": 3, "channel": "fax"}}, 'rule.bought.channel: "fax" is not known'),
        ({"segment": "new", "consent": "sms"}, "rule: give exactly one of"),
        ("everyone", "rule: expected a mapping"),
    ],
)
def test_errors_name_the_path_and_the_allowed_values(rule: object, message: str) -> None:
    with pytest.raises(RuleError) as error:
        parse_rule(rule, CHOICES)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("channel: email", "channel: fax"), 'audience.channel: "fax" is not a channel'),
        (("fraction: 0.1", "fraction: 1"), "audience.holdout.fraction: 1 must be a number in"),
        (("seed: 42", "seed: -1"), "audience.holdout.seed: -1 must be a whole number"),
        (("stratify_by: segment", "stratify_by: p_alive"), 'stratify_by: "p_alive" is not'),
        (("name: Win-back skincare", "name: ''"), "audience.name: give the audience a name"),
        (("rule:", "rules:"), "audience.rules: unknown key"),
    ],
)
def test_definition_errors(change: tuple[str, str], message: str) -> None:
    with pytest.raises(RuleError) as error:
        load_definition(EXAMPLE.replace(*change), CHOICES)
    assert message in str(error.value)


def test_audience_ids_come_from_names() -> None:
    assert audience_id_of("  VIP  Spring/Summer '26 ") == "vip-spring-summer-26"
    for reserved in ("New", "preview", " Requests "):  # the names of the audience pages
        with pytest.raises(RuleError, match="names a page of the audiences"):
            audience_id_of(reserved)
    with pytest.raises(RuleError, match="no letters or digits"):
        audience_id_of("!!!")
