"""Dashboards people can trust, used in Debian's chromium as each role would (issue 19): a
drill-down keeps the view and leads back, a period cut short is marked and paced, a
breakdown lists what moved the total first, the stage board counts and sorts its statuses,
a row says once why it has no status, the dashboard downloads as it is shown, and a tour
of every role's pages in both languages at both widths leaves its screenshots for people.

Every test records each request the browser makes and fails if one leaves 127.0.0.1.
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import calendar
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Locator, Page, expect

from omnikpi.auth import UserRole, parse_role
from omnikpi.i18n import LocaleFormat, messages, t
from omnikpi.kpi import Grain, load_catalog, query
from omnikpi.kpi.targets import status
from omnikpi.services import default_range, share_dimension
from omnikpi.services.contribution import Segment, contributions
from omnikpi.settings import Settings, load_settings
from omnikpi.web import create_app
from omnikpi.web.labels import Labels
from tests.conftest import SIM_END
from tests.web.browser import PHONE, OpenPage, assert_fits, shoot, sign_in, switch_language
from tests.web.conftest import fixed_now, serving, worker_store

pytestmark = pytest.mark.browser

CATALOG = load_catalog()
ENGLISH = LocaleFormat("en", "KRW", "Asia/Seoul")
LABELS = Labels("en", CATALOG)
#: The store the filter tests choose (the flagship: every store KPI has data there).
STORE = "S001"
#: A store whose last week has rates over fewer than 30 units yet enough customers to show
#: to a lead (S001's small rates are all withheld as small cells).
SMALL_BASE_STORE = "S012"
#: The stage board's default period: the newest complete week of the simulation.
WEEK_START, WEEK_END = default_range(Grain.WEEK, SIM_END, 1)
#: Statuses worst first, as "Off target first" lists them (the neutral badges share a rank).
STATUS_RANK = {"red": 0, "amber": 1, "green": 2, "unrated": 3, "none": 3}
RATED = ("red", "amber", "green")
#: The view form's fields, by the message key of their label.
VIEW_FIELDS = (
    "view.grain", "view_periods.label", "view.start", "view.end", "view.compare",
    "view.channel", "view.store", "view.region", "view.member",
)  # fmt: skip
#: A minimum base above every store's weekly base, for the served app's environment.
RAISED_MIN_BASE = 1000


def en(key: str, **params: object) -> str:
    """The English message `key` (what the page shows)."""
    return t(key, "en", **params)


@pytest.fixture
def base_url(request: pytest.FixtureRequest) -> str:
    """The server the test's pages open: the simulated retailer with its demo targets, or
    (parametrized indirectly) the server fixture named by the test."""
    return str(request.getfixturevalue(getattr(request, "param", "live_server")))


@pytest.fixture(scope="module", autouse=True)
def warm_pages(signed_in_clients: dict[UserRole, TestClient]) -> None:
    """Compute each dashboard's default view once, so the browser never waits on a cold
    cache for its first page."""
    for role, url in [
        ("executive", "/scorecard"),
        ("team_lead", "/stages"),
        ("member:cs_agent", "/my-kpis"),
    ]:
        assert signed_in_clients[parse_role(role)].get(url).status_code == 200


@pytest.fixture(scope="module")
def raised_base_server(sim_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served as `OMNIKPI_MIN_BASE=1000 omnikpi serve` would run it."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("OMNIKPI_MIN_BASE", str(RAISED_MIN_BASE))
        settings = load_settings(warehouse=sim_path)
    app = create_app(settings, store=worker_store(tmp_path_factory), now=fixed_now)
    with serving(app) as url:
        yield url


# -- reading the pages ------------------------------------------------------------------
def view_fields(page: Page) -> dict[str, str]:
    """What the view form says: each field's value, by its label's message key."""
    return {key: page.get_by_label(en(key), exact=True).input_value() for key in VIEW_FIELDS}


def choose_view(page: Page, choices: dict[str, str]) -> None:
    """Choose values in the view form (label message key: option value) and apply them."""
    for key, value in choices.items():
        page.get_by_label(en(key), exact=True).select_option(value)
    page.get_by_role("button", name=en("view.apply")).click()
    for value in choices.values():
        page.wait_for_url(re.compile(rf"=\b{re.escape(value)}(&|$)"))


def menu_link(page: Page, key: str) -> Locator:
    """The main menu's entry `nav.<key>`."""
    menu = page.get_by_role("navigation", name=en("nav.label"))
    return menu.get_by_role("link", name=en(f"nav.{key}"), exact=True)


def row_statuses(rows: Locator) -> list[str]:
    """The status badge of each row (`none` for a row without one, such as a share)."""
    found: list[str] = rows.evaluate_all(
        """rows => rows.map((row) => {
          const badge = row.querySelector(":scope > td .rag");
          if (!badge) return "none";
          return [...badge.classList].find((name) => name.startsWith("rag--")).slice(5);
        })"""
    )
    return found


def row_ids(rows: Locator) -> list[str]:
    found: list[str] = rows.evaluate_all("rows => rows.map((row) => row.dataset.kpi)")
    return found


def message_pattern(key: str, name: str) -> re.Pattern[str]:
    """The English message `key` with its `{name}` placeholder as a number group."""
    marker = "\x00"
    return re.compile(re.escape(en(key, **{name: marker})).replace(marker, r"([\d,.]+)"))


def number_in(text: str) -> float:
    """The number in a formatted value (₩59,533,870 → 59533870; -2.5 pp → -2.5)."""
    return float(re.sub(r"[^\d.\-]", "", text.replace("−", "-")))


# -- 1. a drill-down keeps the view -----------------------------------------------------
@dataclass(frozen=True)
class Drill:
    """A dashboard a KPI's detail is opened from, by its user, in a view they chose."""

    user: str
    origin: str  # the dashboard's menu key
    path: str
    kpi: str
    choices: dict[str, str] = field(default_factory=dict)

    @property
    def compare(self) -> str:
        return self.choices["view.compare"]

    @property
    def grain(self) -> str:
        return self.choices["view.grain"]


DRILLS = [
    Drill(
        "executive", "scorecard", "/scorecard", "revenue",
        {"view.grain": "month", "view.channel": "app", "view.compare": "yoy"},
    ),
    Drill(
        "member_cs_agent", "my_kpis", "/my-kpis", "service_tickets",
        {"view.grain": "day", "view.store": STORE, "view.compare": "previous"},
    ),
    Drill(
        "lead", "stages", "/stages", "orders",
        {"view.grain": "week", "view.store": STORE, "view.compare": "yoy"},
    ),
]  # fmt: skip


def dashboard_change(page: Page, drill: Drill) -> tuple[str, str | None]:
    """The KPI's change against the chosen comparison as the dashboard shows it, and (on
    cards) the period and value compared with ("Dec 2024: ₩17,319,350")."""
    label = en(f"kpi.compare.{drill.compare}.{drill.grain}")
    if drill.origin == "stages":
        cell = page.locator(f"#row-{drill.kpi}").locator(f'td[data-label="{label}"]')
        return cell.locator(".delta").inner_text(), None
    card = page.locator(f'article[data-kpi="{drill.kpi}"]')
    change = card.locator(".kpicard__change").filter(has_text=label)
    return change.locator(".delta").inner_text(), change.locator(".kpicard__before").inner_text()


@pytest.mark.parametrize("drill", DRILLS, ids=[d.origin for d in DRILLS])
def test_a_drill_down_keeps_the_view_and_leads_back(open_page: OpenPage, drill: Drill) -> None:
    page = open_page(drill.path)
    sign_in(page, drill.user)
    choose_view(page, drill.choices)
    view = view_fields(page)
    assert {key: view[key] for key in drill.choices} == drill.choices
    period = page.locator(".periodbar__period").inner_text()
    change, compared = dashboard_change(page, drill)
    name = CATALOG.get(drill.kpi).name.en
    page.locator(f'[data-kpi="{drill.kpi}"]').get_by_role("link", name=name, exact=True).click()

    page.wait_for_url(re.compile(rf"/kpis/{drill.kpi}\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    assert view_fields(page) == view  # grain, period, filters and comparison
    expect(page.locator("#latest-title")).to_contain_text(period)  # the card's period
    latest = page.locator("section", has=page.locator("#latest-title"))
    expect(latest).to_contain_text(en(f"kpi.compare.{drill.compare}.{drill.grain}"))
    expect(latest.locator(".delta").first).to_have_text(change)
    if compared is not None:
        expect(latest).to_contain_text(compared)
    expect(menu_link(page, drill.origin)).to_have_attribute("aria-current", "page")
    expect(menu_link(page, "kpis")).not_to_have_attribute("aria-current", "page")
    shoot(page, f"drill-{drill.origin}-detail-en-1280")

    page.locator(".kpihead__crumb").get_by_role("link", name=en(f"nav.{drill.origin}")).click()
    page.wait_for_url(re.compile(rf"{drill.path}\?"))
    expect(page.locator(".periodbar__period")).to_have_text(period)
    back = view_fields(page)
    # The breadcrumb returns to the dashboard as it compares by default (the detail shows
    # one comparison, the dashboard may show two): everything else is as it was.
    assert {k: v for k, v in back.items() if k != "view.compare"} == {
        k: v for k, v in view.items() if k != "view.compare"
    }
    expect(menu_link(page, drill.origin)).to_have_attribute("aria-current", "page")


# -- 2. a period cut short is marked and paced -------------------------------------------
def test_a_period_cut_short_is_marked_and_held_to_the_target_elapsed(open_page: OpenPage) -> None:
    end = date(2025, 11, 15)  # the middle of a month the simulation covers whole
    month_end = end.replace(day=calendar.monthrange(end.year, end.month)[1])
    page = open_page(f"/scorecard?end={end.isoformat()}")
    sign_in(page, "executive")
    expect(page.locator(".note--partial")).to_have_text(
        en("kpi.partial_period", elapsed=end.day, days=month_end.day)
    )
    paced = page.request.get(f"/api/v1/scorecard?end={end.isoformat()}").json()["kpis"]
    whole = page.request.get(f"/api/v1/scorecard?end={month_end.isoformat()}").json()["kpis"]
    full_target = {card["kpi"]: card["target"] for card in whole}
    tolerance = Settings().target_tolerance
    kinds: set[str] = set()
    for card in paced:
        kpi = CATALOG.get(card["kpi"])
        shown = page.locator(f'article[data-kpi="{kpi.id}"]')
        target = full_target[kpi.id]
        if card["share_of"] or target is None:
            continue
        kinds.add(kpi.pacing)
        if kpi.pacing == "none":  # a distinct count or formula: rated when complete
            assert card["status"] is None, kpi.id
            expect(shown.locator(".rag--red, .rag--amber, .rag--green")).to_have_count(0)
            continue
        elapsed = end.day / month_end.day if kpi.pacing == "prorate" else 1.0
        paced = target * elapsed
        if kpi.pacing == "prorate" and kpi.unit in ("count", "currency"):
            paced = round(paced)  # a paced count or amount stays whole
        assert card["target"] == pytest.approx(paced), kpi.id
        assert card["status"] == status(card["value"], card["target"], kpi.direction, tolerance)
        expect(shown.locator(".kpicard__target")).to_have_text(
            en("kpi.target_value", value=ENGLISH.value(card["target"], kpi.unit))
        )
        expect(shown.locator(f".kpicard__head .rag--{card['status']}")).to_have_count(1)
    assert kinds == {"prorate", "as_is", "none"}, "the scorecard should show each kind of pacing"
    shoot(page, "scorecard-partial-month-en-1280")

    # A view that names no dates shows the last complete period: nothing to mark.
    page.goto("/scorecard?grain=week")
    expect(page.locator(".periodbar__period")).to_have_text(ENGLISH.period(WEEK_START, "week"))
    expect(page.locator(".note--partial")).to_have_count(0)


# -- 3. a breakdown lists what moved the total first ------------------------------------
def breakdown_by(page: Page, dimension: str) -> None:
    """Choose the detail's breakdown by `dimension` and wait for it."""
    page.get_by_label(en("detail.breakdown_by")).select_option(dimension)
    page.get_by_role("button", name=en("detail.show"), exact=True).click()
    page.wait_for_url(re.compile(rf"by={dimension}"))
    expect(page.locator("#breakdown caption")).to_contain_text(LABELS.dimension(dimension))


def breakdown_rows(page: Page) -> list[dict[str, str]]:
    """The breakdown table's rows, each cell by its column's header."""
    table = page.locator("#breakdown table")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    return [
        dict(
            zip(headers, [c.strip() for c in row.locator("th, td").all_inner_texts()], strict=True)
        )
        for row in table.locator("tbody tr").all()
    ]


def test_a_breakdown_lists_first_what_moved_the_total_and_hours_in_order(
    open_page: OpenPage, sim_path: Path
) -> None:
    page = open_page("/kpis/revenue")
    sign_in(page, "analyst")
    breakdown_by(page, "channel")
    rows = breakdown_rows(page)
    previous = en("comparisons.previous")
    # Revenue adds up over channels: a channel's part of the change is its own change.
    changes = [number_in(r[en("breakdown.value")]) - number_in(r[previous]) for r in rows]
    assert len(changes) > 2
    assert changes == sorted(changes, key=abs, reverse=True)

    # A ratio: each channel's rate and mix effects (see omnikpi.services.contribution),
    # from the numerators and denominators of the month shown and the one before.
    page.goto("/kpis/conversion_rate")
    breakdown_by(page, "traffic_source")
    before_start, month_end = default_range(Grain.MONTH, SIM_END, 2)
    parts = query(
        "conversion_rate", "month", before_start, month_end, by=["traffic_source"], parts=True,
        warehouse=sim_path,
    )  # fmt: skip
    now, before = (
        {r["traffic_source"]: r for r in parts.to_dict("records") if r["period_start"] == start}
        for start in sorted(set(parts["period_start"]), reverse=True)
    )
    segments = [
        Segment(
            key,
            now.get(key, {}).get("numerator"),
            now.get(key, {}).get("denominator"),
            before.get(key, {}).get("numerator"),
            before.get(key, {}).get("denominator"),
        )
        for key in {*now, *before}
    ]
    expected = [LABELS.value("traffic_source", c.key) for c in contributions(segments)]
    shown = [r[LABELS.dimension("traffic_source")] for r in breakdown_rows(page)]
    assert shown == [name for name in expected if name in shown]
    assert len(shown) > 2
    shoot(page, "kpi-detail-contributions-en-1280")

    # An ordinal dimension keeps its natural order, whatever the values.
    breakdown_by(page, "hour")
    hours = CATALOG.dimensions["hour"].values or []
    shown = [r[LABELS.dimension("hour")] for r in breakdown_rows(page)]
    assert shown == [LABELS.value("hour", hour) for hour in hours]


# -- 4. the stage board counts its statuses and lists the worst first -------------------
def test_the_stage_headers_count_their_statuses_and_the_worst_come_first(
    open_page: OpenPage,
) -> None:
    page = open_page("/stages")
    sign_in(page, "lead")
    stages = page.locator("section.stage")
    expect(stages).to_have_count(6)
    in_catalog_order: dict[str, list[str]] = {}
    seen: set[str] = set()
    for stage in stages.all():
        rows = stage.locator("tr.kpitable__row")
        statuses = row_statuses(rows)
        for rated in RATED:
            count = statuses.count(rated)
            badge = stage.locator(f"h2 .ragcount--{rated}")
            if count:
                expect(badge).to_have_text(en(f"stageboard.rag_count.{rated}", count=count))
            else:
                expect(badge).to_have_count(0)
        in_catalog_order[str(stage.get_attribute("id"))] = row_ids(rows)
        seen |= set(statuses)
    assert set(RATED) <= seen, "the demo targets should give every status"

    page.get_by_role("link", name=en("stageboard.order.status")).click()
    page.wait_for_url(re.compile(r"[?&]order=status(&|$)"))
    expect(page.get_by_role("link", name=en("stageboard.order.status"))).to_have_attribute(
        "aria-current", "true"
    )
    for _ in range(2):  # as chosen, then as the address opens it again (a bookmark)
        for stage in stages.all():
            rows = stage.locator("tr.kpitable__row")
            status_of = dict(zip(row_ids(rows), row_statuses(rows), strict=True))
            catalog = in_catalog_order[str(stage.get_attribute("id"))]
            # worst first; the same status in catalog order (a stable sort)
            assert list(status_of) == sorted(catalog, key=lambda k: STATUS_RANK[status_of[k]])
        page.reload()
    shoot(page, "stages-worst-first-en-1280")


# -- 5. a row says once why it has no status --------------------------------------------
def test_a_store_filter_names_what_it_cannot_split_and_rates_no_small_base(
    open_page: OpenPage, sim_path: Path
) -> None:
    page = open_page("/stages")
    sign_in(page, "lead")
    choose_view(page, {"view.store": SMALL_BASE_STORE})
    unfiltered = en("kpi.unfiltered", filters=LABELS.dimensions(["store"]))
    for kpi_id in ("visits", "conversion_rate"):  # online: no store to split by
        row = page.locator(f"#row-{kpi_id}")
        expect(row.get_by_text(unfiltered)).to_have_count(1)
        expect(row.locator(".rag")).to_have_count(1)
        expect(row.locator(".rag--red, .rag--amber, .rag--green")).to_have_count(0)
    rows = page.locator("tr.kpitable__row")
    rated = page.locator("tr.kpitable__row:has(.rag--red, .rag--amber, .rag--green)")
    expect(rated.filter(has_text=unfiltered)).to_have_count(0)
    # Where the filter applies, the value is the store's, and it has its own status.
    orders = query("orders", "week", WEEK_START, WEEK_END, filters={"store": [SMALL_BASE_STORE]},
                   warehouse=sim_path)  # fmt: skip
    row = page.locator("#row-orders")
    expect(row.locator(".kpitable__value")).to_have_text(ENGLISH.value(orders["value"][0], "count"))
    expect(row.locator(".rag--red, .rag--amber, .rag--green")).to_have_count(1)

    # A rate over fewer units than the minimum (OMNIKPI_MIN_BASE, 30 by default) shows
    # its n and no status: the n is the engine's base of the store's week.
    too_few = message_pattern("kpi.small_base", "n")
    small = rows.filter(has_text=too_few).filter(has_not_text=unfiltered)
    ids = row_ids(small)
    assert ids, "a store's week should have rates over too few units"
    bases = query(ids, "week", WEEK_START, WEEK_END, filters={"store": [SMALL_BASE_STORE]},
                  warehouse=sim_path).set_index("kpi")["base"]  # fmt: skip
    for kpi_id in ids:
        row = page.locator(f"#row-{kpi_id}")
        assert bases[kpi_id] < Settings().min_base
        expect(row.locator(".note--base")).to_have_text(
            en("kpi.small_base", n=ENGLISH.value(bases[kpi_id], "count"))
        )
        expect(row.locator(".rag--red, .rag--amber, .rag--green")).to_have_count(0)
    shoot(page, "stages-store-filter-en-1280")


@pytest.mark.parametrize("base_url", ["raised_base_server"], indirect=True)
def test_a_raised_minimum_base_withholds_the_status_of_small_rates(open_page: OpenPage) -> None:
    page = open_page(f"/stages?store={STORE}")
    sign_in(page, "lead")
    rows = page.locator("tr.kpitable__row")
    expect(rows.first).to_be_visible()
    too_few = message_pattern("kpi.small_base", "n")
    notes = page.locator(".note--base").all_inner_texts()
    bases = [number_in(found.group(1)) for note in notes if (found := too_few.search(note))]
    assert len(bases) == len(notes) > 0
    assert all(base < RAISED_MIN_BASE for base in bases)
    # some of them are rated at the default minimum: the setting is what withholds them
    assert any(base >= Settings().min_base for base in bases)
    small = rows.filter(has=page.locator(".note--base"))
    expect(small.locator(".rag--red, .rag--amber, .rag--green")).to_have_count(0)
    # sums and counts have no base: they keep their status
    expect(
        page.locator("#row-orders .rag--red, #row-orders .rag--amber, #row-orders .rag--green")
    ).to_have_count(1)
    shoot(page, "stages-raised-min-base-en-1280")


# -- 6. the dashboard downloads as it is shown ------------------------------------------
def download(page: Page, link: str, folder: Path) -> Path:
    """Click the link called `link` and keep the file it downloads in `folder`."""
    with page.expect_download() as started:
        page.get_by_role("link", name=link, exact=True).click()
    saved = folder / started.value.suggested_filename
    started.value.save_as(saved)
    return saved


#: The view form's choices a dashboard's download repeats on each row.
VIEW_CHOICES = (
    "view.grain", "view.compare", "view.channel", "view.store", "view.region", "view.member",
)  # fmt: skip


def expect_shown(cell: Locator, text: str) -> None:
    """`cell` shows `text` as a download has it; a withheld value ("<10") also says why to
    screen readers, in text the download leaves out."""
    if text == "<10":
        expect(cell.locator("[data-suppressed]")).to_have_count(1)
        expect(cell).to_contain_text(text)
    else:
        expect(cell).to_have_text(text)


def test_the_stage_dashboard_downloads_as_it_is_shown_with_its_view(
    open_page: OpenPage, tmp_path: Path
) -> None:
    """The CSV as the page shows it (the workbook: tests/web/test_export.py)."""
    page = open_page("/stages")
    sign_in(page, "lead")
    choose_view(page, {"view.store": STORE})
    rows = page.locator("tr.kpitable__row")
    ids = row_ids(rows)
    shown = dict(zip(ids, row_statuses(rows), strict=True))
    chosen = {  # what the view form shows chosen
        key: page.get_by_label(en(key), exact=True).locator("option:checked").inner_text()
        for key in VIEW_CHOICES
    }

    saved = download(page, en("export.csv"), tmp_path)
    assert saved.suffix == ".csv"
    with saved.open(newline="", encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    kpi, part = en("export.columns.kpi"), en("export.columns.part")
    value = en("export.columns.value")
    assert list(dict.fromkeys(line[kpi] for line in lines)) == ids  # the page's order
    whole = [line for line in lines if not line[part]]
    shares = [line for line in lines if line[part]]
    assert [line[kpi] for line in whole] == [k for k in ids if not share_dimension(CATALOG.get(k))]
    waiting = row_ids(rows.filter(has=page.locator(".note--missing")))
    for line in whole:  # formatted as the page shows it; blank for a KPI without data yet
        if line[kpi] in waiting:
            assert line[value] == "", line
            continue
        expect_shown(page.locator(f"#row-{line[kpi]}").locator(".kpitable__value"), line[value])
        assert line[en("export.columns.status")] == en(f"rag.{shown[line[kpi]]}")
    for line in shares:
        named = page.get_by_text(line[part], exact=True)
        share = page.locator(f"#row-{line[kpi]} .shares__list li").filter(has=named)
        expect_shown(share.locator(".shares__value"), line[value])
    for key, name in chosen.items():  # the view on every row
        assert {line[en("export.view_column", name=en(key))] for line in lines} == {name.strip()}


# -- 7. a tour of every role's pages ----------------------------------------------------
#: The roles toured, by their demo login (tests/web/conftest.py LOGIN_BY_ROLE).
TOUR = ("executive", "lead", "analyst", "member_cs_agent", "bu_user", "admin")
LANGUAGES = {"en": "English", "ko": "한국어"}
#: Sizes and the languages toured at each: Korean at the phone width only, where its
#: text is likelier to overflow than at the desktop's (each page checked in both).
TOUR_SIZES = (
    ({"width": 1280, "height": 900}, "1280", ("en",)),
    (PHONE, "390", ("en", "ko")),
)
#: What a part of a page says until it has loaded.
LOADING = {lang: t("stageboard.loading", lang) for lang in LANGUAGES}
#: A message key shown as it is: a namespace of the catalog, a dot, the rest of a key.
NAMESPACES = sorted({key.split(".")[0] for key in messages("en")})
RAW_KEY = re.compile(rf"\b(?:{'|'.join(NAMESPACES)})\.[a-z_]+(?:\.[a-z_]+)*\b")


def scroll_through(page: Page) -> None:
    """Scroll to the bottom a screen at a time, each screen drawn, as a person reads."""
    page.evaluate(
        """async () => {
          const frame = () => new Promise((done) => requestAnimationFrame(done));
          const drawn = () => frame().then(frame);
          for (let y = 0; y < document.documentElement.scrollHeight; y += window.innerHeight) {
            window.scrollTo(0, y);
            await drawn();
          }
        }"""
    )
    page.wait_for_load_state("networkidle")


@pytest.mark.slow
@pytest.mark.parametrize("username", TOUR)
def test_a_tour_of_each_roles_pages_in_both_languages_at_both_widths(
    open_page: OpenPage, username: str
) -> None:
    for viewport, width, languages in TOUR_SIZES:
        page = open_page("/home", viewport=viewport)
        sign_in(page, username)
        menu = page.locator(f'nav[aria-label="{en("nav.label")}"] a')
        paths = menu.evaluate_all("links => links.map((link) => link.getAttribute('href'))")
        assert "/home" in paths
        headings: dict[str, str] = {}
        for lang in languages:
            switch_language(page, LANGUAGES[lang])
            for path in paths:
                response = page.goto(path)
                assert response is not None, path
                assert response.ok, f"{path}: {response.status}"
                # the page's own heading (the API docs add Swagger UI's title after it)
                heading = page.get_by_role("heading", level=1).first
                expect(heading).to_be_visible()
                scroll_through(page)
                expect(page.get_by_text(LOADING[lang]).filter(visible=True)).to_have_count(0)
                assert_fits(page)
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                raw = RAW_KEY.findall(page.locator("body").inner_text())
                assert not raw, f"{path} in {lang} shows message keys: {raw}"
                if lang == "en":
                    headings[path] = heading.inner_text()
                else:  # a Korean page is not an English one
                    expect(page.locator("html")).to_have_attribute("lang", "ko")
                    assert heading.inner_text() != headings[path], path
                page.evaluate("window.scrollTo(0, 0)")
                name = path.strip("/").replace("/", "-")
                shoot(page, f"{username}-{name}-{lang}-{width}")
        switch_language(page, LANGUAGES["en"])  # users keep their language between tests
