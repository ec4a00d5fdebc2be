"""The HTML report and case timeline: every figure on the page equals its Report value, the
page is self-contained and accessible, and the CLI writes both pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from escalate import Desk, Report
from escalate.cli import main
from escalate.demo import run_demo, write_html_report
from escalate.reporting.timeline import render_case_html

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "examples" / "escalation.toml")


class Page(HTMLParser):
    """Collects data-figure cells, tags and attributes of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._key: str | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("data-figure"):
            self._key, self._text = attributes["data-figure"], []

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._key is not None and tag in ("td", "span"):
            assert self._key not in self.figures, f"figure {self._key} shown twice"
            self.figures[self._key] = "".join(self._text).strip()
            self._key = None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("demo")
    with run_demo(f"sqlite:///{folder / 'cases.db'}", say=lambda _: None) as desk:
        yield desk


def row_of(report: Report, head: str, parts: list[str]) -> tuple[Any, list[str]]:
    """The Report object a data-figure key names, and the rest of the key."""
    if head == "totals":
        return report.totals, parts
    if head == "moves":
        return report.shuffling, [f"moves_{parts[0]}"]
    if head in ("agent", "tier", "channel", "priority"):
        return getattr(report, head)(parts[0]), parts[1:]
    if head == "trend":
        return next(r for r in report.trends if r.period == parts[0]), parts[1:]
    if head in ("channel_trend", "priority_trend"):
        groups = report.channel_trends if head == "channel_trend" else report.priority_trends
        group = next(g for g in groups if g.name == parts[0])
        return next(r for r in group.rows if r.period == parts[1]), parts[2:]
    if head == "clock_share":
        return next(c for c in report.clock_shares
                    if (c.clock, c.tier) == (parts[0], parts[1])), parts[2:]
    raise AssertionError(f"unknown figure {head}")


def check_figure(report: Report, key: str, shown: str) -> None:
    """The shown text is the Report value: a count, a percentage, a mean or hours:minutes."""
    head, *parts = key.split("|")
    row, rest = row_of(report, head, parts)
    (attribute,) = rest
    value = attrgetter(attribute)(row)
    if value is None:
        assert shown == "-", key
    elif isinstance(value, timedelta):
        hours, minutes = re.fullmatch(r"(\d+)h(\d\d)m", shown).groups()  # type: ignore[union-attr]
        assert int(hours) * 60 + int(minutes) == round(value.total_seconds() / 60), key
    elif isinstance(value, int):
        assert shown == str(value), key
    elif attribute.endswith(("rate", "share", "share_satisfied")):
        assert shown.endswith("%"), key
        assert abs(float(shown[:-1]) - 100 * value) <= 0.5, key
    else:
        assert abs(float(shown) - value) <= 0.005, key


def check_page(report: Report, html: str) -> Page:
    page = Page(html)
    assert page.figures, "the page shows no figures"
    for key, shown in page.figures.items():
        check_figure(report, key, shown)
    # every row of the report is on the page
    expected = {f"agent|{a.agent}|resolved" for a in report.agents}
    expected |= {f"tier|{t.tier}|breaches" for t in report.tiers}
    expected |= {f"channel|{c.name}|satisfaction.mean" for c in report.channels}
    expected |= {f"priority|{p.name}|resolution.rate" for p in report.priorities}
    expected |= {f"trend|{r.period}|breached" for r in report.trends}
    expected |= {f"clock_share|{c.clock}|{c.tier}|share" for c in report.clock_shares}
    expected |= {"totals|opened", "totals|satisfaction.mean", "moves|up"}
    assert expected <= set(page.figures), expected - set(page.figures)
    return page


def test_every_figure_of_the_demo_week_equals_the_report(demo: Desk) -> None:
    report = demo.report(trend="day")
    assert report.totals.satisfaction.ratings == 2
    page = check_page(report, report.to_html())
    assert page.figures["totals|satisfaction.mean"] == "3.50"
    assert page.figures["agent|ana|satisfaction.mean"] == "5.00"
    assert page.figures["agent|cy|satisfaction.share_satisfied"] == "0%"


def test_a_wrong_figure_is_caught(demo: Desk) -> None:
    report = demo.report(trend="day")
    html = report.to_html().replace(
        f'data-figure="totals|opened">{report.totals.opened}<',
        f'data-figure="totals|opened">{report.totals.opened + 1}<')
    with pytest.raises(AssertionError, match="totals"):
        check_page(report, html)
    rate = report.totals.first_response.rate
    assert rate is not None
    shown = f"{100 * rate:.0f}%"
    html = report.to_html().replace(f'data-figure="totals|first_response.rate">{shown}<',
                                    'data-figure="totals|first_response.rate">99%<')
    with pytest.raises(AssertionError, match="first_response"):
        check_page(report, html)


def test_the_page_is_self_contained_and_accessible(demo: Desk) -> None:
    html = demo.report(trend="day").to_html()
    page = Page(html)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@media print" in html
    assert tags.count("table") == tags.count("caption")
    charts = [a for tag, a in page.tags if tag == "svg" and a.get("data-chart")]
    assert {a["data-chart"] for a in charts} == {
        "activity", "compliance", "by_priority", "by_channel", "moves", "clocks"}
    for attributes in charts:
        assert attributes["role"] == "img"
        title, desc = str(attributes["aria-labelledby"]).split()
        assert f'id="{title}"' in html and f'id="{desc}"' in html
        assert int(str(attributes["data-marks"])) > 0
    headers = [a for tag, a in page.tags if tag == "th"]
    assert all(a.get("scope") in ("col", "row") for a in headers)
    assert '<html lang="en">' in html


def test_the_user_text_is_escaped(desk: Desk) -> None:
    case = desk.open(title="t", customer="c", by="ana", channel="<b>web</b>")
    desk.claim(case.id, by="ana")
    desk.resolve(case.id, by="ana", resolution="ok")
    desk.rate(case.id, score=5, comment="<script>alert(1)</script> & more")
    html = desk.report().to_html()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "&lt;b&gt;web&lt;/b&gt;" in html and "<b>" not in html


def test_breached_cases_link_to_their_timelines(demo: Desk, tmp_path: Path) -> None:
    path = write_html_report(demo, tmp_path / "report.html")
    report = demo.report(trend="day")
    html = path.read_text()
    breached = {b.case_id for b in report.breaches}
    assert breached
    for case_id in breached:
        assert f'href="cases/{case_id}.html"' in html
        timeline = (tmp_path / "cases" / f"{case_id}.html").read_text()
        assert f"Case {case_id}:" in timeline


def test_the_timeline_shows_every_event_in_the_calendar_zone(demo: Desk) -> None:
    case = demo.get("C-4")
    events = demo.history(case.id)
    html = render_case_html(case, events, demo.policy, demo.clock.now())
    page = Page(html)
    times = [a for tag, a in page.tags if tag == "time"]
    assert len(times) == len(events)
    assert "Europe/Bucharest" in html
    # 2026-11-23 07:35 UTC is 09:35 in Bucharest
    assert events[0].at.strftime("%H:%M") == "07:35"
    assert "2026-11-23 09:35" in html
    lanes = re.findall(r'font-weight="600">(tier [^<]+|clock [^<]+|waiting)<', html)
    assert lanes[:3] == ["tier frontline", "tier specialists", "tier management"]
    assert "clock resolution" in lanes and "waiting" in lanes
    assert "<title>breach" in html or "<title>escalation" in html
    assert "script" not in [tag for tag, _ in page.tags]


def test_cli_writes_the_html_report_and_case_pages(demo: Desk, tmp_path: Path) -> None:
    db = demo.store.url
    runner = CliRunner()
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["report", "--db", db, "--policy", POLICY, "--trend", "day",
                                  "--format", "html", "--output", str(out),
                                  "--case-pages", str(tmp_path / "cases")])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote the html report to {out}" in result.stderr
    check_page(demo.report(trend="day"), out.read_text())
    assert 'href="cases/C-2.html"' in out.read_text()
    assert (tmp_path / "cases" / "C-2.html").exists()
    as_json = runner.invoke(main, ["report", "--db", db, "--policy", POLICY, "--format",
                                   "json", "--output", str(tmp_path / "r.json")])
    assert as_json.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["opened"] == 4
    wrong = runner.invoke(main, ["report", "--db", db, "--policy", POLICY,
                                 "--case-pages", str(tmp_path / "x")])
    assert wrong.exit_code == 2
    assert wrong.stderr.strip().splitlines() == [
        "error: Invalid value for '--case-pages': only goes with --format html"]
    blocked = runner.invoke(main, ["report", "--db", db, "--policy", POLICY, "--format",
                                   "html", "--output", str(tmp_path / "no" / "r.html")])
    assert blocked.exit_code == 1
    assert len(blocked.stderr.strip().splitlines()) == 1
    assert blocked.stderr.startswith("error: cannot write")


def test_cli_show_format_html(demo: Desk, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--db", demo.store.url, "--policy", POLICY]
    shown = runner.invoke(main, ["show", "C-1", *base, "--format", "html"])
    assert shown.exit_code == 0
    assert shown.stdout.startswith("<!DOCTYPE html>") and "Case C-1:" in shown.stdout
    out = tmp_path / "c1.html"
    written = runner.invoke(main, ["show", "C-1", *base, "--format", "html", "--output",
                                   str(out)])
    assert written.exit_code == 0 and out.read_text() == shown.stdout
    as_json = runner.invoke(main, ["show", "C-1", *base, "--format", "json"])
    assert json.loads(as_json.stdout)["case"]["id"] == "C-1"
    missing = runner.invoke(main, ["show", "C-99", *base, "--format", "html"])
    assert missing.exit_code == 1 and len(missing.stderr.strip().splitlines()) == 1


def test_a_clock_bar_breaks_while_the_case_waits(example_policy: Any) -> None:
    from datetime import UTC, datetime

    from escalate import ManualClock
    from escalate.reporting.timeline import build_timeline

    clock = ManualClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))      # Monday 09:00 local
    with Desk(example_policy, "memory://", clock, autoload_plugins=False) as desk:
        case = desk.open(title="t", customer="c", channel="web", by="ana")
        desk.claim(case.id, by="ana")
        desk.respond(case.id, by="ana")
        clock.advance(timedelta(hours=1))
        desk.wait(case.id, by="ana", reason="logs")
        clock.advance(timedelta(hours=3))
        desk.resume(case.id, by="ana")
        clock.advance(timedelta(hours=1))
        desk.resolve(case.id, by="ana", resolution="ok")
        timeline = build_timeline(desk.get(case.id), desk.history(case.id), desk.policy)
    lane = timeline.lanes.index("clock resolution")
    bars = sorted((b for b in timeline.bars if b.lane == lane), key=lambda b: b.x)
    wait = next(b for b in timeline.bars if b.kind == "wait")
    assert len(bars) == 2                                  # before and after the wait
    assert bars[0].x + bars[0].width == pytest.approx(wait.x)
    assert bars[1].x == pytest.approx(wait.x + wait.width)
    assert all(b.due_x is not None for b in bars)
    assert bars[1].due_x > bars[0].due_x                   # the pause moved the due time
