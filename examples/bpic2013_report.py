"""Reports and a trend chart of a real helpdesk: the BPI Challenge 2013 Volvo IT incident log.

Replays the log from ../shared/data into a temporary SQLite file and prints what actually
happened in April-May 2012 (where 94% of the events fall); then runs the same cases under
the 20-hour candidate policy (examples/bpic2013_candidate.toml), prints its report and
writes its weekly trend chart. Usage: python examples/bpic2013_report.py [CHART.png].
Skips when the data is absent.
"""

from __future__ import annotations

import sys
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


def main() -> None:
    if not DATA.exists():
        print(f"skipped: the BPI Challenge 2013 log is not at {DATA}")
        return
    chart = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    folder = Path(tempfile.mkdtemp(prefix="escalate-bpic-"))
    actual = SqliteStore(folder / "actual.db")
    result = replay_csv(DATA, BPIC2013_INCIDENTS, actual)
    print(f"Replayed {result.rows:,} rows into {result.cases:,} cases in {result.elapsed:.1f}s.")
    print("\nWhat happened, April-May 2012:\n")
    report = build_report(actual.all_events(), policy=result.policy, since=SINCE, until=UNTIL)
    print(sections(report, "Totals", "Tiers", "Moves"))

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
