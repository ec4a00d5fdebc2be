"""The report as JSON-ready values and as CSV sections."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from ..codec import format_time
from ..timing import FIRST_RESPONSE, RESOLUTION
from .values import (
    SLA_CLOCKS,
    AgentRow,
    ClockShare,
    GroupRow,
    GroupTrend,
    Report,
    Satisfaction,
    TierRow,
    Totals,
    TrendRow,
)

__all__ = ["report_csv", "report_json"]


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready plain values, keys in a stable order; durations in seconds."""
    s = report.shuffling
    return {
        "period": {"since": _time(report.period.since), "until": _time(report.period.until),
                   "end": _time(report.period.end), "trend": report.period.trend},
        "totals": _totals_json(report.totals),
        "agents": [_agent_json(row) for row in report.agents],
        "tiers": [_tier_json(row) for row in report.tiers],
        "channels": [_group_json(row) for row in report.channels],
        "priorities": [_group_json(row) for row in report.priorities],
        "shuffling": {
            "transfers_per_case": {str(k): v for k, v in s.transfers_per_case.items()},
            "moves": {"up": s.moves_up, "down": s.moves_down, "sideways": s.moves_sideways},
            "ping_pong": [{"case_id": p.case_id, "kind": p.kind, "path": list(p.path),
                           "returns": p.returns} for p in s.ping_pong],
        },
        "trends": [_trend_json(row) for row in report.trends],
        "channel_trends": _group_trends_json(report.channel_trends),
        "priority_trends": _group_trends_json(report.priority_trends),
        "clock_shares": [_share_json(row) for row in report.clock_shares],
        "breaches": [{"case_id": b.case_id, "clock": b.clock, "tier": b.tier,
                      "at": format_time(b.at), "owner": b.owner} for b in report.breaches],
    }


def report_csv(report: Report) -> str:
    """One CSV section per table, each with a header row, a blank line between sections."""
    data = report_json(report)
    s = data["shuffling"]
    sections: list[tuple[str, list[dict[str, Any]]]] = [
        ("period", [data["period"]]),
        ("totals", [data["totals"]]),
        ("agents", data["agents"]),
        ("tiers", data["tiers"]),
        ("channels", data["channels"]),
        ("priorities", data["priorities"]),
        ("transfers", [{"transfers": k, "cases": v}
                       for k, v in s["transfers_per_case"].items()]),
        ("moves", [s["moves"]]),
        ("ping_pong", [{**p, "path": " -> ".join(p["path"])} for p in s["ping_pong"]]),
        ("trends", data["trends"]),
        ("channel_trends", [{"name": g["name"], **row} for g in data["channel_trends"]
                            for row in g["rows"]]),
        ("priority_trends", [{"name": g["name"], **row} for g in data["priority_trends"]
                             for row in g["rows"]]),
        ("clock_shares", data["clock_shares"]),
        ("breaches", data["breaches"]),
    ]
    out = io.StringIO()
    for i, (name, rows) in enumerate(sections):
        if i:
            out.write("\n")
        writer = csv.writer(out, lineterminator="\n")
        flat = [_flatten(row) for row in rows]
        writer.writerow(["table", *_CSV_HEADERS.get(name, _keys(flat))])
        for row in flat:
            writer.writerow([name, *row.values()])
    return out.getvalue()


def satisfaction_json(sat: Satisfaction) -> dict[str, Any]:
    """Ratings, mean (4 places), share satisfied (4 places) and the kept comments."""
    def comments(items: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [{"case_id": c.case_id, "score": c.score, "comment": c.comment} for c in items]

    return {"ratings": sat.ratings, "mean": _round(sat.mean),
            "share_satisfied": _round(sat.share_satisfied),
            "best": comments(sat.best), "worst": comments(sat.worst)}


def _group_trends_json(groups: tuple[GroupTrend, ...]) -> list[dict[str, Any]]:
    return [{"name": g.name, "rows": [_trend_json(row) for row in g.rows]} for g in groups]


def _share_json(row: ClockShare) -> dict[str, Any]:
    return {"clock": row.clock, "tier": row.tier, "time_seconds": row.time.total_seconds(),
            "share": _round(row.share)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _totals_json(t: Totals) -> dict[str, Any]:
    out: dict[str, Any] = {f.name: getattr(t, f.name) for f in attrs.fields(Totals)}
    out["first_response"] = t.first_response.to_json()
    out["resolution"] = t.resolution.to_json()
    out["satisfaction"] = satisfaction_json(t.satisfaction)
    return out


def _agent_json(row: AgentRow) -> dict[str, Any]:
    return {"agent": row.agent, "received": row.received, "claimed": row.claimed,
            "resolved": row.resolved, "escalated_by_hand": row.escalated_by_hand,
            "escalated_away": row.escalated_away, "transferred": row.transferred,
            "reopened": row.reopened,
            "median_resolution_seconds": _seconds(row.median_resolution),
            "p90_resolution_seconds": _seconds(row.p90_resolution),
            "sla_breaches": row.sla_breaches,
            "satisfaction": satisfaction_json(row.satisfaction)}


def _tier_json(row: TierRow) -> dict[str, Any]:
    return {"tier": row.tier, "opened": row.opened, "entered": row.entered,
            "resolved": row.resolved, "escalations_in": row.escalations_in,
            "escalations_out": row.escalations_out, "transfers_in": row.transfers_in,
            "transfers_out": row.transfers_out, "cases_timed": row.cases_timed,
            "time_total_seconds": row.time_total.total_seconds(),
            "time_median_seconds": _seconds(row.time_median), "breaches": row.breaches,
            "first_response": row.first_response.to_json(),
            "resolution": row.resolution.to_json(),
            "satisfaction": satisfaction_json(row.satisfaction)}


def _group_json(row: GroupRow) -> dict[str, Any]:
    return {"name": row.name, "opened": row.opened, "resolved": row.resolved,
            "escalated": row.escalated, "first_response": row.first_response.to_json(),
            "resolution": row.resolution.to_json(), "breached_in": dict(row.breached_in),
            "satisfaction": satisfaction_json(row.satisfaction)}


def _trend_json(row: TrendRow) -> dict[str, Any]:
    return {"period": row.period, "start": row.start.isoformat(), "opened": row.opened,
            "resolved": row.resolved, "escalated": row.escalated, "breached": row.breached,
            "first_response": row.first_response.to_json(),
            "resolution": row.resolution.to_json(),
            "satisfaction": satisfaction_json(row.satisfaction)}


def _flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """Nested compliance dicts become prefix_key columns; breached_in becomes "tier=n ..."."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key == "breached_in":
            flat[key] = " ".join(f"{tier}={n}" for tier, n in value.items())
        elif key == "satisfaction":
            for sub in ("ratings", "mean", "share_satisfied"):
                flat[f"satisfaction_{sub}"] = value[sub]
        elif isinstance(value, Mapping):
            for sub, item in value.items():
                flat[f"{key}_{sub}"] = item
        else:
            flat[key] = value
    return flat


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return list(rows[0]) if rows else []


def _compliance_columns(prefix: str) -> list[str]:
    return [f"{prefix}_{k}" for k in ("met", "breached", "pending", "rate")]


_SLA_COLUMNS = _compliance_columns(FIRST_RESPONSE) + _compliance_columns(RESOLUTION)
_SAT_COLUMNS = ["satisfaction_ratings", "satisfaction_mean", "satisfaction_share_satisfied"]
_TREND_COLUMNS = ["period", "start", "opened", "resolved", "escalated", "breached",
                  *_SLA_COLUMNS, *_SAT_COLUMNS]

#: Header rows of each CSV section, so that empty sections still say what they would hold.
_CSV_HEADERS: dict[str, list[str]] = {
    "period": ["since", "until", "end", "trend"],
    "totals": [f.name for f in attrs.fields(Totals) if f.name not in (*SLA_CLOCKS, "satisfaction")]
    + _SLA_COLUMNS + _SAT_COLUMNS,
    "agents": ["agent", "received", "claimed", "resolved", "escalated_by_hand",
               "escalated_away", "transferred", "reopened", "median_resolution_seconds",
               "p90_resolution_seconds", "sla_breaches", *_SAT_COLUMNS],
    "tiers": ["tier", "opened", "entered", "resolved", "escalations_in", "escalations_out",
              "transfers_in", "transfers_out", "cases_timed", "time_total_seconds",
              "time_median_seconds", "breaches", *_SLA_COLUMNS, *_SAT_COLUMNS],
    "channels": ["name", "opened", "resolved", "escalated", *_SLA_COLUMNS, "breached_in",
                 *_SAT_COLUMNS],
    "priorities": ["name", "opened", "resolved", "escalated", *_SLA_COLUMNS, "breached_in",
                   *_SAT_COLUMNS],
    "transfers": ["transfers", "cases"],
    "moves": ["up", "down", "sideways"],
    "ping_pong": ["case_id", "kind", "path", "returns"],
    "trends": _TREND_COLUMNS,
    "channel_trends": ["name", *_TREND_COLUMNS],
    "priority_trends": ["name", *_TREND_COLUMNS],
    "clock_shares": ["clock", "tier", "time_seconds", "share"],
    "breaches": ["case_id", "clock", "tier", "at", "owner"],
}
