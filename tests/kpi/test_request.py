"""Reading a KPI request as a person typed it: one function per part, one message per
mistake, the same for the CLI, the API, the pages and `omnikpi.kpi.query`."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Grain
from omnikpi.kpi.request import KpiRequest, parse_filters, parse_ids


def test_a_request_reads_every_part() -> None:
    request = KpiRequest.parse(
        " revenue, aov ", "week", "2025-03-03", "2025-03-30",
        by=["channel"], filters=["store=S001", "channel=web", "channel=app"], compare="yoy",
    )  # fmt: skip
    assert request == KpiRequest(
        kpis=("revenue", "aov"),
        grain=Grain.WEEK,
        start=date(2025, 3, 3),
        end=date(2025, 3, 30),
        by=("channel",),
        filters=(("channel", ("web", "app")), ("store", ("S001",))),
        compare="yoy",
    )
    assert request.filter_map == {"channel": ["web", "app"], "store": ["S001"]}


def test_a_request_written_as_a_query_reads_back_the_same() -> None:
    request = KpiRequest.parse(
        "nps", "month", "2025-01-01", "2025-06-30", by=["channel", "store"],
        filters=["region=Seoul"], compare="previous",
    )  # fmt: skip
    pairs = request.query()
    assert ("filter", "region=Seoul") in pairs
    again = KpiRequest.parse(
        "nps",
        dict(pairs)["grain"],
        dict(pairs)["start"],
        dict(pairs)["end"],
        by=[v for k, v in pairs if k == "by"],
        filters=[v for k, v in pairs if k == "filter"],
        compare=dict(pairs)["compare"],
    )
    assert again == request


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"kpis": "revenue,,nps"}, 'KPI list "revenue,,nps" is not valid'),
        ({"kpis": ""}, 'KPI list "" is not valid'),
        ({"grain": "hourly"}, 'grain "hourly" is not valid (allowed: day, week, month'),
        ({"start": "2025-02-30"}, 'start "2025-02-30" is not valid (allowed: YYYY-MM-DD)'),
        ({"end": "9999-12-31"}, 'end "9999-12-31" is not valid (allowed: a day from 1900-01-01'),
        ({"start": "0001-01-01"}, "(allowed: a day from 1900-01-01 to 2999-12-31)"),
        ({"start": "1899-12-31"}, 'start "1899-12-31" is not valid (allowed: a day from'),
        ({"end": "3000-01-01"}, 'end "3000-01-01" is not valid (allowed: a day from'),
        ({"start": "2025-04-01"}, 'end "2025-03-31" is not valid (allowed: ≥ start 2025-04-01)'),
        # at most 3,660 days: 2025-03-31 minus 3,659 days
        ({"start": "2015-01-01"}, 'start "2015-01-01" is not valid (allowed: ≥ 2015-03-25)'),
        ({"compare": "lastyear"}, 'compare "lastyear" is not valid (allowed: none, previous, yoy'),
        ({"by": ["channel", "channel"]}, 'by "channel,channel" is not valid'),
        ({"filters": ["channel"]}, 'filter "channel" is not valid (allowed: DIM=VALUE'),
        ({"filters": ["=web"]}, 'filter "=web" is not valid'),
    ],
)
def test_each_mistake_names_the_part_and_what_would_work(
    parts: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "kpis": "revenue",
        "grain": "month",
        "start": "2025-03-01",
        "end": "2025-03-31",
    }
    arguments.update(parts)
    by = arguments.pop("by", ())
    filters = arguments.pop("filters", ())
    compare = arguments.pop("compare", None)
    with pytest.raises(InvalidChoice) as info:
        KpiRequest.parse(*arguments.values(), by=by, filters=filters, compare=compare)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_the_first_and_last_allowed_days_are_requests_like_any_other() -> None:
    first = KpiRequest.parse("revenue", "year", "1900-01-01", "1900-12-31", compare="yoy")
    last = KpiRequest.parse("revenue", "day", date(2999, 12, 1), date(2999, 12, 31))
    assert (first.start, last.end) == (date(1900, 1, 1), date(2999, 12, 31))
    with pytest.raises(InvalidChoice, match='end "3000-01-01" is not valid'):
        KpiRequest.parse("revenue", "day", date(2999, 12, 31), date(3000, 1, 1))


def test_no_comparison_has_three_spellings() -> None:
    for spelling in (None, "", "none"):
        assert (
            KpiRequest.parse("visits", "day", "2025-03-01", "2025-03-01", compare=spelling).compare
            is None
        )


def test_filters_from_a_mapping_and_from_text_are_the_same() -> None:
    assert parse_filters({"channel": ["web"], "store": "S001"}) == parse_filters(
        ["store=S001", "channel=web", "channel=web"]
    )
    assert parse_ids(["revenue", " aov"]) == ("revenue", "aov")
