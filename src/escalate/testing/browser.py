"""Headless Chromium for checking escalate's HTML pages: console messages, charts, screenshots.

Chromium runs with a fresh profile and everything that could reach the network or the
user's settings turned off. A page of escalate has no script, so any console message at
all means something is wrong (a browser-side error or a stray script).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import attrs

__all__ = ["CHROMIUM_FLAGS", "BrowserRun", "chart_svgs", "find_chromium", "page_figures",
           "render", "svg_grid_page", "svg_size"]

#: Flags for every run: headless, no sandbox (containers), no GPU, no network side channels.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--enable-logging=stderr", "--v=0")

_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? ?(.*)")


@attrs.frozen
class BrowserRun:
    """What one Chromium run gave: the DOM after loading, console messages, the screenshot."""

    dom: str
    console: tuple[str, ...]
    screenshot: Path | None


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render(page: Path, *, screenshot: Path | None = None, size: tuple[int, int] = (1200, 3000),
           chromium: str | None = None, timeout: float = 120) -> BrowserRun:
    """Load `page` in headless Chromium: dump its DOM, collect console messages and, with
    `screenshot`, save a PNG of the window. Raises FileNotFoundError without Chromium and
    subprocess.CalledProcessError when Chromium fails."""
    binary = chromium or find_chromium()
    if binary is None:
        raise FileNotFoundError("no chromium executable on PATH")
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="escalate-chromium-") as profile:
        base = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}"]
        done = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                              timeout=timeout, check=True)
        console = [m.group(1) for line in done.stderr.splitlines()
                   if (m := _CONSOLE.search(line))]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            shot = subprocess.run([*base, f"--screenshot={screenshot.resolve()}", url],
                                  capture_output=True, text=True, timeout=timeout, check=True)
            console += [m.group(1) for line in shot.stderr.splitlines()
                        if (m := _CONSOLE.search(line))]
    return BrowserRun(done.stdout, tuple(console), screenshot)


class _SvgCollector(HTMLParser):
    """Collects the markup of every <svg data-chart=...> element of a page."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.lines = [0]
        for line in source.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.depth = 0
        self.start = 0
        self.name = ""
        self.charts: dict[str, str] = {}

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "svg":
            return
        if self.depth == 0 and dict(attrs).get("data-chart"):
            self.start, self.name = self._offset(), str(dict(attrs)["data-chart"])
            self.depth = 1
        elif self.depth:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self.depth:
            self.depth -= 1
            if self.depth == 0:
                end = self.source.index(">", self._offset()) + 1
                self.charts[self.name] = self.source[self.start:end]


class _FigureCollector(HTMLParser):
    """Collects the text of every element with a data-figure attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.key: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        key = dict(attrs).get("data-figure")
        if key:
            self.key, self.text = key, []

    def handle_data(self, data: str) -> None:
        if self.key is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self.key is not None:
            self.figures[self.key] = "".join(self.text).strip()
            self.key = None


def page_figures(html: str, *prefixes: str) -> dict[str, str]:
    """The figures a report page shows (`data-figure` key -> text), optionally only those
    whose key starts with one of `prefixes` ("totals|", "trend|")."""
    collector = _FigureCollector()
    collector.feed(html)
    collector.close()
    return {key: text for key, text in collector.figures.items()
            if not prefixes or key.startswith(prefixes)}


def chart_svgs(html: str) -> dict[str, str]:
    """The markup of each chart of a page (each `<svg data-chart="KEY">`), by key."""
    collector = _SvgCollector(html)
    collector.feed(html)
    collector.close()
    return collector.charts


def svg_size(svg: str) -> tuple[int, int]:
    """The width and height attributes of an <svg> element's markup."""
    head = svg[:svg.index(">")]
    width = re.search(r'\swidth="(\d+(?:\.\d+)?)"', head)
    height = re.search(r'\sheight="(\d+(?:\.\d+)?)"', head)
    if width is None or height is None:
        raise ValueError("the chart's <svg> has no width and height")
    return round(float(width.group(1))), round(float(height.group(1)))


def svg_grid_page(svgs: list[str]) -> tuple[str, list[tuple[int, int, int, int]]]:
    """A page with each chart alone, at its own size, one below the other on white, and the
    box (left, top, right, bottom) of each, so that one screenshot shows every chart."""
    boxes = []
    top = 0
    for svg in svgs:
        width, height = svg_size(svg)
        boxes.append((0, top, width, top + height))
        top += height
    cells = "".join(
        f"<div style='position:absolute;left:0;top:{box[1]}px'>{svg}</div>"
        for svg, box in zip(svgs, boxes, strict=True))
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>body{margin:0;"
            "background:#fff} svg{display:block}</style></head><body>" + cells
            + "</body></html>")
    return page, boxes
