"""One request, one answer: `omnikpi kpi query`, `GET /api/v1/kpis/{id}/series` and the KPI
CSV download give the same rows — or the same error — for the same request."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from omnikpi.auth import UserRole, parse_role
from tests.conftest import run_cli

ANALYST = parse_role("analyst")


@dataclass(frozen=True)
class Ask:
    """A request as a person types it."""

    kpi: str
    grain: str = "month"
    start: str = "2025-01-01"
    end: str = "2025-06-30"
    by: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    compare: str | None = None
    #: For errors: the HTTP status the API answers with (None: the request is valid).
    status: int | None = None
    #: Words the error must contain (the same text on every interface).
    error: str = ""

    def cli(self) -> list[str]:
        args = ["kpi", "query", self.kpi, "--grain", self.grain]
        args += ["--start", self.start, "--end", self.end]
        args += [x for d in self.by for x in ("--by", d)]
        args += [x for f in self.filters for x in ("--filter", f)]
        args += ["--compare", self.compare] if self.compare else []
        return [*args, "--format", "csv"]

    def query(self) -> str:
        pairs = [("grain", self.grain), ("start", self.start), ("end", self.end)]
        pairs += [("by", d) for d in self.by] + [("filter", f) for f in self.filters]
        pairs += [("compare", self.compare)] if self.compare else []
        return urlencode(pairs)


VALID = [
    Ask("revenue"),
    Ask("revenue", compare="yoy", by=("channel",)),
    Ask("revenue", grain="year", start="2024-01-01", end="2025-12-31", compare="yoy"),
    Ask("revenue", filters=("channel=web", "channel=app")),
    Ask("revenue", filters=("store=S001",), compare="previous"),
    Ask("conversion_rate", grain="week", start="2025-10-06", end="2025-12-28", compare="previous"),
    Ask("conversion_rate", by=("traffic_source",), filters=("member=member",)),
    Ask("aov", grain="day", start="2025-12-01", end="2025-12-14", filters=("channel=web",)),
    Ask("orders", grain="quarter", start="2025-01-01", end="2025-12-31", by=("store",)),
    Ask("payment_type_share", grain="quarter", start="2025-01-01", end="2025-12-31",
        compare="previous"),
    Ask("nps", compare="previous"),
    Ask("complaint_ratio", filters=("region=Seoul",), compare="yoy"),
    Ask("market_share"),
    Ask("clv"),
    Ask("visits", grain="day", start="2025-12-01", end="2025-12-03", by=("hour",)),
    Ask("visits", grain="week", start="2025-11-03", end="2025-11-30", by=("channel", "device")),
    Ask("backlog", grain="day", start="2025-12-20", end="2025-12-31"),
]  # fmt: skip
ERRORS = [
    Ask("revnue", status=404, error='unknown KPI "revnue" (did you mean revenue'),
    Ask("revenue,,nps", status=400, error='KPI list "revenue,,nps" is not valid'),
    Ask("revenue", grain="fortnight", status=400, error='grain "fortnight" is not valid'),
    Ask("revenue", start="2025-02-30", status=400, error='start "2025-02-30" is not valid'),
    Ask("revenue", start="2025-07-01", status=400, error='end "2025-06-30" is not valid'),
    Ask("revenue", compare="lastyear", status=400, error='compare "lastyear" is not valid'),
    Ask("revenue", by=("fax",), status=400, error='dimension "fax" is not allowed'),
    Ask("revenue", by=("channel", "channel"), status=400, error='by "channel,channel" is not'),
    Ask("revenue", filters=("channel",), status=400, error='filter "channel" is not valid'),
    Ask("revenue", filters=("channel=nosuch",), status=422, error='channel "nosuch" does not'),
    Ask("revenue", filters=("store=S999",), status=422, error='store "S999" does not exist'),
    Ask("revenue", filters=("region=Atlantis",), status=422, error='region "Atlantis" does not'),
    Ask("market_share", grain="week", status=400, error="reported at month grain or coarser"),
    Ask("complaint_ratio", filters=("channel=web",), status=400,
        error='dimension "channel" is not allowed for KPI "complaint_ratio"'),
    Ask("revenue", start="2010-01-01", end="2025-12-31", status=400, error='start "2010-01-01"'),
    Ask("revenue", end="9999-12-31", status=400,
        error='end "9999-12-31" is not valid (allowed: a day from 1900-01-01 to 2999-12-31)'),
    Ask("revenue", start="0001-01-01", status=400, error='start "0001-01-01" is not valid'),
    Ask("revenue", by=("channel", "store", "member", "region"), status=400,
        error="by asks for 4 dimensions (channel, store, member, region), more than the limit "
              "of 3 (OMNIKPI_MAX_BY)"),
    Ask("revenue", grain="day", start="2016-01-02", end="2025-12-31",
        by=("channel", "store", "product"), status=400,
        error="more than the limit of 1,000,000 (OMNIKPI_MAX_CELLS): ask for a coarser grain"),
]  # fmt: skip


def test_the_table_has_thirty_requests_and_more() -> None:
    assert len(VALID) + len(ERRORS) >= 30


def _cli(ask: Ask, warehouse: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_cli(*ask.cli(), "--warehouse", str(warehouse))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


@pytest.mark.parametrize("ask", VALID, ids=lambda a: f"{a.kpi}-{a.grain}-{a.query()}")
def test_a_valid_request_gives_the_same_rows_everywhere(
    ask: Ask,
    kpi_clients: dict[UserRole, TestClient],
    targets_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _cli(ask, targets_path, capsys)
    assert code == 0, err
    client = kpi_clients[ANALYST]
    download = client.get(f"/kpis/{ask.kpi}/csv?{ask.query()}")
    assert download.status_code == 200, download.text
    assert download.text.replace("\r\n", "\n") == out.replace("\r\n", "\n")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows, "every request in the table has periods"
    api = client.get(f"/api/v1/kpis/{ask.kpi}/series?{ask.query()}")
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["columns"] == list(rows[0])
    assert len(body["rows"]) == len(rows)
    for row, record in zip(body["rows"], rows, strict=True):
        cells = {**row, **row["dimensions"]}
        for column in body["columns"]:
            value = cells.get(column, ask.kpi if column == "kpi" else None)
            expected = record[column]
            if isinstance(value, float):
                assert value == pytest.approx(float(expected)), column
            else:
                assert ("" if value is None else str(value)) == expected, column


@pytest.mark.parametrize("ask", ERRORS, ids=lambda a: a.error)
def test_a_bad_request_gives_the_same_error_everywhere(
    ask: Ask,
    kpi_clients: dict[UserRole, TestClient],
    targets_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _cli(ask, targets_path, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("Error: ")
    message = err.removeprefix("Error: ")
    assert ask.error in message
    client = kpi_clients[ANALYST]
    kpi = ask.kpi
    api = client.get(f"/api/v1/kpis/{kpi}/series?{ask.query()}")
    assert api.status_code == ask.status
    assert api.json()["note"] == message
    page = client.get(f"/kpis/{kpi}/csv?{ask.query()}")
    assert page.status_code == ask.status
    assert message in unescape(page.text)
