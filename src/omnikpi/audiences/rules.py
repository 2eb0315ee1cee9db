"""The audience rule language: conditions over the customer 360, parsed from YAML or JSON
into frozen dataclasses; errors name the place in the rule and what is allowed there.

A rule is one condition or a combination (`all`, `any`, `not`, nested at will):

- `{column: p_alive, op: "<", value: 0.5}`: a customer 360 column (`customer_profiles`,
  with `clv` and `p_alive` from `customer_scores`) compared with =, !=, <, <=, >, >=,
  in, not_in, between ([low, high], both included), is_null or not_null. A condition on
  an empty value is false (ask with is_null).
- `{segment: at_risk}` or `{segment: [at_risk, inactive]}`: lifecycle segments;
  `{rfm_group: champions}` the same for RFM groups.
- `{bought: {category: skincare, days: 90}}`: bought (an order not cancelled) in the last
  `days` local days through the audience's date, with optional `product`, `category` and
  `channel` (one value or a list each), `min_orders` (default 1) and `min_amount` (net).
- `{event: {type: add_to_cart, days: 30}}`: events of a type in the window, `min_count`.
- `{consent: email}`: consent for email, sms or push at the audience's date.

The audience's own channel's consent is always required (`omnikpi.audiences.definition`).

    >>> parse_rule({"all": [{"segment": "at_risk"}, {"consent": "email"}]}).rules[1]
    ConsentCondition(channel='email')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omnikpi.errors import ConfigError
from omnikpi.model.derived import CUSTOMER_PROFILES
from omnikpi.model.enums import EventType, SalesChannel

__all__ = [
    "AUDIENCE_CHANNELS",
    "CONSENT_COLUMNS",
    "OPERATORS",
    "RULE_COLUMNS",
    "AllOf",
    "AnyOf",
    "BoughtCondition",
    "ColumnCondition",
    "ConsentCondition",
    "EventCondition",
    "Not",
    "RfmCondition",
    "Rule",
    "RuleChoices",
    "RuleError",
    "SegmentCondition",
    "check_keys",
    "expect_mapping",
    "is_number",
    "parse_rule",
    "rule_data",
]

#: Consent column of each channel that needs one.
CONSENT_COLUMNS = {"email": "email_consent", "sms": "sms_consent", "push": "push_consent"}
#: Channels an audience is for: those needing consent, and `none` (ads, store staff).
AUDIENCE_CHANNELS = (*CONSENT_COLUMNS, "none")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "is_null", "not_null")
_NUMBER_TYPES = frozenset({"int", "float", "money"})
_OPERATORS_BY_TYPE = {
    "number": OPERATORS,
    "string": ("=", "!=", "in", "not_in", "is_null", "not_null"),
    "bool": ("=", "!=", "is_null", "not_null"),
    # dates and instants: ask with the days_since_* columns
    "time": ("is_null", "not_null"),
}
#: Customer 360 columns a rule may read (not its bookkeeping).
RULE_COLUMNS = {c.name: c for c in CUSTOMER_PROFILES.columns if c.name not in ("as_of", "rules")}
_BOUGHT_KEYS = ("category", "product", "channel", "days", "min_orders", "min_amount")
_EVENT_KEYS = ("type", "days", "min_count")


class RuleError(ConfigError):
    """A rule that cannot be read: `path` says where (e.g. `rule.all[2].days`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass(frozen=True)
class ColumnCondition:
    column: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class SegmentCondition:
    segments: tuple[str, ...]


@dataclass(frozen=True)
class RfmCondition:
    groups: tuple[str, ...]


@dataclass(frozen=True)
class BoughtCondition:
    days: int
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    min_orders: int = 1
    min_amount: float | None = None


@dataclass(frozen=True)
class EventCondition:
    event_types: tuple[str, ...]
    days: int
    min_count: int = 1


@dataclass(frozen=True)
class ConsentCondition:
    channel: str


@dataclass(frozen=True)
class AllOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    rule: Rule


Rule = (
    ColumnCondition
    | SegmentCondition
    | RfmCondition
    | BoughtCondition
    | EventCondition
    | ConsentCondition
    | AllOf
    | AnyOf
    | Not
)


@dataclass(frozen=True)
class RuleChoices:
    """The values a rule may name that depend on the installation (segment rules); None
    leaves them unchecked."""

    segments: tuple[str, ...] | None = None
    rfm_groups: tuple[str, ...] | None = None


def parse_rule(data: Any, choices: RuleChoices = RuleChoices(), path: str = "rule") -> Rule:
    """A Rule from plain data (a mapping with one of the keys of the module docstring)."""
    mapping = expect_mapping(data, path)
    if "column" in mapping:
        return _column(mapping, path)
    if len(mapping) != 1:
        raise RuleError(path, f"give exactly one of: column, {', '.join(_PARSERS)}")
    key, value = next(iter(mapping.items()))
    parser = _PARSERS.get(key)
    if parser is None:
        raise RuleError(path, f'unknown condition "{key}" (allowed: column, {", ".join(_PARSERS)})')
    return parser(value, choices, f"{path}.{key}")


def _combined(value: Any, choices: RuleChoices, path: str) -> tuple[Rule, ...]:
    if not isinstance(value, list) or not value:
        raise RuleError(path, "must be a non-empty list of conditions")
    return tuple(parse_rule(item, choices, f"{path}[{i}]") for i, item in enumerate(value))


def _all(value: Any, choices: RuleChoices, path: str) -> Rule:
    return AllOf(_combined(value, choices, path))


def _any(value: Any, choices: RuleChoices, path: str) -> Rule:
    return AnyOf(_combined(value, choices, path))


def _not(value: Any, choices: RuleChoices, path: str) -> Rule:
    return Not(parse_rule(value, choices, path))


def _segment(value: Any, choices: RuleChoices, path: str) -> Rule:
    return SegmentCondition(_names(value, path, choices.segments))


def _rfm(value: Any, choices: RuleChoices, path: str) -> Rule:
    return RfmCondition(_names(value, path, choices.rfm_groups))


def _consent(value: Any, choices: RuleChoices, path: str) -> Rule:
    if value not in CONSENT_COLUMNS:
        raise RuleError(path, f'"{value}" is not a channel (allowed: {", ".join(CONSENT_COLUMNS)})')
    return ConsentCondition(str(value))


def _bought(value: Any, choices: RuleChoices, path: str) -> Rule:
    mapping = expect_mapping(value, path)
    check_keys(mapping, path, _BOUGHT_KEYS)
    channels = mapping.get("channel")
    min_amount = mapping.get("min_amount")
    if min_amount is not None and (not is_number(min_amount) or min_amount < 0):
        raise RuleError(f"{path}.min_amount", f"{min_amount!r} must be a number ≥ 0")
    return BoughtCondition(
        days=_whole(mapping, "days", path, None),
        categories=_names(mapping["category"], f"{path}.category", None)
        if "category" in mapping
        else (),
        products=_names(mapping["product"], f"{path}.product", None)
        if "product" in mapping
        else (),
        channels=_names(channels, f"{path}.channel", tuple(SalesChannel))
        if channels is not None
        else (),
        min_orders=_whole(mapping, "min_orders", path, 1),
        min_amount=float(min_amount) if min_amount is not None else None,
    )


def _event(value: Any, choices: RuleChoices, path: str) -> Rule:
    mapping = expect_mapping(value, path)
    check_keys(mapping, path, _EVENT_KEYS)
    if "type" not in mapping:
        raise RuleError(f"{path}.type", f"missing (allowed: {', '.join(EventType)})")
    return EventCondition(
        event_types=_names(mapping["type"], f"{path}.type", tuple(EventType)),
        days=_whole(mapping, "days", path, None),
        min_count=_whole(mapping, "min_count", path, 1),
    )


_PARSERS = {
    "all": _all,
    "any": _any,
    "not": _not,
    "segment": _segment,
    "rfm_group": _rfm,
    "bought": _bought,
    "event": _event,
    "consent": _consent,
}


def _column(mapping: Mapping[str, Any], path: str) -> Rule:
    check_keys(mapping, path, ("column", "op", "value"))
    name = mapping["column"]
    column = RULE_COLUMNS.get(name) if isinstance(name, str) else None
    if column is None:
        raise RuleError(
            f"{path}.column",
            f'"{name}" is not a customer 360 column (allowed: {", ".join(RULE_COLUMNS)})',
        )
    kind = (
        "number"
        if column.type in _NUMBER_TYPES
        else "time"
        if column.type in ("date", "timestamp")
        else column.type
    )
    op = mapping.get("op")
    allowed = _OPERATORS_BY_TYPE[kind]
    if op not in allowed:
        hint = " (ask for dates with the days_since_* columns)" if kind == "time" else ""
        raise RuleError(
            f"{path}.op", f'"{op}" does not apply to {name} (allowed: {", ".join(allowed)}){hint}'
        )
    value = mapping.get("value")
    where = f"{path}.value"
    if op in ("is_null", "not_null"):
        if value is not None:
            raise RuleError(where, f"{op} takes no value")
        return ColumnCondition(name, op)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleError(where, f"{op} needs a non-empty list of values")
        return ColumnCondition(
            name, op, tuple(_typed(v, kind, f"{where}[{i}]") for i, v in enumerate(value))
        )
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RuleError(where, "between needs [low, high] (both included)")
        low, high = (_typed(v, kind, f"{where}[{i}]") for i, v in enumerate(value))
        if low > high:
            raise RuleError(where, f"low {low} is above high {high}")
        return ColumnCondition(name, op, (low, high))
    return ColumnCondition(name, op, _typed(value, kind, where))


def _typed(value: Any, kind: str, path: str) -> Any:
    if kind == "number" and is_number(value):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "string" and isinstance(value, str):
        return value
    wanted = {"number": "a number", "bool": "true or false", "string": "text"}[kind]
    raise RuleError(path, f"{value!r} must be {wanted}")


def _names(value: Any, path: str, allowed: Sequence[str] | None) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise RuleError(path, f"{value!r} must be a name or a non-empty list of names")
    if allowed is not None:
        for i, item in enumerate(values):
            if item not in allowed:
                where = f"{path}[{i}]" if isinstance(value, list) else path
                raise RuleError(where, f'"{item}" is not known (allowed: {", ".join(allowed)})')
    return tuple(values)


def _whole(mapping: Mapping[str, Any], key: str, path: str, default: int | None) -> int:
    value = mapping.get(key, default)
    if value is None:
        raise RuleError(f"{path}.{key}", "missing: a whole number of days ≥ 1, e.g. 90")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RuleError(f"{path}.{key}", f"{value!r} must be a whole number ≥ 1")
    return value


def expect_mapping(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise RuleError(path, f"expected a mapping of keys to values, got {type(data).__name__}")
    return data


def check_keys(mapping: Mapping[str, Any], path: str, keys: Sequence[str]) -> None:
    for key in mapping:
        if key not in keys:
            raise RuleError(f"{path}.{key}", f"unknown key (allowed: {', '.join(keys)})")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- back to plain data --------------------------------------------------------------------
def rule_data(rule: Rule) -> dict[str, Any]:
    """`rule` as the plain data `parse_rule` reads (lists for one or more names)."""
    match rule:
        case AllOf(rules):
            return {"all": [rule_data(r) for r in rules]}
        case AnyOf(rules):
            return {"any": [rule_data(r) for r in rules]}
        case Not(inner):
            return {"not": rule_data(inner)}
        case ColumnCondition(column, op, value):
            data: dict[str, Any] = {"column": column, "op": op}
            if value is not None:
                data["value"] = list(value) if isinstance(value, tuple) else value
            return data
        case SegmentCondition(segments):
            return {"segment": list(segments)}
        case RfmCondition(groups):
            return {"rfm_group": list(groups)}
        case ConsentCondition(channel):
            return {"consent": channel}
        case BoughtCondition():
            bought: dict[str, Any] = {"days": rule.days, "min_orders": rule.min_orders}
            for key, names in (
                ("category", rule.categories),
                ("product", rule.products),
                ("channel", rule.channels),
            ):
                if names:
                    bought[key] = list(names)
            if rule.min_amount is not None:
                bought["min_amount"] = rule.min_amount
            return {"bought": bought}
        case EventCondition(types, days, min_count):
            return {"event": {"type": list(types), "days": days, "min_count": min_count}}
    raise TypeError(f"not a rule: {rule!r}")
