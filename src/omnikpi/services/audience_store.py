"""Where audiences are kept: the `audiences` and `audience_members` tables, a stored
version as an `AudienceInfo`, and the customer 360 a rule reads (stored or computed).
For `services.audiences` only: it checks the permissions before calling these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from omnikpi.audiences import HOLDOUT, TREATED, AudienceDefinition, RuleChoices, parse_definition
from omnikpi.auth.audit import Actor
from omnikpi.customers.profile import customer_profiles
from omnikpi.customers.segments import SegmentRules
from omnikpi.errors import ConfigError, InvalidChoice, NotFound
from omnikpi.model.audiences import AUDIENCE_MEMBERS, AUDIENCE_TABLES, AUDIENCES
from omnikpi.model.derived import CUSTOMER_PROFILES
from omnikpi.services.customers import data_through, segment_rules
from omnikpi.services.reader import ResultCache, data_version
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

__all__ = [
    "AudienceInfo",
    "audience_version",
    "audience_versions",
    "check_built",
    "definition_data",
    "forget_in_audiences",
    "info_from_row",
    "member_table",
    "profile_table",
    "rule_choices",
    "same_definition",
    "stored_definition",
    "write_members",
]

#: Per warehouse, data version, date asked and segment rules: the day a rule reads and
#: whether the stored customer 360 describes it (the live preview asks it on every change).
_DAYS = ResultCache(max_entries=64)


@dataclass(frozen=True)
class AudienceInfo:
    """One saved version of an audience (`versions`: how many it has)."""

    audience_id: str
    version: int
    versions: int
    name: str
    description: str | None
    channel: str
    definition: dict[str, Any]
    holdout_fraction: float
    seed: int
    stratify_by: str | None
    created_by: str
    created_at: datetime
    as_of: date | None
    built_at: datetime | None
    treated: int | None
    holdout: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            key: value.isoformat() if isinstance(value, date | datetime) else value
            for key, value in self.__dict__.items()
        }


def rule_choices(settings: Settings) -> RuleChoices:
    """The segments and RFM groups a rule may name (the segment rules in effect)."""
    rules = segment_rules(settings)
    groups = tuple(dict.fromkeys(g.id for g in rules.rfm.groups))
    return RuleChoices(segments=tuple(rules.segment_ids), rfm_groups=groups)


# -- storage -------------------------------------------------------------------------------
def profile_table(
    warehouse: Warehouse, settings: Settings, as_of: date | None
) -> tuple[date, ir.Table]:
    """The day described and the customer 360 of it: stored when it describes that day
    with the segment rules in effect, else computed."""
    rules = segment_rules(settings)
    key = (
        str(settings.warehouse),
        data_version(settings.warehouse),
        as_of,
        rules.fingerprint,
    )
    day, stored = _DAYS.get_or_compute(key, lambda: _profile_day(warehouse, as_of, rules))
    if stored:
        return day, warehouse.table(CUSTOMER_PROFILES.name)
    return day, customer_profiles(warehouse, day, rules)


def _profile_day(
    warehouse: Warehouse, as_of: date | None, rules: SegmentRules
) -> tuple[date, bool]:
    """The day a rule reads (`as_of`, default the data's latest) and whether the stored
    customer 360 describes it with `rules`."""
    latest = data_through(warehouse)
    if as_of is not None and as_of > latest:
        raise InvalidChoice("as-of", as_of.isoformat(), f"≤ {latest.isoformat()}")
    day = as_of or latest
    if not warehouse.has_table(CUSTOMER_PROFILES.name):
        return day, False
    stored = warehouse.fetch_row(f'SELECT max(as_of), max(rules) FROM "{CUSTOMER_PROFILES.name}"')
    same_rules = stored is not None and stored[1] == rules.fingerprint
    described = stored[0] if stored is not None else None
    return day, same_rules and described is not None and pd.Timestamp(described).date() == day


def audience_versions(warehouse: Warehouse, audience_id: str) -> list[dict[str, Any]]:
    if not warehouse.has_table(AUDIENCES.name):
        return []
    frame = warehouse.fetch_frame(
        f'SELECT * FROM "{AUDIENCES.name}" WHERE audience_id = ? ORDER BY version',
        [audience_id],
    )
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def audience_version(warehouse: Warehouse, audience_id: str, version: int | None) -> AudienceInfo:
    versions = audience_versions(warehouse, audience_id)
    if not versions:
        known = []
        if warehouse.has_table(AUDIENCES.name):
            known = [
                str(r[0])
                for r in warehouse.fetch_rows(
                    f'SELECT DISTINCT audience_id FROM "{AUDIENCES.name}" ORDER BY 1'
                )
            ]
        raise NotFound(
            f'no audience "{audience_id}" (saved: {", ".join(known) or "none yet"}; save one '
            "with `omnikpi audiences save FILE`)"
        )
    if version is None:
        return info_from_row(versions[-1], len(versions))
    if not 1 <= version <= len(versions):
        raise InvalidChoice("version", str(version), f"1 to {len(versions)}")
    return info_from_row(versions[version - 1], len(versions))


def same_definition(row: dict[str, Any], definition: AudienceDefinition) -> bool:
    """Whether the stored version `row` is `definition` (rule, name, description, channel,
    holdout): saving it again adds no version."""
    info = info_from_row(row, 0)
    return (
        info.definition == json.loads(definition.rule_json())
        and (info.name, info.description, info.channel) == (
            definition.name, definition.description, definition.channel,
        )
        and (info.holdout_fraction, info.seed, info.stratify_by) == (
            definition.holdout_fraction, definition.seed, definition.stratify_by,
        )
    )  # fmt: skip


def info_from_row(row: dict[str, Any], versions: int) -> AudienceInfo:
    def value(key: str) -> Any:
        item = row.get(key)
        return None if item is None or pd.isna(item) else item

    as_of, created, built = value("as_of"), value("created_at"), value("built_at")
    treated, holdout = value("treated"), value("holdout")
    return AudienceInfo(
        audience_id=str(row["audience_id"]),
        version=int(row["version"]),
        versions=versions,
        name=str(row["name"]),
        description=value("description"),
        channel=str(row["channel"]),
        definition=json.loads(str(row["definition"])),
        holdout_fraction=float(row["holdout_fraction"]),
        seed=int(row["seed"]),
        stratify_by=value("stratify_by"),
        created_by=str(row["created_by"]),
        created_at=pd.Timestamp(created).to_pydatetime(),
        as_of=pd.Timestamp(as_of).date() if as_of is not None else None,
        built_at=pd.Timestamp(built).to_pydatetime() if built is not None else None,
        treated=int(treated) if treated is not None else None,
        holdout=int(holdout) if holdout is not None else None,
    )


def stored_definition(settings: Settings, info: AudienceInfo) -> AudienceDefinition:
    """The stored version as a definition (its rule read again with today's choices)."""
    holdout: dict[str, Any] = {"fraction": info.holdout_fraction, "seed": info.seed}
    if info.stratify_by:
        holdout["stratify_by"] = info.stratify_by
    data = {
        "name": info.name,
        "channel": info.channel,
        "rule": info.definition,
        "holdout": holdout,
    }
    return parse_definition(data, rule_choices(settings))


def check_built(info: AudienceInfo) -> None:
    if info.built_at is None or info.as_of is None:
        raise ConfigError(
            f'audience "{info.audience_id}" version {info.version} has not been built yet: '
            f"`omnikpi audiences build {info.audience_id}` selects its customers"
        )


def member_table(warehouse: Warehouse, info: AudienceInfo) -> ir.Table:
    members = warehouse.table(AUDIENCE_MEMBERS.name)
    return members.filter(
        members.audience_id == info.audience_id, members.version == ibis.literal(info.version)
    )


def write_members(
    warehouse: Warehouse,
    info: AudienceInfo,
    members: pd.DataFrame,
    day: date,
    actor: Actor,
    moment: datetime,
) -> None:
    frame = members.assign(audience_id=info.audience_id, version=info.version)
    arrow = pa.Table.from_pandas(
        frame[[c.name for c in AUDIENCE_MEMBERS.columns]],
        schema=AUDIENCE_MEMBERS.arrow_schema(),
        preserve_index=False,
    )
    counts = members["group"].value_counts()
    with warehouse.transaction():
        warehouse.create_tables(AUDIENCE_TABLES)
        key = [info.audience_id, info.version]
        warehouse.run_sql(
            f'DELETE FROM "{AUDIENCE_MEMBERS.name}" WHERE audience_id = ? AND version = ?', key
        )
        warehouse.append(AUDIENCE_MEMBERS.name, arrow, AUDIENCE_MEMBERS)
        warehouse.run_sql(
            f'UPDATE "{AUDIENCES.name}" SET as_of = ?, built_by = ?, built_at = ?, treated = ?, '
            "holdout = ? WHERE audience_id = ? AND version = ?",
            [
                day,
                actor.username,
                moment,
                int(counts.get(TREATED, 0)),
                int(counts.get(HOLDOUT, 0)),
                *key,
            ],
        )


def definition_data(info: AudienceInfo) -> dict[str, Any]:
    """The version as the YAML/JSON a definition file holds (to edit and save again)."""
    data: dict[str, Any] = {"name": info.name}
    if info.description:
        data["description"] = info.description
    data["channel"] = info.channel
    data["rule"] = info.definition
    data["holdout"] = {"fraction": info.holdout_fraction, "seed": info.seed}
    if info.stratify_by:
        data["holdout"]["stratify_by"] = info.stratify_by
    return data


def forget_in_audiences(warehouse: Warehouse, customer_id: str, tombstone: str) -> int:
    """Replace a forgotten customer's id in the built audiences by its `tombstone` (the
    one `warehouse.erasure` gave it), keeping the groups' sizes for readouts; rows changed.
    Call inside the forget's transaction (services.forget)."""
    if not warehouse.has_table(AUDIENCE_MEMBERS.name):
        return 0
    count = warehouse.fetch_value(
        f'SELECT count(*) FROM "{AUDIENCE_MEMBERS.name}" WHERE customer_id = ?', [customer_id]
    )
    if count:
        warehouse.run_sql(
            f'UPDATE "{AUDIENCE_MEMBERS.name}" SET customer_id = ? WHERE customer_id = ?',
            [tombstone, customer_id],
        )
    return int(count)
