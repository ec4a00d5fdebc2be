"""The report as one self-contained HTML page, rendered with Jinja2 from package templates.

Charts are inline SVG (svg.py gives their geometry), styles are inline, there is no script
and nothing is fetched from the network. Every figure cell carries `data-figure`, the path
of the Report value it shows, so that tests can check the page against the report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import jinja2

from .svg import PALETTE, SHAPES, Chart, bar_chart, line_chart, stacked_bars
from .text import hours
from .values import SLA_CLOCKS, Compliance, GroupTrend, Report

__all__ = ["case_file_name", "environment", "render_report_html", "report_charts"]

_ENV: jinja2.Environment | None = None
_NO_SLA = "no SLA outcome was decided in this window"


def environment() -> jinja2.Environment:
    """The Jinja2 environment of escalate's page templates (autoescaping on), made once."""
    global _ENV
    if _ENV is None:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("escalate.reporting", "templates"),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters.update(pct=percent, hours=hours, mean=mean, when=when)
        env.globals.update(palette=PALETTE, shapes=SHAPES)
        _ENV = env
    return _ENV


def percent(rate: float | None) -> str:
    """A share as a whole percentage ("67%"), "-" when there is none."""
    return "-" if rate is None else f"{100 * rate:.0f}%"


def mean(value: float | None) -> str:
    """A mean score with two decimals, "-" when there is none."""
    return "-" if value is None else f"{value:.2f}"


def when(moment: datetime | None) -> str:
    """A time in UTC to the minute ("2026-11-23 07:35 UTC"), "-" when there is none."""
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _rates(rows: Any, clock: str) -> list[float | None]:
    out: list[float | None] = []
    for row in rows:
        compliance: Compliance = getattr(row, clock)
        out.append(None if compliance.rate is None else 100 * compliance.rate)
    return out


def _compliance_chart(what: str, groups: tuple[GroupTrend, ...], labels: list[str],
                      trend: str) -> Chart:
    return line_chart(
        f"Resolution SLA met per {trend}, by {what}", labels,
        [(g.name, _rates(g.rows, "resolution")) for g in groups],
        x_label=f"{trend} (cases opened in it)", y_label="resolution SLA met (%)",
        description=f"One line per {what}: the share of decided resolution commitments met "
                    f"by the cases opened in each {trend}; a gap where none was decided. "
                    "The table below gives every value.", empty_note=_NO_SLA)


def report_charts(report: Report) -> dict[str, Chart]:
    """The page's charts by key: activity, compliance, by_priority, by_channel, moves, clocks."""
    rows, trend = report.trends, report.period.trend
    labels = [row.period for row in rows]
    s = report.shuffling
    charts = {
        "activity": bar_chart(
            f"Activity per {trend}", labels,
            [("cases opened", [r.opened for r in rows]),
             ("resolutions", [r.resolved for r in rows]),
             ("escalations", [r.escalated for r in rows]),
             ("breaches", [r.breached for r in rows])],
            x_label=trend, y_label="events in the period",
            description=f"Cases opened, resolutions, escalations and SLA breaches recorded "
                        f"in each {trend}; the trends table gives every value."),
        "compliance": line_chart(
            f"SLA met per {trend}", labels,
            [(name.replace("_", " "), _rates(rows, name)) for name in SLA_CLOCKS],
            x_label=f"{trend} (cases opened in it)", y_label="SLA met (%)",
            description="First-response and resolution commitments met, as a share of those "
                        "decided, for the cases opened in each period.", empty_note=_NO_SLA),
        "by_priority": _compliance_chart("priority", report.priority_trends, labels, trend),
        "by_channel": _compliance_chart("channel", report.channel_trends, labels, trend),
        "moves": stacked_bars(
            "Moves between owners", [("moves", [s.moves_up, s.moves_sideways, s.moves_down])],
            ["up", "sideways", "down"], x_label="moves in the window",
            description=f"{s.moves_up} up the ladder, {s.moves_sideways} sideways, "
                        f"{s.moves_down} down."),
    }
    shares = report.clock_shares
    tiers = list(dict.fromkeys(c.tier for c in shares))
    if shares:
        charts["clocks"] = stacked_bars(
            "SLA clock time by tier",
            [(clock.replace("_", " "),
              [round(_hours_of(next((c.time for c in shares
                                     if c.clock == clock and c.tier == t), timedelta(0))), 1)
               for t in tiers]) for clock in SLA_CLOCKS],
            tiers, x_label="business hours the clock ran", unit="h",
            description="Business time each SLA clock ran while each tier held the case; "
                        "the table beside it gives the shares.")
    return charts


def _hours_of(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def case_file_name(case_id: str) -> str:
    """A case id made safe as a file name: letters, digits, '-', '_' and '.' kept."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id)


def render_report_html(report: Report, *, case_links: str | None = None) -> str:
    """The report page; `case_links` formats a breached case's link: "{id}" is the case id
    (URL-quoted), "{file}" the case id as a safe file name ("cases/{file}.html")."""
    def link(case_id: str) -> str | None:
        if case_links is None:
            return None
        return case_links.format(id=quote(case_id, safe=""), file=case_file_name(case_id))

    return environment().get_template("report.html.j2").render(
        r=report, t=report.totals, s=report.shuffling, charts=report_charts(report),
        link=link, clocks=SLA_CLOCKS)
