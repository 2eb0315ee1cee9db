"""Business-unit requests and the pages' build with a holdout, through the service layer on
a copy of the tiny retailer (ten customers besides the prospect G): who may file, follow
and attach; what a business unit sees of the attached audience (aggregates, small cells
withheld, no rows); a changed holdout builds a new version with its own seed."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, Role, UserRole, create_user
from omnikpi.auth.audit import Actor
from omnikpi.auth.permissions import ActionDenied, UnitDenied
from omnikpi.errors import ConfigError, NotFound
from omnikpi.services.audience_pages import build_with_holdout
from omnikpi.services.audience_requests import (
    WITHHELD_READOUT,
    attach_audience,
    file_request,
    get_request,
    list_requests,
    request_view,
)
from omnikpi.services.audiences import audience_profile, read_definition, save_audience
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

NOW = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
ANALYST = Actor("ana", UserRole(Role.ANALYST), None)
LEAD = Actor("lee", UserRole(Role.TEAM_LEAD), None)
FASHION = Actor("fay", UserRole(Role.BU_USER), None)
BEAUTY = Actor("bea", UserRole(Role.BU_USER), None)
NO_UNIT = Actor("nou", UserRole(Role.BU_USER), None)
EVERYONE = """
name: Summer thank-you
channel: none
rule: {not: {segment: prospect}}
holdout: {fraction: 0.4, seed: 11}
"""


@pytest.fixture
def settings(tiny_path: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "tiny.duckdb"
    shutil.copy(tiny_path, path)
    return Settings(warehouse=path, min_cell_customers=3)


@pytest.fixture
def store(tmp_path: Path) -> AppStateStore:
    store = AppStateStore.open(tmp_path / "state.sqlite")
    for actor, unit in ((FASHION, "Fashion"), (BEAUTY, "Beauty"), (NO_UNIT, None), (ANALYST, None)):
        create_user(
            store, actor.username, "a long enough password", actor.role,
            business_unit=unit, check_strength=False, now=NOW,
        )  # fmt: skip
    return store


def test_a_business_unit_files_and_follows_its_own_requests_only(store: AppStateStore) -> None:
    filed = file_request(
        store, FASHION, goal=" Win  back ", idea="Lapsed buyers", desired_size=500, now=NOW
    )
    assert (filed.business_unit, filed.goal, filed.status, filed.desired_size) == (
        "Fashion", "Win back", "open", 500,
    )  # fmt: skip
    beauty = file_request(store, BEAUTY, goal="Launch", idea="Skincare fans", now=NOW)
    assert [r.request_id for r in list_requests(store, FASHION)] == [filed.request_id]
    assert [r.request_id for r in list_requests(store, ANALYST)] == [
        beauty.request_id,
        filed.request_id,
    ]
    with pytest.raises(UnitDenied):
        get_request(store, BEAUTY, filed.request_id)
    with pytest.raises(ActionDenied):
        list_requests(store, LEAD)
    with pytest.raises(ConfigError, match="no business unit"):
        file_request(store, NO_UNIT, goal="x", idea="y")
    with pytest.raises(ConfigError, match="needs a goal"):
        file_request(store, FASHION, goal="  ", idea="y")
    with pytest.raises(ConfigError, match="desired size"):
        file_request(store, FASHION, goal="x", idea="y", desired_size=10**30)
    with pytest.raises(NotFound):
        get_request(store, ANALYST, 10**30)


def test_an_attached_audience_is_seen_in_aggregate_with_small_cells_withheld(
    settings: Settings, store: AppStateStore
) -> None:
    filed = file_request(store, FASHION, goal="Thank you", idea="Everyone", now=NOW)
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE), now=NOW)
    with pytest.raises(ConfigError, match="has not been built"):
        attach_audience(settings, store, ANALYST, filed.request_id, "summer-thank-you")
    build_with_holdout(
        settings, store, ANALYST, "summer-thank-you", version=None,
        fraction=0.4, seed=11, stratify_by=None,
    )  # fmt: skip
    with pytest.raises(ActionDenied):
        attach_audience(settings, store, FASHION, filed.request_id, "summer-thank-you")
    attached = attach_audience(
        settings, store, ANALYST, filed.request_id, "summer-thank-you",
        campaign_start=date(2025, 6, 1), campaign_end=date(2025, 6, 30), now=NOW,
    )  # fmt: skip
    assert (attached.status, attached.audience_version, attached.attached_by) == (
        "attached", 1, "ana",
    )  # fmt: skip
    view = request_view(settings, store, FASHION, filed.request_id)
    assert view.profile is not None
    # six treated and four held out (0.4 of ten): shown; segment cells under 3 withheld
    assert {r["group"]: r["customers"] for r in view.profile.means} == {
        "holdout": 4,
        "treated": 6,
    }
    assert view.profile == audience_profile(settings, FASHION, "summer-thank-you")
    assert view.profile.withheld > 0
    assert all(r["customers"] is None or r["customers"] >= 3 for r in view.profile.segments)
    assert "customer_id" not in repr(view)
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        members = [
            str(r[0]) for r in warehouse.fetch_rows("SELECT customer_id FROM audience_members")
        ]
    assert len(members) == 10
    assert not [m for m in members if f"'{m}'" in repr(view)]
    # the analyst sees every cell; another unit nothing
    assert request_view(settings, store, ANALYST, filed.request_id).profile.withheld == 0  # type: ignore[union-attr]
    with pytest.raises(UnitDenied):
        request_view(settings, store, BEAUTY, filed.request_id)


def test_a_readout_is_withheld_from_a_business_unit_while_a_group_is_small(
    settings: Settings, store: AppStateStore
) -> None:
    filed = file_request(store, FASHION, goal="Thank you", idea="Everyone", now=NOW)
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE.replace("0.4", "0.2")))
    build_with_holdout(
        settings, store, ANALYST, "summer-thank-you", version=None,
        fraction=0.2, seed=11, stratify_by=None,
    )  # fmt: skip
    attach_audience(
        settings, store, ANALYST, filed.request_id, "summer-thank-you",
        campaign_start=date(2025, 6, 1), campaign_end=date(2025, 6, 30),
    )  # fmt: skip
    view = request_view(settings, store, FASHION, filed.request_id)
    assert (view.readout, view.readout_error) == (None, WITHHELD_READOUT)  # two held out < 3


def test_a_changed_holdout_is_built_as_a_new_version_with_its_seed(
    settings: Settings, store: AppStateStore
) -> None:
    save_audience(settings, ANALYST, read_definition(settings, EVERYONE), now=NOW)
    same = build_with_holdout(
        settings, store, ANALYST, "summer-thank-you", version=1,
        fraction=0.4, seed=11, stratify_by=None,
    )  # fmt: skip
    assert (same.version, same.treated, same.holdout) == (1, 6, 4)
    changed = build_with_holdout(
        settings, store, ANALYST, "summer-thank-you", version=1,
        fraction=0.3, seed=5, stratify_by="segment",
    )  # fmt: skip
    assert changed.version == 2
    assert changed.treated + changed.holdout == 10
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        row = warehouse.fetch_row(
            "SELECT holdout_fraction, seed, stratify_by FROM audiences WHERE version = 2"
        )
    assert row == (0.3, 5, "segment")
    with pytest.raises(ConfigError, match="rebuild it"):
        build_with_holdout(
            settings, store, ANALYST, "summer-thank-you", version=2,
            fraction=0.3, seed=5, stratify_by="segment",
        )  # fmt: skip
