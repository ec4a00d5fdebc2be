"""Management reports computed from the event log: agents, tiers, channels, shuffling, trends,
customer satisfaction; as text, CSV, JSON and a self-contained HTML page.

`build_report` reads the trail once (builder); `Report` and its rows are plain values
(values); renderers: text, tables (JSON and CSV), html (with svg charts) and timeline (one
case's page).
"""

from __future__ import annotations

from .builder import build_report
from .values import (
    SLA_CLOCKS,
    TRENDS,
    AgentRow,
    Breach,
    ClockShare,
    Compliance,
    GroupRow,
    GroupTrend,
    Period,
    PingPong,
    RatedComment,
    Report,
    Satisfaction,
    Shuffling,
    TierRow,
    Totals,
    TrendRow,
)

__all__ = [
    "SLA_CLOCKS",
    "TRENDS",
    "AgentRow",
    "Breach",
    "ClockShare",
    "Compliance",
    "GroupRow",
    "GroupTrend",
    "Period",
    "PingPong",
    "RatedComment",
    "Report",
    "Satisfaction",
    "Shuffling",
    "TierRow",
    "Totals",
    "TrendRow",
    "build_report",
]
