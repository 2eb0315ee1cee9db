"""Audiences through the service layer: read and preview a rule, save it (a changed rule
is a new version), build its target list with a holdout, export a list, and read out a
campaign against the holdout.

Who may do what (`omnikpi.auth.permissions`): saving, previewing and listing audiences is
MANAGE_AUDIENCES (analysts, admins); building (the list of customers) and exporting it are
customer-level, through the audited guard `services.audit.customer_level` (an export needs
a purpose, and the audit entry keeps it with the row count); an audience's aggregate
profile and its readout are VIEW_AUDIENCE_RESULTS, with small cells withheld below
analysts (`Settings.min_cell_customers`).

Rules read the customer 360 as of the audience's date (default: the data's latest day):
the stored `customer_profiles` when it describes that day with the same segment rules,
else computed.

    >>> saved = save_audience(settings, Actor.cli(), read_definition(settings, text))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from omnikpi.audiences import (
    HOLDOUT,
    TREATED,
    AudienceDefinition,
    CampaignReadout,
    assign_holdout,
    campaign_outcomes,
    load_definition,
    profile_means,
    read_out,
    segment_mix,
    select_customers,
)
from omnikpi.auth import Action, AppStateStore, check_allowed
from omnikpi.auth.audit import Actor
from omnikpi.errors import ConfigError, InvalidChoice
from omnikpi.ingest.pseudonyms import email_key, phone_key, pseudonym
from omnikpi.model.audiences import AUDIENCE_MEMBERS, AUDIENCE_TABLES, AUDIENCES
from omnikpi.services.audience_store import (
    AudienceInfo,
    audience_version,
    audience_versions,
    check_built,
    definition_data,
    info_from_row,
    member_table,
    profile_table,
    rule_choices,
    same_definition,
    stored_definition,
    write_members,
)
from omnikpi.services.audit import customer_level
from omnikpi.services.export import write_csv
from omnikpi.services.suppression import sees_customers
from omnikpi.services.warehouse import read_warehouse, write_warehouse
from omnikpi.settings import Settings

__all__ = [
    "EXPORT_KINDS",
    "AudienceBuild",
    "AudienceExport",
    "AudienceInfo",
    "AudiencePreview",
    "AudienceProfile",
    "audience_profile",
    "build_audience",
    "campaign_readout",
    "definition_data",
    "export_audience",
    "list_audiences",
    "preview_audience",
    "read_definition",
    "rule_choices",
    "save_audience",
    "show_audience",
]

#: What an export holds: customer ids, or SHA-256 of e-mail/phone for ad platforms.
EXPORT_KINDS = ("ids", "hashed")
_GROUPS = (TREATED, HOLDOUT)


@dataclass(frozen=True)
class AudiencePreview:
    """How many customers a rule selects as of a day (consent of its channel required)."""

    size: int
    as_of: date
    channel: str


@dataclass(frozen=True)
class AudienceBuild:
    """A build's target list: its sizes and the day described."""

    audience_id: str
    version: int
    as_of: date
    treated: int
    holdout: int


@dataclass(frozen=True)
class AudienceExport:
    """An exported list: CSV text, rows in it, and members it could not give (hashed
    export: members the contact list has no e-mail or phone for)."""

    csv: str
    rows: int
    members: int
    unmatched: int


@dataclass(frozen=True)
class AudienceProfile:
    """An audience in aggregate per group: size and means of the customer 360 (`means`),
    customers per segment (`segments`); `withheld` cells of fewer than `minimum`
    customers were withheld (None when the reader sees every value)."""

    audience_id: str
    version: int
    as_of: date
    means: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    minimum: int | None
    withheld: int


# -- definitions ---------------------------------------------------------------------------
def read_definition(settings: Settings, text: str) -> AudienceDefinition:
    """An audience definition from YAML or JSON text, its segments checked."""
    return load_definition(text, rule_choices(settings))


def preview_audience(
    settings: Settings, actor: Actor, definition: AudienceDefinition, *, as_of: date | None = None
) -> AudiencePreview:
    """How many customers `definition` selects as of `as_of` (the live size preview)."""
    check_allowed(actor.role, Action.MANAGE_AUDIENCES, actor.scopes)
    with read_warehouse(settings) as warehouse:
        day, profiles = profile_table(warehouse, settings, as_of)
        selected = select_customers(definition.rule, definition.channel, profiles, warehouse, day)
        size = int(warehouse.ibis.execute(selected.count()))
    return AudiencePreview(size, day, definition.channel)


def save_audience(
    settings: Settings,
    actor: Actor,
    definition: AudienceDefinition,
    *,
    now: datetime | None = None,
) -> AudienceInfo:
    """Save `definition` as the next version of its audience (the id comes from its name),
    or return the latest version unchanged when it is the same definition."""
    check_allowed(actor.role, Action.MANAGE_AUDIENCES, actor.scopes)
    audience_id = definition.audience_id
    with write_warehouse(settings) as warehouse:
        warehouse.create_tables(AUDIENCE_TABLES)
        versions = audience_versions(warehouse, audience_id)
        if versions and same_definition(versions[-1], definition):
            return info_from_row(versions[-1], len(versions))
        row = {
            "audience_id": audience_id,
            "version": len(versions) + 1,
            "name": definition.name,
            "description": definition.description,
            "definition": definition.rule_json(),
            "channel": definition.channel,
            "holdout_fraction": definition.holdout_fraction,
            "seed": definition.seed,
            "stratify_by": definition.stratify_by,
            "created_by": actor.username,
            "created_at": now or datetime.now(UTC),
            "as_of": None,
            "built_by": None,
            "built_at": None,
            "treated": None,
            "holdout": None,
        }
        arrow = pa.Table.from_pylist([row], schema=AUDIENCES.arrow_schema())
        warehouse.append(AUDIENCES.name, arrow, AUDIENCES)
    return info_from_row(row, len(versions) + 1)


def list_audiences(settings: Settings, actor: Actor) -> list[AudienceInfo]:
    """The latest version of every saved audience, by id."""
    check_allowed(actor.role, Action.MANAGE_AUDIENCES, actor.scopes)
    with read_warehouse(settings) as warehouse:
        if not warehouse.has_table(AUDIENCES.name):
            return []
        frame = warehouse.fetch_frame(f'SELECT * FROM "{AUDIENCES.name}" ORDER BY 1, 2')
    infos: list[AudienceInfo] = []
    for _, rows in frame.groupby("audience_id", sort=True):
        infos.append(info_from_row({str(k): v for k, v in rows.iloc[-1].items()}, len(rows)))
    return infos


def show_audience(
    settings: Settings, actor: Actor, audience_id: str, version: int | None = None
) -> AudienceInfo:
    """One version of an audience (default: its latest); NotFound names what exists."""
    check_allowed(actor.role, Action.MANAGE_AUDIENCES, actor.scopes)
    with read_warehouse(settings) as warehouse:
        return audience_version(warehouse, audience_id, version)


# -- target lists --------------------------------------------------------------------------
def build_audience(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    audience_id: str,
    *,
    version: int | None = None,
    as_of: date | None = None,
    replace: bool = False,
    now: datetime | None = None,
) -> AudienceBuild:
    """Select the audience's customers as of `as_of`, draw its holdout and store the list
    (customer-level, audited). A version built before is rebuilt only with `replace`: its
    list may have been sent, and its readout compares that list."""
    moment = now or datetime.now(UTC)
    with customer_level(
        store, actor, Action.VIEW_CUSTOMER_LEVEL, f"audience {audience_id}", detail="built"
    ) as access:
        with write_warehouse(settings) as warehouse:
            info = audience_version(warehouse, audience_id, version)
            if info.built_at is not None and not replace:
                raise ConfigError(
                    f'audience "{audience_id}" version {info.version} was built on '
                    f"{info.built_at:%Y-%m-%d} as of {info.as_of}; its list may have been "
                    "sent: rebuild it with --replace, or save a new version"
                )
            definition = stored_definition(settings, info)
            day, profiles = profile_table(warehouse, settings, as_of)
            strata = (definition.stratify_by,) if definition.stratify_by else ()
            chosen = select_customers(
                definition.rule, definition.channel, profiles, warehouse, day, keep=strata
            )
            members = assign_holdout(
                warehouse.execute(chosen),
                definition.holdout_fraction,
                definition.seed,
                definition.stratify_by,
            )
            write_members(warehouse, info, members, day, actor, moment)
        access.rows(len(members))
    counts = members["group"].value_counts()
    return AudienceBuild(
        audience_id,
        info.version,
        day,
        int(counts.get(TREATED, 0)),
        int(counts.get(HOLDOUT, 0)),
    )


def export_audience(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    audience_id: str,
    *,
    purpose: str | None,
    version: int | None = None,
    group: str = TREATED,
    kind: str = "ids",
    emails: Iterable[tuple[str, str]] = (),
    phones: Iterable[tuple[str, str]] = (),
    hash_key: str | None = None,
) -> AudienceExport:
    """A built audience's `group` list as CSV (customer-level, audited with its purpose
    and row count): `ids` gives customer_id; `hashed` gives SHA-256 of the normalised
    e-mail and phone (what ad platforms match on) for the members a contact list names.

    The warehouse keeps e-mail and phone only as keyed hashes (pseudonyms), from which no
    platform hash can be derived: `emails` and `phones` are (contact, value) pairs from
    the CRM's contact list, matched to members through the load's keyed hash (`hash_key`,
    OMNIKPI_PSEUDONYM_KEY) and hashed in memory; nothing in clear is stored."""
    if group not in _GROUPS:
        raise InvalidChoice("group", group, ", ".join(_GROUPS))
    if kind not in EXPORT_KINDS:
        raise InvalidChoice("kind", kind, ", ".join(EXPORT_KINDS))
    subject = f"audience {audience_id} {group} ({kind})"
    with customer_level(
        store, actor, Action.EXPORT_CUSTOMER_LEVEL, subject, purpose=purpose, detail="exported"
    ) as access:
        with read_warehouse(settings) as warehouse:
            info = audience_version(warehouse, audience_id, version)
            check_built(info)
            members = warehouse.fetch_frame(
                "SELECT m.customer_id, c.email_hash, c.phone_hash "
                f'FROM "{AUDIENCE_MEMBERS.name}" m LEFT JOIN customers c USING (customer_id) '
                'WHERE m.audience_id = ? AND m.version = ? AND m."group" = ? ORDER BY 1',
                [audience_id, info.version, group],
            )
        if kind == "ids":
            rows = [{"customer_id": c} for c in members["customer_id"]]
            export = AudienceExport(write_csv(("customer_id",), rows), len(rows), len(rows), 0)
        else:
            export = _hashed(members, list(emails), list(phones), hash_key)
        access.rows(export.rows)
    return export


def _hashed(
    members: pd.DataFrame,
    emails: list[tuple[str, str]],
    phones: list[tuple[str, str]],
    hash_key: str | None,
) -> AudienceExport:
    if not emails and not phones:
        raise ConfigError(
            "a hashed export needs the CRM's contact list (--contacts FILE with an email "
            "and/or phone column): the warehouse stores e-mail and phone only as keyed "
            "hashes, from which the plain SHA-256 ad platforms match on cannot be derived"
        )
    if not hash_key:
        raise ConfigError(
            "a hashed export matches the contact list through the loads' pseudonym key: set "
            "OMNIKPI_PSEUDONYM_KEY to the key the loads use"
        )
    by_email = _platform_hashes(emails, email_key, hash_key)
    by_phone = _platform_hashes(phones, phone_key, hash_key)
    rows = []
    for email_hash, phone_hash in zip(members["email_hash"], members["phone_hash"], strict=True):
        email = by_email.get(email_hash) if isinstance(email_hash, str) else None
        phone = by_phone.get(phone_hash) if isinstance(phone_hash, str) else None
        if email or phone:
            rows.append({"email_sha256": email, "phone_sha256": phone})
    csv = write_csv(("email_sha256", "phone_sha256"), rows)
    return AudienceExport(csv, len(rows), len(members), len(members) - len(rows))


def _platform_hashes(
    contacts: list[tuple[str, str]], normalise: Any, hash_key: str
) -> dict[str, str]:
    """Keyed hash (as the warehouse stores it) → SHA-256 of the normalised value."""
    found: dict[str, str] = {}
    for _, value in contacts:
        clean = normalise(value) if value else None
        if clean:
            found[pseudonym(clean, hash_key)] = hashlib.sha256(clean.encode()).hexdigest()
    return found


# -- aggregates ----------------------------------------------------------------------------
def audience_profile(
    settings: Settings, actor: Actor, audience_id: str, version: int | None = None
) -> AudienceProfile:
    """A built audience in aggregate as of the day it was built: per group, customers and
    the means of CLV, P(alive), orders, revenue, AOV and days since the last order; per
    group and segment, customers. Below analysts, a segment cell of fewer than
    `min_cell_customers` is withheld (with the next smallest of its group when it would
    otherwise follow from the group's size), and a group that small shows no means."""
    check_allowed(actor.role, Action.VIEW_AUDIENCE_RESULTS, actor.scopes)
    with read_warehouse(settings) as warehouse:
        info = audience_version(warehouse, audience_id, version)
        check_built(info)
        assert info.as_of is not None
        _, profiles = profile_table(warehouse, settings, info.as_of)
        members = member_table(warehouse, info)
        means = warehouse.execute(profile_means(members, profiles))
        mix = warehouse.execute(segment_mix(members, profiles))
    mix = mix.sort_values(["group", "customers", "segment"], ascending=[True, False, True])
    mean_rows = [_plain(r) for r in means.sort_values("group").to_dict("records")]
    segment_rows = [_plain(r) for r in mix.to_dict("records")]
    if sees_customers(actor.role):
        return AudienceProfile(
            audience_id, info.version, info.as_of, mean_rows, segment_rows, None, 0
        )
    minimum = settings.min_cell_customers
    withheld = 0
    for row in mean_rows:
        if row["customers"] < minimum:
            withheld += 1
            row.update({k: None for k in row if k.startswith("mean_")}, customers=None)
    for group in _GROUPS:
        cells = [r for r in segment_rows if r["group"] == group]
        small = [r for r in cells if r["customers"] < minimum]
        if len(small) == 1 and len(cells) > 1:  # the group's size would give it back
            small.append(min((r for r in cells if r not in small), key=lambda r: r["customers"]))
        for row in small:
            row["customers"] = None
            withheld += 1
    return AudienceProfile(
        audience_id, info.version, info.as_of, mean_rows, segment_rows, minimum, withheld
    )


def campaign_readout(
    settings: Settings,
    actor: Actor,
    audience_id: str,
    *,
    start: date,
    end: date,
    version: int | None = None,
    cost: float | None = None,
    alpha: float = 0.05,
) -> CampaignReadout:
    """Treated against holdout of a built audience over the campaign's local days
    `start`..`end`: conversion, revenue and orders per customer with their lifts, the
    incremental revenue and, with `cost`, the ROI (`omnikpi.audiences.readout`)."""
    check_allowed(actor.role, Action.VIEW_AUDIENCE_RESULTS, actor.scopes)
    with read_warehouse(settings) as warehouse:
        info = audience_version(warehouse, audience_id, version)
        check_built(info)
        outcomes = campaign_outcomes(
            member_table(warehouse, info),
            warehouse.table("orders"),
            start,
            end,
            warehouse.time_zone,
        )
        frame = warehouse.execute(outcomes)
    return read_out(frame, cost=cost, alpha=alpha)


def _plain(row: dict[Any, Any]) -> dict[str, Any]:
    """A frame's row with numpy scalars as Python values and NaN as None."""
    plain: dict[str, Any] = {}
    for key, item in row.items():
        if item is None or (isinstance(item, float) and pd.isna(item)):
            plain[str(key)] = None
        elif hasattr(item, "item"):
            plain[str(key)] = item.item()
        else:
            plain[str(key)] = item
    return plain
