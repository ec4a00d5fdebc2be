"""A PNG chart of a report's trends, drawn with matplotlib (the optional `charts` extra)."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError
from .report import Report

__all__ = ["render_trends_png"]


def render_trends_png(report: Report, path: str | Path) -> Path:
    """Draw the report's trends to a PNG file at `path` and return the path.

    The upper panel shows cases opened, resolved, escalated and breached per period; the
    lower one the first-response and resolution compliance rates of the cases opened in
    each period. Uses matplotlib's Agg canvas directly, so no display and no global
    pyplot state are involved. Raises ConfigError when matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ConfigError("chart", "drawing charts needs matplotlib; install escalate[charts] "
                                   "(pip install 'escalate[charts]')") from None
    target = Path(path)
    rows = report.trends
    labels = [row.period for row in rows]
    positions = list(range(len(rows)))
    figure = Figure(figsize=(max(6.0, 0.6 * len(rows) + 3.0), 6.5), dpi=100)
    FigureCanvasAgg(figure)
    counts, rates = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    width = 0.2
    series = (("opened", [r.opened for r in rows]), ("resolved", [r.resolved for r in rows]),
              ("escalated", [r.escalated for r in rows]),
              ("breached", [r.breached for r in rows]))
    for i, (name, values) in enumerate(series):
        counts.bar([p + (i - 1.5) * width for p in positions], values, width, label=name)
    counts.set_ylabel("cases")
    counts.yaxis.set_major_locator(MaxNLocator(integer=True))
    counts.legend(loc="best", fontsize="small")
    counts.grid(axis="y", alpha=0.3)
    since = report.period.since.date().isoformat() if report.period.since else "start"
    until = report.period.until.date().isoformat() if report.period.until else "last event"
    counts.set_title(f"escalate: trends by {report.period.trend}, {since} to {until}")
    for name, percents in (("first response", [_percent(r.first_response.rate) for r in rows]),
                           ("resolution", [_percent(r.resolution.rate) for r in rows])):
        rates.plot(positions, percents, marker="o", label=f"{name} met %")
    rates.set_ylim(-5, 105)
    rates.set_ylabel("SLA met (%)")
    rates.legend(loc="best", fontsize="small")
    rates.grid(alpha=0.3)
    rates.set_xticks(positions, labels, rotation=45, ha="right", fontsize="small")
    figure.tight_layout()
    figure.savefig(target, format="png")
    return target


def _percent(rate: float | None) -> float:
    """A rate as a percentage; NaN (a gap in the line) when there is no rate."""
    return float("nan") if rate is None else 100 * rate
