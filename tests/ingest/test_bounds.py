"""Dates, times and years have bounds; values beyond them (or beyond a number type) are
quarantined with the range and the fix, and never reach the warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from omnikpi.errors import ConfigError
from omnikpi.ingest import ingest_files, parse_mapping
from omnikpi.ingest.bounds import Bounds, column_bounds, resolve_limit
from omnikpi.kpi import load_catalog
from omnikpi.kpi.engine import KpiQuery
from omnikpi.services import ingest as ingest_service
from omnikpi.services.rollups import rebuild_rollups
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.ingest.conftest import NOW, options, rows, value, write
from tests.ingest.test_validate import messages

TODAY = NOW.date()  # 2026-01-15: the loads' clock
ORDERS = {
    "name": "shop",
    "currency": "KRW",
    "dates": {"format": "%Y-%m-%d %H:%M", "time_zone": "Asia/Seoul"},
    "tables": {
        "orders": {
            "columns": {
                "order_id": "id",
                "channel": {"value": "web"},
                "placed_at": "placed",
                "status": {"value": "completed"},
                "status_changed_at": "placed",
                "fulfilment": {"value": "delivery"},
                "gross_amount": "amount",
                "discount_amount": {"value": 0},
                "net_amount": "amount",
                "shipping_amount": {"value": 0},
                "tax_amount": {"value": 0},
                "total_amount": "amount",
            }
        }
    },
}


def test_facts_reach_back_to_1970_reference_tables_to_1900_and_a_year_ahead() -> None:
    assert column_bounds("orders", "placed_at", TODAY) == Bounds(
        date(1970, 1, 1), date(2027, 1, 15)
    )
    assert column_bounds("shipments", "promised_date", TODAY).latest == date(2027, 1, 15)
    assert column_bounds("stores", "opened_on", TODAY).earliest == date(1900, 1, 1)
    birth = column_bounds("customers", "birth_year", TODAY)
    assert (birth.describe(), birth.contains(1899), birth.contains(2026)) == (
        "1900 … 2026",
        False,
        True,
    )
    # a timestamp is inside by its UTC date
    bounds = column_bounds("events", "occurred_at", TODAY)
    assert bounds.contains(datetime(1970, 1, 1, 0, 0, tzinfo=UTC))
    assert not bounds.contains(datetime(2027, 1, 16, 0, 0, tzinfo=UTC))


def test_limits_are_dates_years_or_today_give_or_take() -> None:
    leap = date(2024, 2, 29)
    assert resolve_limit("today + 1 year", leap) == date(2025, 2, 28)
    assert resolve_limit("today - 30 days", leap) == date(2024, 1, 30)
    assert resolve_limit("today", leap) == leap
    assert resolve_limit("2000-01-01", leap) == date(2000, 1, 1)
    assert resolve_limit(date(1850, 6, 1), leap) == date(1850, 6, 1)
    assert resolve_limit(1880, leap, "year") == date(1880, 1, 1)
    with pytest.raises(ConfigError, match=r'"next week" is not a date limit \(write YYYY-MM-DD'):
        resolve_limit("next week", leap)
    with pytest.raises(ConfigError, match="1880 is not a date"):
        resolve_limit(1880, leap)
    with pytest.raises(ConfigError, match=r"earliest is after latest \(2030-01-01 … 2027-01-15\)"):
        column_bounds("orders", "placed_at", TODAY, earliest="2030-01-01")


def test_a_year_1_row_and_a_9999_row_are_quarantined_and_later_loads_still_refresh(
    settings: Settings, tmp_path: Path
) -> None:
    """Regression: an order dated year 1 was loaded, and from then on every rollup refresh
    failed (`year 0 is out of range`: 0001-01-01 in Seoul is a BC instant in UTC), so
    dashboards kept the numbers from before."""
    mapping = tmp_path / "shop.yaml"
    mapping.write_text(yaml.safe_dump(ORDERS), encoding="utf-8")
    first = write(
        tmp_path / "orders-1.csv",
        "id,placed,amount\n"
        "1,2025-11-02 10:00,100\n"
        "2,0001-01-01 00:00,200\n"
        "3,9999-12-31 23:59,300\n"
        "4,1500-03-01 10:00,400\n"
        "5,2025-11-03 10:00,500\n",
    )
    loaded = ingest_service.ingest_files(settings, mapping, [first], options(max_error_rate=1.0))
    assert loaded.summary.tables["orders"].inserted == 2
    assert messages(loaded.summary) == [
        'orders-1.csv row 2: column "placed" value "0001-01-01 00:00" stands for no date '
        "(year 1 or 9999), but orders.placed_at is required",
        'orders-1.csv row 3: column "placed" value "9999-12-31 23:59" stands for no date '
        "(year 1 or 9999), but orders.placed_at is required",
        'orders-1.csv row 4: column "placed" value "1500-03-01 10:00" is outside 1970-01-01 … '
        "2027-01-15, the range of orders.placed_at (set earliest: or latest: under "
        "tables.orders.columns.placed_at in the mapping to change it)",
    ]
    catalog = load_catalog()
    rebuild_rollups(settings, catalog)
    # a later load refreshes the rollups it changed, and the KPI read from them has it
    later = write(tmp_path / "orders-2.csv", "id,placed,amount\n6,2025-11-20 10:00,5000000\n")
    result = ingest_service.ingest_files(settings, mapping, [later], options())
    assert result.rollups is not None
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        assert warehouse.changed_tables() == {}  # nothing left stale
        engine = KpiQuery(catalog, warehouse)
        november = engine.run(["orders"], "month", "2025-11-01", "2025-11-30")
    assert november["value"].tolist() == [3]
    assert value(settings, "SELECT min(placed_at) > TIMESTAMPTZ '1970-01-01' FROM orders")


def test_values_beyond_the_bounds_are_quarantined_with_the_range_and_the_fix(
    settings: Settings, tmp_path: Path
) -> None:
    document = {
        "dates": {"time_zone": "Asia/Seoul"},  # ISO dates, whatever their year
        "tables": {
            "stores": {
                "columns": {
                    "store_id": "id",
                    "name": "name",
                    "kind": {"value": "store"},
                    "region": {"value": "Seoul"},
                    "city": {"value": "Jung-gu"},
                    "latitude": {"value": 37.56},
                    "longitude": {"value": 126.98},
                    "opened_on": "opened",
                    "closed_on": "closed",
                    "time_zone": {"value": "Asia/Seoul"},
                }
            }
        },
    }
    path = write(
        tmp_path / "stores.csv",
        "id,name,opened,closed\n"
        "S1,Myeongdong,1955-04-01,\n"  # older than 1970: stores tell their own history
        "S2,Gangnam,1899-12-31,\n"  # before 1900
        "S3,Jamsil,2010-05-01,2030-12-31\n"  # closing more than a year ahead
        "S4,Hongdae,2012-05-01,294247-01-01\n",  # a date no engine could turn into Python
    )
    summary = ingest_files(
        settings, parse_mapping(document, "stores.yaml"), [path], options(max_error_rate=1.0)
    )
    assert rows(settings, "SELECT store_id, opened_on FROM stores") == [("S1", date(1955, 4, 1))]
    fix = "in the mapping to change it)"
    assert messages(summary) == [
        'stores.csv row 2: column "opened" value "1899-12-31" is outside 1900-01-01 … '
        "2027-01-15, the range of stores.opened_on (set earliest: or latest: under "
        f"tables.stores.columns.opened_on {fix}",
        'stores.csv row 3: column "closed" value "2030-12-31" is outside 1900-01-01 … '
        "2027-01-15, the range of stores.closed_on (set earliest: or latest: under "
        f"tables.stores.columns.closed_on {fix}",
        'stores.csv row 4: column "closed" value "294247-01-01" is outside 1900-01-01 … '
        "2027-01-15, the range of stores.closed_on (set earliest: or latest: under "
        f"tables.stores.columns.closed_on {fix}",
    ]


def test_earliest_and_latest_in_the_mapping_change_a_columns_bounds(
    settings: Settings, tmp_path: Path
) -> None:
    document = yaml.safe_load(yaml.safe_dump(ORDERS))
    columns = document["tables"]["orders"]["columns"]
    columns["placed_at"] = {"column": "placed", "earliest": date(1960, 1, 1)}
    columns["status_changed_at"] = {"column": "placed", "earliest": "1960-01-01"}
    path = write(
        tmp_path / "orders.csv",
        "id,placed,amount\n1,1965-06-01 10:00,100\n2,1959-12-31 10:00,200\n",
    )
    summary = ingest_files(
        settings, parse_mapping(document, "shop.yaml"), [path], options(max_error_rate=1.0)
    )
    assert rows(settings, "SELECT order_id FROM orders") == [("1",)]
    assert [p.reason for p in summary.problems] == [
        "is outside 1960-01-01 … 2027-01-15, the range of orders.placed_at (set earliest: or "
        "latest: under tables.orders.columns.placed_at in the mapping to change it)"
    ]


def test_birth_years_have_bounds_too(settings: Settings, tmp_path: Path) -> None:
    document = {
        "dates": {"format": "%Y-%m-%d", "time_zone": "Asia/Seoul"},
        "tables": {
            "customers": {
                "columns": {
                    "customer_id": "id",
                    "created_at": "joined",
                    "birth_year": "born",
                    "acquisition_channel": {"value": "web"},
                    "gender": {"value": "unknown"},
                    "is_member": {"value": False},
                    "is_business": {"value": False},
                }
            }
        },
    }
    path = write(
        tmp_path / "customers.csv",
        "id,joined,born\nC1,2020-01-01,1984\nC2,2020-01-01,1850\nC3,2020-01-01,2031\n",
    )
    summary = ingest_files(
        settings, parse_mapping(document, "crm.yaml"), [path], options(max_error_rate=1.0)
    )
    assert rows(settings, "SELECT customer_id, birth_year FROM customers") == [("C1", 1984)]
    assert [(p.row_number, p.value, p.reason.split(",")[0]) for p in summary.problems] == [
        (2, "1850", "is outside 1900 … 2026"),
        (3, "2031", "is outside 1900 … 2026"),
    ]


def test_numbers_beyond_their_type_nan_and_infinity_are_quarantined(
    settings: Settings, tmp_path: Path
) -> None:
    """A number a column cannot hold fails its row, never the load: beyond DECIMAL(18,2)
    or BIGINT, NaN and infinity (which convert to DOUBLE, and no KPI could add up), an
    amount in minor units that overflows once divided, an epoch beyond any date."""
    document = yaml.safe_load(yaml.safe_dump(ORDERS))
    columns = document["tables"]["orders"]["columns"]
    columns["placed_at"] = {"column": "placed", "format": "epoch_s"}
    columns["status_changed_at"] = {"column": "placed", "format": "epoch_s"}
    columns["shipping_amount"] = {"column": "shipping_cents", "divide_by": 0.001}
    path = write(
        tmp_path / "orders.csv",
        "id,placed,amount,shipping_cents\n"
        "1,1764000000,100.50,0\n"  # good (2025-11-24)
        "2,1764000000,99999999999999999999,0\n"  # beyond DECIMAL(18,2)
        "3,1764000000,NaN,0\n"
        "4,1764000000,-Infinity,0\n"
        "5,1764000000,10,1e300\n"  # 1e303 once divided
        "6,1e20,10,0\n"  # an epoch 3 trillion years ahead
        "7,1764000000,12 KRW,0\n",  # not a number at all
    )
    summary = ingest_files(
        settings, parse_mapping(document, "shop.yaml"), [path], options(max_error_rate=1.0)
    )
    assert rows(settings, "SELECT order_id, net_amount FROM orders") == [("1", 100.5)]
    reasons = {p.row_number: (p.column, p.reason) for p in summary.problems}
    beyond = "is beyond the amounts up to 9,999,999,999,999,999.99 (DECIMAL(18,2))"
    assert reasons == {
        2: ("amount", beyond),
        3: ("amount", "is not a finite number (NaN or infinity)"),
        4: ("amount", "is not a finite number (NaN or infinity)"),
        5: ("shipping_cents", reasons[5][1]),
        6: ("placed", "is not a Unix time in s"),
        7: ("amount", reasons[7][1]),
    }
    assert reasons[7][1].startswith("is not an amount")


def test_floats_must_be_finite(settings: Settings, tmp_path: Path) -> None:
    document = {
        "tables": {
            "stores": {
                "columns": {
                    "store_id": "id",
                    "name": {"value": "a store"},
                    "kind": {"value": "store"},
                    "region": {"value": "Seoul"},
                    "city": {"value": "Jung-gu"},
                    "latitude": "lat",
                    "longitude": "lon",
                    "opened_on": "opened",
                    "time_zone": {"value": "Asia/Seoul"},
                }
            }
        },
    }
    path = write(
        tmp_path / "stores.csv",
        "id,lat,lon,opened\nS1,37.56,126.98,2001-01-01\nS2,nan,126.98,2001-01-01\n"
        "S3,37.5,inf,2001-01-01\nS4,37.5,1e400,2001-01-01\n",
    )
    summary = ingest_files(
        settings, parse_mapping(document, "stores.yaml"), [path], options(max_error_rate=1.0)
    )
    assert rows(settings, "SELECT store_id FROM stores") == [("S1",)]
    finite = "is not a finite number (finite numbers only)"
    assert [(p.row_number, p.column, p.reason) for p in summary.problems] == [
        (2, "lat", finite),
        (3, "lon", finite),
        (4, "lon", finite),
    ]
