"""Audience tables: saved audience definitions (versioned) and the members each build
chose, with their treated/holdout group. Written by `services.audiences`, never loaded
from a source and not rebuilt after a load (a target list stays what was sent)."""

from __future__ import annotations

from omnikpi.model.schema import Column, Table

#: One row per saved version of an audience; a build fills as_of, built_at and the sizes.
AUDIENCES = Table(
    name="audiences",
    description=(
        "Saved audiences (omnikpi.audiences): one row per version of a rule set over the "
        "customer 360 with its channel and holdout settings; saving changed rules adds a "
        "version. A build records the date it described and the group sizes."
    ),
    primary_key=("audience_id", "version"),
    kind="derived",
    group="audiences",
    columns=(
        Column("audience_id", "string", "Audience id (from its name), e.g. winback-skincare."),
        Column("version", "int", "Version, 1 for the first save."),
        Column("name", "string", "Name as given."),
        Column("description", "string", "What the audience is for.", nullable=True),
        Column("definition", "string", "The rule (JSON, docs/audiences.md)."),
        Column("channel", "string", "Channel whose consent is required: email, sms, push, none."),
        Column("holdout_fraction", "float", "Share of each stratum held out (0-1)."),
        Column("seed", "int", "Seed of the holdout draw."),
        Column(
            "stratify_by", "string", "Profile column the holdout is drawn within.", nullable=True
        ),
        Column("created_by", "string", "Who saved the version."),
        Column("created_at", "timestamp", "When it was saved (UTC)."),
        Column("as_of", "date", "Local day the last build described.", nullable=True),
        Column("built_by", "string", "Who built it last.", nullable=True),
        Column("built_at", "timestamp", "When it was built last (UTC).", nullable=True),
        Column("treated", "int", "Treated customers of the last build.", nullable=True),
        Column("holdout", "int", "Held-out customers of the last build.", nullable=True),
    ),
)

#: The customers of each built audience version and their group.
AUDIENCE_MEMBERS = Table(
    name="audience_members",
    description=(
        "Members of each built audience version: customer, treated or holdout group and the "
        "stratum the holdout was drawn in; customer-level (analysts and admins, audited)."
    ),
    primary_key=("audience_id", "version", "customer_id"),
    kind="derived",
    group="audiences",
    columns=(
        Column("audience_id", "string", "Audience.", references="audiences.audience_id"),
        Column("version", "int", "Version."),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("group", "string", "treated or holdout."),
        Column("stratum", "string", "Value of the stratification column ('' without one)."),
    ),
)

AUDIENCE_TABLES = (AUDIENCES, AUDIENCE_MEMBERS)
