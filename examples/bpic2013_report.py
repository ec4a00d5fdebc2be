"""Reports and a trend chart of a real helpdesk: the BPI Challenge 2013 Volvo IT incident log.

Replays the log from ../shared/data into a temporary SQLite file and prints what actually
happened in April-May 2012 (where 94% of the events fall); then runs the same cases under
the 20-hour candidate policy (examples/bpic2013_candidate.toml), prints its report and
writes its weekly trend chart. Usage: python examples/bpic2013_report.py [CHART.png].
Skips when the data is absent.

With `--html DIR` it also writes the April-May report of the replayed log as one HTML page,
DIR/bpic2013-report.html; with `--screenshots IMG` (needs headless Chromium) it saves the
top of that page as IMG/bpic2013-report.png and the figures the screenshot shows as
IMG/bpic2013-report.figures.json, which tests/test_browser.py compares with a fresh report.
The docs' screenshot is regenerated with:

    python examples/bpic2013_report.py --html build/bpic2013 --screenshots docs/img
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from escalate import Policy
from escalate.replay import replay_csv
from escalate.replay_mappings import BPIC2013_INCIDENTS
from escalate.report import Report, build_report
from escalate.simulate import simulate
from escalate.stores import SqliteStore

HERE = Path(__file__).resolve().parent
DATA = (HERE.parent.parent / "shared" / "data" / "bpic2013-volvo-incidents"
        / "bpic2013_incidents.csv")
SINCE, UNTIL = datetime(2012, 4, 1, tzinfo=UTC), datetime(2012, 6, 1, tzinfo=UTC)


def sections(report: Report, *names: str) -> str:
    """The named sections of the text report."""
    text = report.to_text()
    parts = text.split("\n\n")
    return "\n\n".join(p for p in parts if p.split("\n", 1)[0] in names)


def write_html(report: Report, folder: Path, screenshots: Path | None) -> None:
    """The report as an HTML page in `folder`; with `screenshots`, its picture and figures."""
    from escalate.testing.browser import page_figures, render

    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "bpic2013-report.html"
    html = report.to_html()
    page.write_text(html, encoding="utf-8")
    print(f"\nwrote the HTML report to {page}")
    if screenshots is None:
        return
    shot = screenshots / "bpic2013-report.png"
    run = render(page, screenshot=shot, size=(1200, 1900))
    if run.console:
        raise SystemExit(f"the browser reported: {run.console}")
    figures = page_figures(html, *SHOWN)
    (screenshots / "bpic2013-report.figures.json").write_text(
        json.dumps(figures, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote the screenshot to {shot} and the {len(figures)} figures it shows beside it")


#: The figures the screenshot shows: the headline cards and the trends.
SHOWN = ("totals|", "trend|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chart", nargs="?", type=Path, help="write the trend chart PNG here")
    parser.add_argument("--html", type=Path, help="write the HTML report into this folder")
    parser.add_argument("--screenshots", type=Path,
                        help="with --html: save the page's screenshot and figures here")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: the BPI Challenge 2013 log is not at {DATA}")
        return
    chart = args.chart
    folder = Path(tempfile.mkdtemp(prefix="escalate-bpic-"))
    actual = SqliteStore(folder / "actual.db")
    result = replay_csv(DATA, BPIC2013_INCIDENTS, actual)
    print(f"Replayed {result.rows:,} rows into {result.cases:,} cases in {result.elapsed:.1f}s.")
    print("\nWhat happened, April-May 2012:\n")
    report = build_report(actual.all_events(), policy=result.policy, since=SINCE, until=UNTIL)
    print(sections(report, "Totals", "Tiers", "Moves"))
    if args.html is not None:
        write_html(report, args.html, args.screenshots)

    candidate = Policy.from_toml(HERE / "bpic2013_candidate.toml")
    trail = SqliteStore(folder / "candidate.db")
    outcome = simulate(actual.all_events(), candidate, seed=0, actual=result.policy,
                       store=trail)
    print("\nThe same cases under the 20-hour candidate policy:\n")
    print(outcome.table())
    what_if = build_report(trail.all_events(), policy=candidate, since=SINCE, until=UNTIL)
    print()
    print(sections(what_if, "Totals", "Tiers", "Trends by week"))
    if chart is not None:
        from escalate.chart import render_trends_png

        render_trends_png(what_if, chart)
        print(f"\nwrote the candidate's weekly trend chart to {chart}")
    actual.close()
    trail.close()



if __name__ == "__main__":
    main()
