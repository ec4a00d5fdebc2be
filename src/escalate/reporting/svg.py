"""Chart geometry for the HTML pages: numbers in, shapes out, drawn by the charts template.

Every chart is a `Chart`: a view box, axes with labelled ticks, a legend, and marks (bars,
line segments, dots). Nothing here writes markup; templates/charts.html.j2 does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

__all__ = ["PALETTE", "Chart", "bar_chart", "line_chart", "stacked_bars"]

#: Colours that stay distinct for the common kinds of colour blindness (Okabe-Ito).
PALETTE = ("#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
#: Marker shapes cycled with the colours, so series differ without colour too.
SHAPES = ("circle", "square", "diamond", "triangle")

_W, _H = 720, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 16, 64
_Y0 = float(_H - _BOTTOM)
_NOTHING = "nothing to show in this window"


@attrs.frozen
class Mark:
    """One drawn shape: kind "bar" (x, y, w, h), "line" (x, y to x2, y2) or "dot" (x, y)."""

    kind: str
    series: int
    x: float
    y: float
    w: float = 0.0
    h: float = 0.0
    x2: float = 0.0
    y2: float = 0.0
    label: str = ""


@attrs.frozen
class Tick:
    """An axis label at a position."""

    pos: float
    text: str


@attrs.frozen
class Chart:
    """A chart ready to draw: size, plot box, ticks, axis titles, legend and marks."""

    title: str
    description: str
    width: int
    height: int
    plot: tuple[float, float, float, float]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    x_label: str
    y_label: str
    legend: tuple[tuple[str, str, str], ...]
    marks: tuple[Mark, ...]
    horizontal: bool = False
    empty_note: str = "nothing to show in this window"

    @property
    def mark_count(self) -> int:
        """How many shapes carry data (bars with a height, line segments, dots)."""
        return len(self.marks)


def _nice_max(value: float) -> float:
    """The next round number at or above `value` (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover


def _y_ticks(top: float, integer: bool, scale: float, y0: float,
             suffix: str = "") -> tuple[Tick, ...]:
    count = 5
    step = top / count
    if integer:
        step = max(1.0, math.ceil(step))
    ticks = []
    value = 0.0
    while value <= top + 1e-9:
        text = f"{value:.0f}{suffix}" if integer or step >= 1 else f"{value:.1f}{suffix}"
        ticks.append(Tick(y0 - value * scale, text))
        value += step
    return tuple(ticks)


def _legend(names: Sequence[str]) -> tuple[tuple[str, str, str], ...]:
    return tuple((name, PALETTE[i % len(PALETTE)], SHAPES[i % len(SHAPES)])
                 for i, name in enumerate(names))


def bar_chart(title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
              *, x_label: str, y_label: str, description: str) -> Chart:
    """Grouped vertical bars: one group per category, one bar per series, zero bars left out."""
    width = max(_W, _LEFT + _RIGHT + 18 * len(categories) * max(1, len(series)))
    x0, x1, y0, y1 = _LEFT, width - _RIGHT, _Y0, _TOP
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    scale = (y0 - y1) / top
    slot = (x1 - x0) / max(1, len(categories))
    bar = slot * 0.8 / max(1, len(series))
    marks = []
    for s, (name, values) in enumerate(series):
        for i, value in enumerate(values):
            if value:
                x = x0 + i * slot + slot * 0.1 + s * bar
                marks.append(Mark("bar", s, x, y0 - value * scale, bar, value * scale,
                                  label=f"{name} {categories[i]}: {value}"))
    ticks = tuple(Tick(x0 + (i + 0.5) * slot, c) for i, c in enumerate(categories))
    return Chart(title, description, width, _H, (x0, y1, x1, y0), ticks,
                 _y_ticks(top, True, scale, y0), x_label, y_label,
                 _legend([n for n, _ in series]), tuple(marks))


def line_chart(title: str, categories: Sequence[str],
               series: Sequence[tuple[str, Sequence[float | None]]], *, x_label: str,
               y_label: str, description: str, empty_note: str | None = None) -> Chart:
    """Percentages (0-100) per category, one line per series; gaps where a value is missing.

    Every value gets a dot, so a value between two gaps still shows; dots of different
    series at the same place are nudged sideways so none hides another.
    """
    width = max(_W, _LEFT + _RIGHT + 40 * len(categories))
    x0, x1, y0, y1 = _LEFT, width - _RIGHT, _Y0, _TOP
    scale = (y0 - y1) / 100
    slot = (x1 - x0) / max(1, len(categories))
    nudge = min(6.0, slot / (2 * max(1, len(series))))
    marks: list[Mark] = []
    for s, (name, values) in enumerate(series):
        shift = (s - (len(series) - 1) / 2) * nudge
        points = [None if v is None else (x0 + (i + 0.5) * slot + shift, y0 - v * scale, v)
                  for i, v in enumerate(values)]
        for i, point in enumerate(points):
            if point is None:
                continue
            following = points[i + 1] if i + 1 < len(points) else None
            if following is not None:
                marks.append(Mark("line", s, point[0], point[1], x2=following[0],
                                  y2=following[1]))
            marks.append(Mark("dot", s, point[0], point[1],
                              label=f"{name} {categories[i]}: {point[2]:.0f}%"))
    ticks = tuple(Tick(x0 + (i + 0.5) * slot, c) for i, c in enumerate(categories))
    return Chart(title, description, width, _H, (x0, y1, x1, y0), ticks,
                 tuple(Tick(y0 - v * scale, f"{v}%") for v in range(0, 101, 20)),
                 x_label, y_label, _legend([n for n, _ in series]), tuple(marks),
                 empty_note=empty_note or _NOTHING)


def stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[float]]], parts: Sequence[str],
                 *, x_label: str, description: str, unit: str = "") -> Chart:
    """Horizontal bars, one per row, each split into `parts`; lengths in the rows' own unit."""
    height = _TOP + 40 * max(1, len(rows)) + _BOTTOM
    x0, x1, y1 = 140.0, float(_W - _RIGHT), float(_TOP)
    top = _nice_max(max((sum(values) for _, values in rows), default=0))
    scale = (x1 - x0) / top
    marks = []
    for r, (name, values) in enumerate(rows):
        x = x0
        for p, value in enumerate(values):
            if value:
                marks.append(Mark("bar", p, x, y1 + 40 * r + 8, value * scale, 24,
                                  label=f"{name}, {parts[p]}: {value:g}{unit}"))
                x += value * scale
    y_ticks = tuple(Tick(y1 + 40 * r + 20, name) for r, (name, _) in enumerate(rows))
    step = top / 5
    x_ticks = tuple(Tick(x0 + i * step * scale, f"{i * step:g}{unit}") for i in range(6))
    return Chart(title, description, _W, int(height), (x0, y1, x1, height - _BOTTOM), x_ticks,
                 y_ticks, x_label, "", _legend(parts), tuple(marks), horizontal=True)
