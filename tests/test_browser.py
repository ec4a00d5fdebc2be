"""The HTML pages in a real browser: headless Chromium loads the demo week's report, a case
timeline and the BPI Challenge 2013 replay's report; no console message, every chart draws
something, and screenshots are saved under build/ for the docs.

Without Chromium the tests skip with a reason, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalate import Desk, Report
from escalate.demo import run_demo, write_html_report
from escalate.testing.browser import (
    chart_svgs,
    find_chromium,
    render,
    svg_grid_page,
)

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
DATA = ROOT.parent / "shared" / "data"
INCIDENTS = DATA / "bpic2013-volvo-incidents" / "bpic2013_incidents.csv"
#: The chart colours (svg.PALETTE without black), as RGB.
COLOURS = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))
           for c in ("#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#56B4E9",
                     "#F0E442")]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        reason = ("headless Chromium is needed for the browser tests: install it with "
                  "`apt-get install -y chromium` (Debian) or put `chromium` on PATH")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def coloured_pixels(image: object, box: tuple[int, int, int, int]) -> int:
    """Pixels in `box` whose colour is one of the chart colours (within a small tolerance)."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    region = image.convert("RGB").crop(box)
    count = 0
    for (r, g, b), n in ((colour, n) for n, colour in region.getcolors(maxcolors=1 << 20)
                         or []):
        if any(abs(r - cr) + abs(g - cg) + abs(b - cb) <= 24 for cr, cg, cb in COLOURS):
            count += n
    return count


def drawn_charts(html: str, folder: Path, chromium: str) -> dict[str, int]:
    """Each chart of `html` alone in a cell of one screenshot: its coloured pixels, by key."""
    from PIL import Image

    charts = chart_svgs(html)
    markup, boxes = svg_grid_page(list(charts.values()))
    page = folder / "charts.html"
    page.write_text(markup, encoding="utf-8")
    shot = folder / "charts.png"
    size = (max(box[2] for box in boxes), boxes[-1][3])
    run = render(page, screenshot=shot, size=size, chromium=chromium)
    assert run.console == ()
    with Image.open(shot) as image:
        return {key: coloured_pixels(image, box)
                for key, box in zip(charts, boxes, strict=True)}


def check_in_browser(html: str, name: str, folder: Path, chromium: str,
                     charts: set[str]) -> None:
    """No console message; every chart drawn; a full-page screenshot in build/NAME.png."""
    page = folder / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    run = render(page, screenshot=BUILD / f"{name}.png", size=(1200, 5200),
                 chromium=chromium)
    assert run.console == (), f"console messages: {run.console}"
    assert 'data-chart="' in run.dom
    assert set(chart_svgs(run.dom)) == charts       # the browser's DOM holds every chart
    drawn = drawn_charts(html, folder, chromium)
    assert set(drawn) == charts
    svgs = chart_svgs(run.dom)
    # a chart with data draws it; one without says so in words, on the chart
    empty = [key for key, pixels in drawn.items()
             if pixels < 50 and not ('data-marks="0"' in svgs[key] and "No data: " in svgs[key])]
    assert not empty, f"charts with nothing drawn: {empty} ({drawn})"
    assert (BUILD / f"{name}.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("demo")
    with run_demo(f"sqlite:///{folder / 'cases.db'}", say=lambda _: None) as desk:
        yield desk


#: April-May 2012, where 94% of the BPI 2013 incident log's events fall.
BPIC_SINCE, BPIC_UNTIL = datetime(2012, 4, 1, tzinfo=UTC), datetime(2012, 6, 1, tzinfo=UTC)
REPORT_CHARTS = {"activity", "compliance", "by_priority", "by_channel", "moves", "clocks"}


def test_the_demo_report_in_chromium(demo: Desk, chromium: str, tmp_path: Path) -> None:
    path = write_html_report(demo, tmp_path / "report.html")
    check_in_browser(path.read_text(), "report-demo", tmp_path, chromium, REPORT_CHARTS)


def test_a_case_timeline_in_chromium(demo: Desk, chromium: str, tmp_path: Path) -> None:
    from escalate.reporting.timeline import render_case_html

    case = demo.get("C-4")
    html = render_case_html(case, demo.history(case.id), demo.policy, demo.clock.now())
    check_in_browser(html, "timeline-demo", tmp_path, chromium, {"timeline"})


def test_the_checks_catch_a_console_message_and_an_empty_chart(demo: Desk, chromium: str,
                                                                tmp_path: Path) -> None:
    html = demo.report(trend="day").to_html()
    noisy = html.replace("</body>", "<script>console.error('planted')</script></body>")
    page = tmp_path / "noisy.html"
    page.write_text(noisy)
    assert any("planted" in m for m in render(page, chromium=chromium).console)
    # the activity chart without its bars draws nothing in the chart colours
    start = html.index('<g class="marks">', html.index('data-chart="activity"'))
    end = html.index("</g>\n<g class=\"axes\"", start)
    blank = html[:start] + '<g class="marks">' + html[end:]
    drawn = drawn_charts(blank, tmp_path, chromium)
    assert drawn["activity"] < 50 <= drawn["moves"]


@pytest.fixture(scope="module")
def bpic_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    if not INCIDENTS.exists():
        pytest.skip(f"the BPI Challenge 2013 log {INCIDENTS} is not present; it lives in "
                    "shared/data beside the project (see shared/data/README.md)")
    from escalate.replay import replay_csv
    from escalate.replay_mappings import BPIC2013_INCIDENTS
    from escalate.report import build_report
    from escalate.stores import SqliteStore

    store = SqliteStore(tmp_path_factory.mktemp("bpic") / "bpic.db")
    result = replay_csv(INCIDENTS, BPIC2013_INCIDENTS, store)
    try:
        return build_report(store.all_events(), policy=result.policy, since=BPIC_SINCE,
                            until=BPIC_UNTIL, trend="week")
    finally:
        store.close()


def test_the_bpic2013_report_in_chromium(bpic_report: Report, chromium: str,
                                         tmp_path: Path) -> None:
    html = bpic_report.to_html()
    # the replayed log has no SLA fields: no clock shares, so no clock chart
    charts = REPORT_CHARTS - {"clocks"} if not bpic_report.clock_shares else REPORT_CHARTS
    check_in_browser(html, "report-bpic2013", tmp_path, chromium, charts)


def test_the_docs_screenshot_shows_todays_figures(bpic_report: Report) -> None:
    """docs/img/bpic2013-report.png was taken of a page with exactly these figures; when the
    report changes, regenerate it with the command docs/reports.md gives."""
    import json

    from escalate.testing.browser import page_figures

    saved = json.loads((ROOT / "docs" / "img" / "bpic2013-report.figures.json").read_text())
    now = page_figures(bpic_report.to_html(), "totals|", "trend|")
    assert now, "the page shows no headline or trend figures"
    planted = {**now, "totals|opened": str(bpic_report.totals.opened + 1)}
    assert planted != now
    assert now == saved, (
        "the screenshot in docs/img is stale; regenerate it with "
        "`python examples/bpic2013_report.py --html build/bpic2013 --screenshots docs/img`")
    page = (ROOT / "docs" / "reports.md").read_text()
    assert "](img/bpic2013-report.png)" in page
    assert ("python examples/bpic2013_report.py --html build/bpic2013 "
            "--screenshots docs/img") in page
