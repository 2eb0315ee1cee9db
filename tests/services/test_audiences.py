"""Audiences through the service layer on a copy of the tiny retailer (tests/customers/
tiny_retailer.py, data through 2025-06-30): versions, size preview, build with holdout,
audited exports, aggregate profile with small cells withheld, readout, and who may."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, Role, UserRole, app_state_path, audit_entries
from omnikpi.auth.audit import Actor, AuditEvent
from omnikpi.auth.permissions import ActionDenied
from omnikpi.errors import ConfigError, NotFound
from omnikpi.ingest.pseudonyms import pseudonym
from omnikpi.services.audience_store import forget_in_audiences
from omnikpi.services.audiences import (
    audience_profile,
    build_audience,
    campaign_readout,
    export_audience,
    list_audiences,
    preview_audience,
    read_definition,
    save_audience,
    show_audience,
)
from omnikpi.services.audit import PurposeRequired
from omnikpi.services.customers import refresh_customer_profiles
from omnikpi.services.forget import forget_customer
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import AS_OF, build_tiny_retailer

ANALYST = Actor("ana", UserRole(Role.ANALYST), "10.0.0.7")
LEAD = Actor("lee", UserRole(Role.TEAM_LEAD), "10.0.0.8")
MEMBER = Actor("mo", UserRole(Role.MEMBER, "merchandiser"), "10.0.0.9")
NOW = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
KEY = "test-key"
#: Everyone but the prospect G: ten customers; no consent asked (channel none).
EVERYONE = """
name: Summer thank-you
channel: none
rule: {not: {segment: prospect}}
holdout: {fraction: 0.4, seed: 11}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_tiny_retailer(tmp_path_factory.mktemp("audiences") / "tiny.duckdb")
    with Warehouse.open(path) as warehouse:
        refresh_customer_profiles(warehouse, Settings(warehouse=path), AS_OF)
        for customer, email in (("A", "a@example.com"), ("B", "b@example.com")):
            warehouse.run_sql(
                "UPDATE customers SET email_hash = ? WHERE customer_id = ?",
                [pseudonym(email, KEY), customer],
            )
    return path


@pytest.fixture
def settings(template: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "tiny.duckdb"
    shutil.copy(template, path)
    return Settings(warehouse=path, min_cell_customers=3)


@pytest.fixture
def store(settings: Settings) -> AppStateStore:
    return AppStateStore.open(app_state_path(settings.warehouse))


def test_saving_a_changed_rule_makes_a_new_version(settings: Settings) -> None:
    first = save_audience(settings, ANALYST, read_definition(settings, EVERYONE), now=NOW)
    assert (first.audience_id, first.version, first.created_by) == ("summer-thank-you", 1, "ana")
    again = save_audience(settings, ANALYST, read_definition(settings, EVERYONE))
    assert (again.version, again.versions) == (1, 1)  # the same definition: no new version
    changed = EVERYONE.replace("seed: 11", "seed: 12")
    second = save_audience(settings, ANALYST, read_definition(settings, changed))
    assert (second.version, second.seed) == (2, 12)
    [listed] = list_audiences(settings, ANALYST)
    assert (listed.version, listed.versions) == (2, 2)
    old = show_audience(settings, ANALYST, "summer-thank-you", 1)
    assert old.seed == 11
    assert old.definition == {"not": {"segment": ["prospect"]}}
    described = EVERYONE.replace("seed: 11", "seed: 11, stratify_by: segment") + (
        "description: Thanks for the summer\n"
    )
    third = save_audience(settings, ANALYST, read_definition(settings, described))
    assert (third.version, third.stratify_by, third.description) == (
        3,
        "segment",
        "Thanks for the summer",
    )
    assert save_audience(settings, ANALYST, read_definition(settings, described)).version == 3
    with pytest.raises(NotFound, match='no audience "nope" \\(saved: summer-thank-you'):
        show_audience(settings, ANALYST, "nope")


def test_preview_counts_the_rule_with_the_channel_s_consent(settings: Settings) -> None:
    bought = "name: Buyers\nchannel: none\nrule: {bought: {days: 90}}\n"  # A, B, C, D, I
    preview = preview_audience(settings, ANALYST, read_definition(settings, bought))
    assert (preview.size, preview.as_of) == (5, AS_OF)
    sms = read_definition(settings, bought.replace("channel: none", "channel: sms"))
    assert preview_audience(settings, ANALYST, sms).size == 1  # A alone consents to SMS
    earlier = preview_audience(settings, ANALYST, sms, as_of=date(2025, 5, 31))
    assert earlier.size == 1  # computed, not stored: A bought on 05-01


def test_build_draws_the_holdout_and_is_audited(settings: Settings, store: AppStateStore) -> None:
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE))
    built = build_audience(settings, store, ANALYST, "summer-thank-you", now=NOW)
    assert (built.treated, built.holdout, built.as_of) == (6, 4, AS_OF)  # 10 × 0.4 = 4
    [entry] = audit_entries(store)
    assert (entry.event, entry.row_count, entry.username) == (AuditEvent.CUSTOMER_READ, 10, "ana")
    with pytest.raises(ConfigError, match="--replace"):
        build_audience(settings, store, ANALYST, "summer-thank-you")
    treated = _ids(export_audience(settings, store, ANALYST, "summer-thank-you", purpose="p").csv)
    rebuilt = build_audience(settings, store, ANALYST, "summer-thank-you", replace=True)
    assert (rebuilt.treated, rebuilt.holdout) == (6, 4)
    again = _ids(export_audience(settings, store, ANALYST, "summer-thank-you", purpose="p").csv)
    assert again == treated  # the recorded seed draws the same groups
    info = show_audience(settings, ANALYST, "summer-thank-you")
    assert (info.treated, info.holdout, info.as_of) == (6, 4, AS_OF)


def _ids(csv: str) -> list[str]:
    lines = csv.strip().splitlines()
    assert lines[0] == "customer_id"
    return lines[1:]


def test_exports_need_a_purpose_and_are_audited(settings: Settings, store: AppStateStore) -> None:
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE))
    with pytest.raises(ConfigError, match="has not been built yet"):
        export_audience(settings, store, ANALYST, "summer-thank-you", purpose="crm")
    build_audience(settings, store, ANALYST, "summer-thank-you")
    with pytest.raises(PurposeRequired):
        export_audience(settings, store, ANALYST, "summer-thank-you", purpose=" ")
    export = export_audience(
        settings, store, ANALYST, "summer-thank-you", purpose="CRM summer send", group="holdout"
    )
    held = _ids(export.csv)
    assert export.rows == len(held) == 4
    assert not set(held) & {"G"}
    latest = audit_entries(store)[0]
    assert latest.event is AuditEvent.CUSTOMER_EXPORT
    assert (latest.purpose, latest.row_count) == ("CRM summer send", 4)
    assert latest.subject == "audience summer-thank-you holdout (ids)"


def test_hashed_exports_need_the_contact_list(settings: Settings, store: AppStateStore) -> None:
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE.replace("0.4", "0")))
    build_audience(settings, store, ANALYST, "summer-thank-you")
    with pytest.raises(ConfigError, match="only as keyed hashes"):
        export_audience(settings, store, ANALYST, "summer-thank-you", purpose="ads", kind="hashed")
    contacts = [("1", " A@Example.com "), ("2", "zed@example.com")]
    export = export_audience(
        settings,
        store,
        ANALYST,
        "summer-thank-you",
        purpose="lookalike seed for ads",
        kind="hashed",
        emails=contacts,
        hash_key=KEY,
    )
    # A matches through the keyed hash; B has a hash but is not in the contact list
    expected = hashlib.sha256(b"a@example.com").hexdigest()
    assert export.csv.strip().splitlines() == ["email_sha256,phone_sha256", f"{expected},"]
    assert (export.rows, export.members, export.unmatched) == (1, 10, 9)
    assert audit_entries(store)[0].row_count == 1


def test_the_profile_withholds_small_cells_below_analysts(
    settings: Settings, store: AppStateStore
) -> None:
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE))
    build_audience(settings, store, ANALYST, "summer-thank-you")
    full = audience_profile(settings, ANALYST, "summer-thank-you")
    assert full.minimum is None
    assert {r["group"]: r["customers"] for r in full.means} == {"holdout": 4, "treated": 6}
    # ten members: negative_experience A, I, K; new C, H; one each of the other five
    sizes: dict[str, int] = {}
    for row in full.segments:
        sizes[row["segment"]] = sizes.get(row["segment"], 0) + row["customers"]
    assert sizes == {
        "negative_experience": 3,
        "new": 2,
        "hero": 1,
        "active": 1,
        "cart_abandoner": 1,
        "lapsed": 1,
        "at_risk": 1,
    }
    shown = audience_profile(settings, LEAD, "summer-thank-you")
    assert shown.minimum == 3
    assert all(r["customers"] is None or r["customers"] >= 3 for r in shown.segments)
    assert shown.withheld == sum(r["customers"] is None for r in shown.segments) > 0
    for row in shown.means:
        assert row["customers"] >= 3  # 4 and 6: shown


def test_readout_compares_the_built_groups(settings: Settings, store: AppStateStore) -> None:
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE))
    build_audience(settings, store, ANALYST, "summer-thank-you")
    treated = set(
        _ids(export_audience(settings, store, ANALYST, "summer-thank-you", purpose="x").csv)
    )
    readout = campaign_readout(
        settings, LEAD, "summer-thank-you", start=date(2025, 6, 1), end=date(2025, 6, 30)
    )
    # June buyers: A 06-20, B 06-25, C 06-16 (I's order was cancelled)
    buyers = {"A", "B", "C"}
    assert (readout.treated, readout.holdout) == (6, 4)
    assert readout.conversion.treatment_rate == len(buyers & treated) / 6
    assert readout.conversion.control_rate == len(buyers - treated) / 4
    revenue = {"A": 30_000, "B": 50_000, "C": 15_000}
    held_revenue = sum(v for k, v in revenue.items() if k not in treated)
    assert readout.revenue_per_customer.control_mean == pytest.approx(held_revenue / 4)


def test_other_roles_are_refused(settings: Settings, store: AppStateStore) -> None:
    definition = read_definition(settings, EVERYONE)
    for actor in (LEAD, MEMBER):
        with pytest.raises(ActionDenied):
            save_audience(settings, actor, definition)
        with pytest.raises(ActionDenied):
            preview_audience(settings, actor, definition)
    save_audience(settings, ANALYST, definition)
    with pytest.raises(ActionDenied):
        build_audience(settings, store, LEAD, "summer-thank-you")
    build_audience(settings, store, ANALYST, "summer-thank-you")
    with pytest.raises(ActionDenied):
        export_audience(settings, store, LEAD, "summer-thank-you", purpose="mine")
    with pytest.raises(ActionDenied):
        audience_profile(settings, MEMBER, "summer-thank-you")
    with pytest.raises(ActionDenied):
        campaign_readout(
            settings, MEMBER, "summer-thank-you", start=date(2025, 6, 1), end=date(2025, 6, 30)
        )
    events = [e.event for e in audit_entries(store)]
    assert events.count(AuditEvent.ACCESS_DENIED) == 2  # the build and the export


def test_the_documented_example_reads(settings: Settings) -> None:
    """docs/audiences.md's example is a valid definition with the segment rules in effect."""
    text = (Path(__file__).parents[2] / "docs" / "audiences.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    definition = read_definition(settings, example)
    assert (definition.audience_id, definition.channel) == ("win-back-skincare", "email")
    assert preview_audience(settings, ANALYST, definition).size == 0  # no e-mail consent here


def test_a_forgotten_customer_leaves_the_lists(settings: Settings, store: AppStateStore) -> None:
    """Forgetting a customer (services.forget, which calls `forget_in_audiences` in its
    transaction) puts the tombstone in the customer's place in the built lists."""
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE))
    build_audience(settings, store, ANALYST, "summer-thank-you")
    admin = Actor("ada", UserRole(Role.ADMIN), "10.0.0.5")
    forgotten = forget_customer(settings, store, admin, "A", reason="erasure request")
    with Warehouse.open(settings.warehouse) as warehouse:
        assert forget_in_audiences(warehouse, "A", forgotten.tombstone) == 0  # already done
        ids = {r[0] for r in warehouse.fetch_rows("SELECT customer_id FROM audience_members")}
    assert "A" not in ids
    assert forgotten.tombstone in ids
    assert len(ids) == 10
