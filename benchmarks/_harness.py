"""Shared plumbing for the benchmark scripts: repeated timing, summaries and tables.

Every script times escalate and its baseline in the same process, interleaved repeat by
repeat, so that machine noise (frequency scaling, other load) hits both sides alike. Each
figure is the median over the repeats; the spread is (max - min) / median.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))  # run from a checkout without installing


@dataclass(frozen=True)
class Sample:
    """Repeated measurements of one quantity (seconds, or any unit) and their summary."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def spread(self) -> float:
        """(max - min) / median: 0.05 means every repeat fell within 5% of each other."""
        mid = self.median
        return (self.high - self.low) / mid if mid else 0.0

    def scaled(self, factor: float) -> Sample:
        return Sample(tuple(v * factor for v in self.values))


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes, after a full garbage collection (gc stays enabled)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, Sample]:
    """Call each run once per repeat, alternating the order, and collect what they return.

    Each run returns the quantity it measured (usually seconds per operation); alternating
    which side goes first keeps warm-up and drift from favouring either side.
    """
    got: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for index in range(repeats):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            got[name].append(runs[name]())
    return {name: Sample(tuple(values)) for name, values in got.items()}


def ratio(a: Sample, b: Sample) -> float:
    """Median of a over median of b."""
    return a.median / b.median if b.median else float("inf")


def paired(a: Sample, b: Sample) -> Sample:
    """Repeat-by-repeat ratios a[i] / b[i] of two interleaved samples.

    The two runs of one repeat ran back to back, so their ratio is steadier than either
    figure on a shared machine; its median is the ratio the scripts report.
    """
    return Sample(tuple(x / y for x, y in zip(a.values, b.values, strict=True) if y))


def ratio_text(a: Sample, b: Sample) -> str:
    """"8.8x (8.1-9.6)": the median paired ratio and its range over the repeats."""
    r = paired(a, b)
    return f"{r.median:.2f}x ({r.low:.2f}-{r.high:.2f})"


def us(seconds: float) -> str:
    """Seconds as microseconds with sensible precision."""
    value = seconds * 1e6
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def pct(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, columns padded so it also reads well in a terminal."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(cells[0]), rule, *[line(r) for r in cells[1:]]])


def banner(title: str, argv: Sequence[str] | None = None) -> None:
    """Print what ran, where, and with which interpreter, so a result can be reproduced."""
    import escalate

    command = " ".join(["python", *(argv if argv is not None else sys.argv)])
    print(f"## {title}")
    print()
    print(f"- command: `{command}`")
    print(f"- escalate {escalate.__version__}, Python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} cores")
    print()


def sizes(text: str) -> list[int]:
    """Parse "10k,100k,1m" into [10000, 100000, 1000000]."""
    result = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        scale = 1
        if part.endswith("k"):
            scale, part = 1_000, part[:-1]
        elif part.endswith("m"):
            scale, part = 1_000_000, part[:-1]
        result.append(int(float(part) * scale))
    return result


def human(n: int) -> str:
    """10000 -> "10k", 1000000 -> "1M"."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)
