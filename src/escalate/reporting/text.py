"""The report as aligned text tables, for a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ..codec import format_time
from .values import Compliance, Report, Satisfaction

__all__ = ["hours", "render_text", "satisfaction_text"]


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def satisfaction_text(sat: Satisfaction) -> str:
    """"4.50 (2 ratings, 100% satisfied)" or "-" without ratings."""
    if sat.mean is None or sat.share_satisfied is None:
        return "-"
    return f"{sat.mean:.2f} ({sat.ratings} rated, {sat.share_satisfied:.0%} 4-5)"


def hours(delta: timedelta | None) -> str:
    """A duration in hours and minutes ("34h05m"), which reads the same on any calendar."""
    if delta is None:
        return "-"
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _rate(compliance: Compliance) -> str:
    rate = compliance.rate
    shown = "-" if rate is None else f"{rate:.0%}"
    return f"{shown} ({compliance.met}/{compliance.breached}/{compliance.pending})"


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           left: int = 1) -> list[str]:
    """A heading and an aligned table; the first `left` columns are left-aligned."""
    lines = [title, "-" * len(title)]
    if not rows:
        return [*lines, "(none)", ""]
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [cell.ljust(width) if i < left else cell.rjust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(parts).rstrip()

    return [*lines, line(cells[0]), *(line(row) for row in cells[1:]), ""]


def render_text(report: Report) -> str:
    """Aligned text tables with headings, for a terminal."""
    p, t, s = report.period, report.totals, report.shuffling
    window = (f"{_time(p.since) or 'the beginning'} to "
              f"{_time(p.until) or 'the last event'}")
    out = [f"escalate report: {window} (trend by {p.trend})", ""]
    out += _table("Totals", ["figure", "value"], [
        ["events", t.events], ["cases opened", t.opened], ["resolutions", t.resolved],
        ["reopened", t.reopened], ["closed", t.closed],
        ["escalations (by hand / by timer)",
         f"{t.escalated} ({t.escalated_by_hand} / {t.escalated_by_timer})"],
        ["transfers", t.transferred],
        ["breaches (first response / resolution)",
         f"{t.breaches_first_response} / {t.breaches_resolution}"],
        ["ping-pong cases", t.ping_pong_cases], ["backlog at the end", t.backlog],
        ["first response compliance (met/breached/pending)", _rate(t.first_response)],
        ["resolution compliance (met/breached/pending)", _rate(t.resolution)],
        ["customer satisfaction (mean, ratings, share 4-5)",
         satisfaction_text(t.satisfaction)],
    ])
    out += _table("Agents", ["agent", "received", "claimed", "resolved", "esc.hand",
                             "esc.away", "transfers", "reopened", "median res.", "p90 res.",
                             "breaches", "satisfaction"],
                  [[r.agent, r.received, r.claimed, r.resolved, r.escalated_by_hand,
                    r.escalated_away, r.transferred, r.reopened, hours(r.median_resolution),
                    hours(r.p90_resolution), r.sla_breaches, satisfaction_text(r.satisfaction)]
                   for r in report.agents])
    out += _table("Tiers", ["tier", "opened", "entered", "resolved", "esc.in", "esc.out",
                            "trf.in", "trf.out", "time total", "time median", "breaches",
                            "first response", "resolution", "satisfaction"],
                  [[r.tier, r.opened, r.entered, r.resolved, r.escalations_in,
                    r.escalations_out, r.transfers_in, r.transfers_out, hours(r.time_total),
                    hours(r.time_median), r.breaches, _rate(r.first_response),
                    _rate(r.resolution), satisfaction_text(r.satisfaction)]
                   for r in report.tiers])
    for title, rows in (("Channels", report.channels), ("Priorities", report.priorities)):
        out += _table(title, ["name", "opened", "resolved", "escalated", "first response",
                              "resolution", "breached in", "satisfaction"],
                      [[r.name, r.opened, r.resolved, r.escalated, _rate(r.first_response),
                        _rate(r.resolution),
                        ", ".join(f"{k} {v}" for k, v in r.breached_in.items()) or "-",
                        satisfaction_text(r.satisfaction)]
                       for r in rows])
    out += _table("Transfers per case", ["transfers", "cases"],
                  [[k, v] for k, v in s.transfers_per_case.items()])
    out += _table("Moves", ["direction", "moves"],
                  [["up", s.moves_up], ["down", s.moves_down], ["sideways", s.moves_sideways]])
    out += _table("Ping-pong", ["case", "kind", "returns", "path"],
                  [[pp.case_id, pp.kind, pp.returns, pp.route] for pp in s.ping_pong])
    out += _table(f"Trends by {p.trend}", ["period", "opened", "resolved", "escalated",
                                           "breached", "first response", "resolution"],
                  [[r.period, r.opened, r.resolved, r.escalated, r.breached,
                    _rate(r.first_response), _rate(r.resolution)] for r in report.trends])
    out += _group_trend_tables(report)
    out.append("Compliance: met/breached/pending of the cases opened in the window; "
               "rate = met / (met + breached).")
    return "\n".join(out) + "\n"


def _group_trend_tables(report: Report) -> list[str]:
    """The trends by channel and by priority (periods with activity only), and clock shares."""
    p = report.period
    out: list[str] = []
    for label, groups in (("channel", report.channel_trends),
                          ("priority", report.priority_trends)):
        out += _table(f"Trends by {p.trend} and {label}",
                      [label, "period", "opened", "resolved", "escalated", "breached",
                       "first response", "resolution"],
                      [[g.name, r.period, r.opened, r.resolved, r.escalated, r.breached,
                        _rate(r.first_response), _rate(r.resolution)]
                       for g in groups for r in g.rows
                       if r.opened or r.resolved or r.escalated or r.breached])
    out += _table("SLA clock time by tier", ["clock", "tier", "time", "share"],
                  [[c.clock, c.tier, hours(c.time),
                    "-" if c.share is None else f"{c.share:.0%}"]
                   for c in report.clock_shares])
    return out
