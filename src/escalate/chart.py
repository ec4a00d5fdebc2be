"""PNG charts of a report's trends, drawn with matplotlib (the optional `charts` extra)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .reporting import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["render_trends_png", "trends_figure"]

#: The bar series of the upper panel: (label, TrendRow attribute); the same colours as HTML.
BARS = (("cases opened", "opened", "#0072B2"), ("resolutions", "resolved", "#009E73"),
        ("escalations", "escalated", "#E69F00"), ("breaches", "breached", "#D55E00"))
#: The compliance lines: (label, clock, colour, marker, sideways offset of the dots).
LINES = (("first response met", "first_response", "#0072B2", "o", -0.12),
         ("resolution met", "resolution", "#009E73", "s", 0.12))


def trends_figure(report: Report) -> Figure:
    """The trends as a matplotlib Figure on an Agg canvas (no pyplot, no display).

    Upper panel: cases opened, resolutions, escalations and breaches per period (bars, the
    y axis counts events). Lower panel: the share of decided first-response and resolution
    commitments met by the cases opened in each period (lines with a marker on every value,
    so a value between two gaps still shows; the two series are nudged sideways so that one
    never hides the other). Legends sit outside the plots. Raises ConfigError without
    matplotlib.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator, PercentFormatter
    except ImportError:
        raise ConfigError("chart", "drawing charts needs matplotlib; install escalate[charts] "
                                   "(pip install 'escalate[charts]')") from None
    rows = report.trends
    positions = list(range(len(rows)))
    figure = Figure(figsize=(max(7.5, 0.6 * len(rows) + 4.5), 7.0), dpi=100,
                    layout="constrained")
    FigureCanvasAgg(figure)
    counts, rates = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    width = 0.2
    for i, (label, field, colour) in enumerate(BARS):
        counts.bar([p + (i - 1.5) * width for p in positions],
                   [getattr(r, field) for r in rows], width, label=label, color=colour)
    counts.set_ylabel("events in the period")
    counts.yaxis.set_major_locator(MaxNLocator(integer=True))
    counts.grid(axis="y", alpha=0.3)
    counts.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                  title="per period")
    since = report.period.since.date().isoformat() if report.period.since else "start"
    until = report.period.until.date().isoformat() if report.period.until else "last event"
    counts.set_title(f"escalate: trends by {report.period.trend}, {since} to {until}")
    drawn = 0
    for label, clock, colour, marker, shift in LINES:
        values = [_percent(getattr(r, clock).rate) for r in rows]
        drawn += sum(1 for v in values if not math.isnan(v))
        rates.plot([p + shift for p in positions], values, color=colour, marker=marker,
                   markersize=6, markeredgecolor="white", linewidth=1.8, label=label)
    if not drawn:
        rates.text(0.5, 0.5, "no SLA outcome was decided in this window",
                   transform=rates.transAxes, ha="center", va="center", color="#57606a")
    rates.set_ylim(-5, 105)
    rates.yaxis.set_major_formatter(PercentFormatter(100))
    rates.set_ylabel("SLA met\n(cases opened in the period)")
    rates.grid(alpha=0.3)
    rates.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    rates.set_xticks(positions, [row.period for row in rows], rotation=45, ha="right",
                     fontsize="small")
    rates.set_xlabel(report.period.trend)
    if positions:
        rates.set_xlim(-0.6, len(positions) - 0.4)
    return figure


def render_trends_png(report: Report, path: str | Path) -> Path:
    """Draw the report's trends (`trends_figure`) to a PNG file at `path`; return the path.

    Raises ConfigError when matplotlib is not installed.
    """
    figure = trends_figure(report)
    target = Path(path)
    figure.savefig(target, format="png")
    return target


def _percent(rate: float | None) -> float:
    """A rate as a percentage; NaN (a gap in the line) when there is no rate."""
    return float("nan") if rate is None else 100 * rate
