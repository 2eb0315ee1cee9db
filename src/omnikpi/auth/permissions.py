"""Who may do what: the permission table, in one place.

Each action (opening a page, calling an API endpoint, seeing customer-level data) lists
the roles allowed to do it. Routes declare the action they need; the route tests read
this table to know which status each role must get. Change access here, nowhere else.

Aggregates are open to every signed-in role; customer-level rows (customer ids, lists,
360 profiles, exports, ad-hoc queries) only to analysts and admins (DESIGN §6).

Which KPIs a role may read is one rule, `visible_kpi_ids`, that every route serving KPI
values asks (through `omnikpi.services.access`):

1. A KPI's tiers (`cxo`, `lead`, `member:<job>`) admit the roles whose `TIERS` include one
   of them.
2. A KPI without a tier admits `UNTAGGED_KPI_ROLES` (executive, team lead, analyst, admin:
   the roles that read the whole business) and, when it is a companion that other KPIs
   are computed from, every role those KPIs admit (ad spend: performance marketers, who
   read ROAS and CPC). A formula never widens a KPI that has tiers.
3. A KPI tagged with a member's own job (`member:merchandiser`) is chosen for that job,
   and so is everything it is computed from: the KPIs under it are admitted for that job
   whatever their tiers (cart abandonment is 1 - basket-to-order rate: a merchandiser
   given the one has the other). They are read, not listed: the job's dashboard shows
   its own tier only. Broad tiers (`cxo`, `lead`) never widen a KPI that has tiers.
4. A role reads a KPI only if it is admitted and reads every KPI it is computed from,
   down to the last one. Otherwise the value and a KPI it may see would give the hidden
   one back (gross profit and revenue give cogs; complaint ratio and orders give
   complaints), so it is hidden too.

What a role reads is therefore closed under the catalog's formulas: no visible KPI is
computed from a hidden one. docs/governance.md ("Who sees what") gives the reasoning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType

from omnikpi.auth.roles import Role, UserRole
from omnikpi.errors import ConfigError, PermissionDenied


class Action(StrEnum):
    """Something a user may be allowed to do; values are stable (API token scopes)."""

    VIEW_HOME = "view_home"
    VIEW_DATA_STATUS = "view_data_status"
    VIEW_API_DOCS = "view_api_docs"
    READ_PROFILE = "read_profile"
    # KPI pages
    VIEW_SCORECARD = "view_scorecard"
    VIEW_STAGE_DASHBOARD = "view_stage_dashboard"
    VIEW_MY_KPIS = "view_my_kpis"
    VIEW_KPI_DETAIL = "view_kpi_detail"
    EXPLORE_KPI_CATALOG = "explore_kpi_catalog"
    # The KPI API (catalog, series, scorecards); which KPIs follows TIERS
    READ_KPIS = "read_kpis"
    # customer analytics: aggregates (segments, cohorts) and customer-level data (DESIGN §6)
    VIEW_CUSTOMER_AGGREGATES = "view_customer_aggregates"
    VIEW_CUSTOMER_LEVEL = "view_customer_level"
    EXPORT_CUSTOMER_LEVEL = "export_customer_level"
    # marketing measurement: experiment readouts, conversion and brand lift (aggregates)
    VIEW_EXPERIMENTS = "view_experiments"
    # marketing: the RACE view by channel, attribution models side by side, journeys
    VIEW_MARKETING = "view_marketing"
    # audiences: save and preview rules (analysts); sizes, profiles and readouts (aggregates)
    MANAGE_AUDIENCES = "manage_audiences"
    VIEW_AUDIENCE_RESULTS = "view_audience_results"
    # business units ask analysts for audiences and follow their requests (aggregates only)
    REQUEST_AUDIENCES = "request_audiences"
    # the analysts' ad-hoc SQL workspace: read-only queries over the warehouse, audited
    RUN_ADHOC_SQL = "run_adhoc_sql"
    # administration
    MANAGE_USERS = "manage_users"
    FORGET_CUSTOMER = "forget_customer"
    ALLOW_RAW_IDENTIFIERS = "allow_raw_identifiers"
    VIEW_AUDIT_LOG = "view_audit_log"


class ActionDenied(PermissionDenied):
    """A role tried an action the permission table does not give it."""

    def __init__(self, role: UserRole, action: Action) -> None:
        super().__init__(
            f'role "{role}" may not {action.value.replace("_", " ")} '
            "(ask an admin to change your role if you need this)"
        )
        self.role = role
        self.action = action


_EVERYONE = frozenset(Role)
_CUSTOMER_LEVEL_ROLES = frozenset({Role.ANALYST, Role.ADMIN})

#: The permission table: action → roles allowed to do it.
PERMISSIONS: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.VIEW_HOME: _EVERYONE,
        Action.VIEW_DATA_STATUS: _EVERYONE,
        # The API documentation is for people who wire up tools and scripts.
        Action.VIEW_API_DOCS: frozenset({Role.ANALYST, Role.ADMIN}),
        Action.READ_PROFILE: _EVERYONE,
        Action.VIEW_SCORECARD: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.BU_USER, Role.ADMIN}
        ),
        Action.VIEW_STAGE_DASHBOARD: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.ADMIN}
        ),
        Action.VIEW_MY_KPIS: frozenset({Role.MEMBER}),
        Action.VIEW_KPI_DETAIL: _EVERYONE,
        Action.EXPLORE_KPI_CATALOG: _EVERYONE,
        Action.READ_KPIS: _EVERYONE,
        # Segment sizes, transitions and cohorts, small cells withheld below analysts:
        # for the roles that read the whole business.
        Action.VIEW_CUSTOMER_AGGREGATES: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.ADMIN}
        ),
        Action.VIEW_CUSTOMER_LEVEL: _CUSTOMER_LEVEL_ROLES,
        # Experiment and lift readouts are aggregates per variant, small groups withheld
        # below analysts: for the roles that read the whole business and the business
        # units' marketers, who read campaign readouts in aggregate (DESIGN §1). Members
        # read their own KPIs only.
        Action.VIEW_EXPERIMENTS: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.BU_USER, Role.ADMIN}
        ),
        # The RACE view, attribution and journeys are aggregates (path groups of few
        # journeys withheld below analysts): for the roles that read the whole business —
        # executives, team leads (the marketing leads), analysts, admins.
        Action.VIEW_MARKETING: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.ADMIN}
        ),
        # Saving and previewing audience rules is the analysts' work (a size preview of any
        # rule would count small groups); building, listing members and exporting them are
        # customer-level (VIEW_/EXPORT_CUSTOMER_LEVEL, audited).
        Action.MANAGE_AUDIENCES: _CUSTOMER_LEVEL_ROLES,
        # An audience's size, aggregate profile (small cells withheld below analysts) and
        # campaign readout: for the roles that read the whole business, and business-unit
        # users for the audiences attached to their own unit's requests (UNIT_SCOPED;
        # services.audience_requests checks the request before asking).
        Action.VIEW_AUDIENCE_RESULTS: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.BU_USER, Role.ADMIN}
        ),
        # Filing and following audience requests: business-unit users (their own unit's),
        # and the analysts and admins who answer them.
        Action.REQUEST_AUDIENCES: frozenset({Role.ANALYST, Role.BU_USER, Role.ADMIN}),
        Action.EXPORT_CUSTOMER_LEVEL: _CUSTOMER_LEVEL_ROLES,
        # Any SQL over the warehouse reads customer rows: analysts and admins (DESIGN §6).
        Action.RUN_ADHOC_SQL: _CUSTOMER_LEVEL_ROLES,
        Action.MANAGE_USERS: frozenset({Role.ADMIN}),
        Action.FORGET_CUSTOMER: frozenset({Role.ADMIN}),
        Action.ALLOW_RAW_IDENTIFIERS: frozenset({Role.ADMIN}),
        Action.VIEW_AUDIT_LOG: frozenset({Role.ADMIN}),
    }
)

#: Actions that reveal customer-level rows; a test keeps them to analysts and admins.
CUSTOMER_LEVEL_ACTIONS: frozenset[Action] = frozenset(
    {Action.VIEW_CUSTOMER_LEVEL, Action.EXPORT_CUSTOMER_LEVEL, Action.RUN_ADHOC_SQL}
)

#: KPI tiers each role may open. `member:*` is every member tier; `member:own` is the
#: tier of the user's own member role. KPIs without a tier: see `UNTAGGED_KPI_ROLES`.
TIERS: Mapping[Role, tuple[str, ...]] = MappingProxyType(
    {
        Role.ADMIN: ("cxo", "lead", "member:*"),
        Role.EXECUTIVE: ("cxo", "lead", "member:*"),
        Role.TEAM_LEAD: ("cxo", "lead", "member:*"),
        Role.ANALYST: ("cxo", "lead", "member:*"),
        Role.BU_USER: ("cxo", "lead"),
        Role.MEMBER: ("cxo", "member:own"),
    }
)

#: Roles that read a KPI without a tier (blended ROAS, gross profit, cogs): those that read
#: the whole business. Members and business-unit users read one only when a KPI of their
#: tiers is computed from it (see `visible_kpi_ids`).
UNTAGGED_KPI_ROLES: frozenset[Role] = frozenset(
    {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.ADMIN}
)


def is_allowed(role: UserRole, action: Action, scopes: frozenset[Action] | None = None) -> bool:
    """Whether `role` may do `action`; `scopes` further narrows an API token."""
    if scopes is not None and action not in scopes:
        return False
    return role.role in PERMISSIONS[action]


def check_allowed(role: UserRole, action: Action, scopes: frozenset[Action] | None = None) -> None:
    """Raise ActionDenied (a PermissionDenied) unless `role` may do `action`."""
    if not is_allowed(role, action, scopes):
        raise ActionDenied(role, action)


class UnitDenied(PermissionDenied):
    """A role the table keeps to its own business unit tried an action for another unit."""

    def __init__(self, role: UserRole, action: Action, own_unit: str | None, unit: str) -> None:
        super().__init__(
            f'role "{role}" of business unit "{own_unit or "none"}" may '
            f'{action.value.replace("_", " ")} only for its own unit, not for "{unit}" '
            "(ask an admin to move you to that unit if you need this)"
        )
        self.role = role
        self.action = action
        self.own_unit = own_unit
        self.unit = unit


#: Actions some roles may take only for their own business unit: action → those roles.
#: Other roles the table allows take the action for any unit. Data packages and audiences
#: add their actions here (DESIGN §6: a business unit analyses its own packages, nothing
#: beyond).
UNIT_SCOPED: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.REQUEST_AUDIENCES: frozenset({Role.BU_USER}),
        Action.VIEW_AUDIENCE_RESULTS: frozenset({Role.BU_USER}),
    }
)


def same_unit(own_unit: str | None, unit: str | None) -> bool:
    """Whether `unit` is the business unit `own_unit` (case-insensitive; none is no unit).

    >>> same_unit("Fashion", "fashion"), same_unit(None, None)
    (True, False)
    """
    return own_unit is not None and unit is not None and own_unit.casefold() == unit.casefold()


def is_allowed_for_unit(
    role: UserRole,
    own_unit: str | None,
    action: Action,
    unit: str,
    scopes: frozenset[Action] | None = None,
) -> bool:
    """Whether `role`, of business unit `own_unit`, may do `action` for something of `unit`:
    the table allows it, and UNIT_SCOPED does not keep the role to its own unit or `unit`
    is its own."""
    if not is_allowed(role, action, scopes):
        return False
    return role.role not in UNIT_SCOPED.get(action, frozenset()) or same_unit(own_unit, unit)


def check_allowed_for_unit(
    role: UserRole,
    own_unit: str | None,
    action: Action,
    unit: str,
    scopes: frozenset[Action] | None = None,
) -> None:
    """Raise ActionDenied, or UnitDenied for another unit, unless `is_allowed_for_unit`."""
    check_allowed(role, action, scopes)
    if not is_allowed_for_unit(role, own_unit, action, unit, scopes):
        raise UnitDenied(role, action, own_unit, unit)


def allowed_actions(role: UserRole) -> tuple[Action, ...]:
    """Every action `role` may do, in declaration order."""
    return tuple(action for action in Action if is_allowed(role, action))


def may_see_tier(role: UserRole, tier: str) -> bool:
    """Whether `role` may open KPIs of `tier` (`cxo`, `lead`, `member:cs_agent`, ...)."""
    for pattern in TIERS[role.role]:
        if pattern == tier:
            return True
        if pattern == "member:*" and tier.startswith("member:"):
            return True
        if pattern == "member:own" and role.member_role and tier == f"member:{role.member_role}":
            return True
    return False


def may_see_kpi(role: UserRole, tiers: Iterable[str]) -> bool:
    """Whether the tags `tiers` alone admit `role` (untagged: `UNTAGGED_KPI_ROLES`).

    The whole rule, with companions and formulas, is `visible_kpi_ids`.

    >>> may_see_kpi(UserRole(Role.BU_USER), ["lead"]), may_see_kpi(UserRole(Role.BU_USER), [])
    (True, False)
    """
    tags = tuple(tiers)
    if not tags:
        return role.role in UNTAGGED_KPI_ROLES
    return any(may_see_tier(role, tier) for tier in tags)


def visible_kpi_ids(
    role: UserRole,
    tiers: Mapping[str, Sequence[str]],
    inputs: Mapping[str, Iterable[str]],
) -> frozenset[str]:
    """The KPIs `role` may read, given each KPI's tiers and the KPIs it is computed from.

    A KPI is admitted by its tiers (untagged: by `UNTAGGED_KPI_ROLES` or by any KPI
    computed from it that admits the role; any: by a KPI of the role's own job computed
    from it) and read only if every KPI it is computed from is read too (the module
    docstring gives the reasons).

    >>> from omnikpi.auth.roles import parse_role
    >>> member = parse_role("member:cs_agent")
    >>> tiers = {"revenue": ["cxo"], "cogs": [], "gross_profit": [], "handled": ["member:cs_agent"],
    ...          "complaints": ["lead"], "complaint_ratio": ["cxo"]}
    >>> inputs = {"gross_profit": ["revenue", "cogs"], "complaint_ratio": ["complaints"]}
    >>> sorted(visible_kpi_ids(member, tiers, inputs))
    ['handled', 'revenue']
    """
    uses: dict[str, list[str]] = {kpi_id: [] for kpi_id in tiers}
    for kpi_id, used in inputs.items():
        for input_id in used:
            uses[input_id].append(kpi_id)
    own_job = f"member:{role.member_role}" if role.member_role else None
    admitted: dict[str, bool] = {}
    chosen: dict[str, bool] = {}
    readable: dict[str, bool] = {}

    def for_job(kpi_id: str) -> bool:  # upwards: tagged with the job, or under such a KPI
        if kpi_id not in chosen:
            chosen[kpi_id] = own_job in tiers[kpi_id] or any(for_job(user) for user in uses[kpi_id])
        return chosen[kpi_id]

    def admits(kpi_id: str) -> bool:  # upwards: a companion takes its users' tiers
        if kpi_id not in admitted:
            tags = tiers[kpi_id]
            admitted[kpi_id] = (
                may_see_kpi(role, tags)
                or (not tags and any(admits(user) for user in uses[kpi_id]))
                or (own_job is not None and for_job(kpi_id))
            )
        return admitted[kpi_id]

    def reads(kpi_id: str) -> bool:  # downwards: every input must be read too
        if kpi_id not in readable:
            readable[kpi_id] = admits(kpi_id) and all(
                reads(input_id) for input_id in inputs.get(kpi_id, ())
            )
        return readable[kpi_id]

    return frozenset(kpi_id for kpi_id in tiers if reads(kpi_id))


def parse_scopes(names: Iterable[str]) -> frozenset[Action]:
    """API token scopes from action names; a ConfigError names the choices."""
    scopes: set[Action] = set()
    for name in names:
        try:
            scopes.add(Action(name.strip()))
        except ValueError:
            choices = ", ".join(action.value for action in Action)
            raise ConfigError(f'"{name}" is not a token scope (choose from: {choices})') from None
    if not scopes:
        raise ConfigError("an API token needs at least one scope (e.g. --scope read_profile)")
    return frozenset(scopes)
