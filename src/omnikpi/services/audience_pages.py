"""What the audience pages need beyond `services.audiences`: the builder's form read into
a definition (condition rows combined with all/any and an optional NOT, or the rule as
YAML/JSON), and the live preview's two sizes (every customer the rule selects, and those
of them whose consent the channel needs).

    >>> definition_text(BuilderForm(name="Lapsed", channel="email",
    ...     rows=(ConditionRow("days_since_last_order", ">", "90"),)))  # doctest: +ELLIPSIS
    'name: Lapsed\\n...'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import yaml

from omnikpi.audiences import AUDIENCE_CHANNELS, AudienceDefinition, CampaignReadout, RuleError
from omnikpi.audiences.rules import OPERATORS, RULE_COLUMNS
from omnikpi.auth import AppStateStore
from omnikpi.auth.audit import Actor
from omnikpi.services.audience_store import AudienceInfo, definition_data, stored_definition
from omnikpi.services.audiences import (
    AudienceBuild,
    build_audience,
    preview_audience,
    read_definition,
    save_audience,
    show_audience,
)
from omnikpi.settings import Settings

__all__ = [
    "CHANNELS",
    "COMBINE",
    "FIELDS",
    "OPERATORS",
    "STRATA",
    "BuilderForm",
    "CampaignReadout",
    "ConditionRow",
    "PreviewSizes",
    "build_with_holdout",
    "definition_text",
    "form_from_info",
    "preview_sizes",
    "read_form",
    "readout_verdict",
]

#: Fields a condition row may name: the lifecycle segment, the RFM group, and every
#: customer 360 column (docs/audiences.md).
FIELDS: tuple[str, ...] = ("segment", "rfm_group", *sorted(RULE_COLUMNS))
#: How the rows combine.
COMBINE = ("all", "any")
CHANNELS = AUDIENCE_CHANNELS
#: Columns a holdout may be stratified by (as `parse_definition` allows).
STRATA: tuple[str, ...] = tuple(
    sorted(c for c, col in RULE_COLUMNS.items() if col.type in ("string", "bool", "int"))
)
_LISTS = ("in", "not_in", "between")
_NO_VALUE = ("is_null", "not_null")


@dataclass(frozen=True)
class ConditionRow:
    """One row of the builder: field, operator and the value as typed ("a, b" for lists)."""

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class BuilderForm:
    """The builder's fields as sent. `rule_text` (YAML/JSON of the rule) wins over `rows`
    when it is filled in."""

    name: str = ""
    description: str = ""
    channel: str = "email"
    combine: str = "all"
    negate: bool = False
    rows: tuple[ConditionRow, ...] = ()
    rule_text: str = ""
    fraction: str = "0.1"
    seed: str = "42"
    stratify_by: str = ""


@dataclass(frozen=True)
class PreviewSizes:
    """The live preview: customers the rule selects (`size`), and those with the channel's
    consent (`consented`, the audience's size), as of `as_of`."""

    size: int
    consented: int
    channel: str
    as_of: date


def _scalar(text: str, column_type: str | None) -> Any:
    """A typed value: numbers for number columns, yes/no for yes/no columns, else text."""
    text = text.strip()
    if column_type in ("int", "float", "money"):
        try:
            number = float(text.replace(",", "")) if text else None
        except ValueError:
            raise RuleError("value", f'"{text}" is not a number') from None
        if number is None:
            raise RuleError("value", "give a number")
        return int(number) if number.is_integer() and column_type == "int" else number
    if column_type == "bool":
        lowered = text.lower()
        if lowered not in ("true", "false", "yes", "no", "1", "0"):
            raise RuleError("value", f'"{text}" is not yes/no (true or false)')
        return lowered in ("true", "yes", "1")
    return text


def _condition(row: ConditionRow, place: str) -> dict[str, Any]:
    if row.field not in FIELDS:
        raise RuleError(place, f'"{row.field}" is not a field (allowed: {", ".join(FIELDS)})')
    parts = [p.strip() for p in row.value.split(",") if p.strip()]
    if row.field in ("segment", "rfm_group"):
        if row.op not in ("=", "!=", "in", "not_in"):
            raise RuleError(place, f'{row.field} takes =, !=, in or not_in, not "{row.op}"')
        if not parts:
            raise RuleError(place, f"name the {row.field.replace('_', ' ')} (e.g. at_risk)")
        condition: dict[str, Any] = {row.field: parts if len(parts) > 1 else parts[0]}
        return {"not": condition} if row.op in ("!=", "not_in") else condition
    if row.op not in OPERATORS:
        raise RuleError(place, f'"{row.op}" is not an operator (allowed: {", ".join(OPERATORS)})')
    column_type = RULE_COLUMNS[row.field].type
    condition = {"column": row.field, "op": row.op}
    try:
        if row.op in _LISTS:
            condition["value"] = [_scalar(p, column_type) for p in parts]
        elif row.op not in _NO_VALUE:
            condition["value"] = _scalar(row.value, column_type)
    except RuleError as exc:
        raise RuleError(place, exc.args[0].split(": ", 1)[-1]) from None
    return condition


def _number(text: str, name: str, kind: type) -> Any:
    try:
        return kind(text.strip()) if text.strip() else None
    except ValueError:
        raise RuleError(f"holdout.{name}", f'"{text}" is not a number') from None


def definition_text(form: BuilderForm) -> str:
    """The definition the form describes, as YAML (what `read_definition` reads and the
    page shows); a RuleError names the row or field that is wrong."""
    if form.rule_text.strip():
        try:
            rule = yaml.safe_load(form.rule_text)
        except yaml.YAMLError as exc:
            raise RuleError("rule", f"not valid YAML or JSON ({exc})") from None
    else:
        conditions = [
            _condition(row, f"condition {number}")
            for number, row in enumerate(form.rows, 1)
            if row.field and (row.value.strip() or row.op in _NO_VALUE)
        ]
        if not conditions:
            raise RuleError("rule", "add at least one condition (a field, an operator, a value)")
        combine = form.combine if form.combine in COMBINE else "all"
        rule = conditions[0] if len(conditions) == 1 else {combine: conditions}
        if form.negate:
            rule = {"not": rule}
    holdout: dict[str, Any] = {}
    fraction = _number(form.fraction, "fraction", float)
    seed = _number(form.seed, "seed", int)
    if fraction is not None:
        holdout["fraction"] = fraction
    if seed is not None:
        holdout["seed"] = seed
    if form.stratify_by:
        holdout["stratify_by"] = form.stratify_by
    data: dict[str, Any] = {"name": form.name.strip() or "Untitled audience"}
    if form.description.strip():
        data["description"] = form.description.strip()
    data.update(channel=form.channel, rule=rule, holdout=holdout)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def form_from_info(info: AudienceInfo) -> BuilderForm:
    """The builder filled with a saved version (its rule as YAML, to edit and save anew)."""
    data = definition_data(info)
    return BuilderForm(
        name=info.name,
        description=info.description or "",
        channel=info.channel,
        rule_text=yaml.safe_dump(data["rule"], sort_keys=False, allow_unicode=True),
        fraction=str(info.holdout_fraction),
        seed=str(info.seed),
        stratify_by=info.stratify_by or "",
    )


def preview_sizes(
    settings: Settings, actor: Actor, definition: AudienceDefinition, *, as_of: date | None = None
) -> PreviewSizes:
    """The rule's size without and with the channel's consent (MANAGE_AUDIENCES)."""
    everyone = preview_audience(settings, actor, replace(definition, channel="none"), as_of=as_of)
    if definition.channel == "none":
        return PreviewSizes(everyone.size, everyone.size, "none", everyone.as_of)
    consented = preview_audience(settings, actor, definition, as_of=as_of)
    return PreviewSizes(everyone.size, consented.size, definition.channel, consented.as_of)


def read_form(settings: Settings, form: BuilderForm) -> tuple[str, AudienceDefinition]:
    """The form's definition as YAML and as read (RuleError/ConfigError when wrong)."""
    text = definition_text(form)
    return text, read_definition(settings, text)


def build_with_holdout(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    audience_id: str,
    *,
    version: int | None,
    fraction: float,
    seed: int,
    stratify_by: str | None,
    replace_list: bool = False,
    now: datetime | None = None,
) -> AudienceBuild:
    """Build the version with this holdout: the version itself when its holdout is the
    same, else a new version of it with this holdout (saved first: a list is always built
    from a stored version, so its seed is on record)."""
    info = show_audience(settings, actor, audience_id, version)
    if (info.holdout_fraction, info.seed, info.stratify_by) != (fraction, seed, stratify_by):
        text = yaml.safe_dump(
            {
                **definition_data(info),
                "holdout": {
                    "fraction": fraction,
                    "seed": seed,
                    **({"stratify_by": stratify_by} if stratify_by else {}),
                },
            },
            sort_keys=False,
            allow_unicode=True,
        )
        stored_definition(settings, info)  # the stored rule still reads
        info = save_audience(settings, actor, read_definition(settings, text), now=now)
    return build_audience(
        settings,
        store,
        actor,
        info.audience_id,
        version=info.version,
        replace=replace_list,
        now=now,
    )


def readout_verdict(readout: CampaignReadout) -> str:
    """How the readout reads in one word: `worked` (the conversion lift's interval lies
    above zero), `hurt` (below zero) or `unclear` (it holds zero)."""
    test = readout.conversion
    if test.difference_ci_low > 0:
        return "worked"
    if test.difference_ci_high < 0:
        return "hurt"
    return "unclear"
