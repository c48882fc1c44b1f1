"""A line chart drawn in braille (2 x 4 dots a cell) with the Line API.

Why not textual-plotext: measured on this machine, one 80 x 15 textual-plotext plot takes about
20 ms to redraw (plotext builds an ANSI string, Rich parses it back), so three charts updating
once a second would spend 6 % of a core: three times the dashboard's whole budget for 50
positions. This widget draws the same kind of chart in about a millisecond, caches its lines, and
redraws only when its data changed. It takes plain data: series of ``(time, value)`` points and
horizontal levels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from liqwatch.numfmt import plain

BRAILLE = 0x2800
DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The dot bit of (row 0-3, column 0-1) inside a braille cell."""
AXIS_STYLE = "dim"
PALETTE = ("cyan", "magenta", "yellow", "green", "blue", "red", "white")


@dataclass(frozen=True)
class Series:
    """A line through ``points`` (time, value), in time order."""

    name: str
    points: tuple[tuple[float, float], ...]
    style: str = "cyan"


@dataclass(frozen=True)
class Level:
    """A horizontal line at ``value`` (a liquidation price, 100 % margin ratio, ...)."""

    name: str
    value: float
    style: str = "red"


@dataclass(frozen=True)
class ChartData:
    series: tuple[Series, ...] = ()
    levels: tuple[Level, ...] = ()
    empty: str = "no data yet"
    """Shown instead of the chart when no series has two points."""
    x_labels: tuple[str, str] | None = None
    """The x axis's two ends (None: the points are (time, value): "-2m" ... "now")."""


def ago(seconds: float) -> str:
    if seconds < 1:
        return "now"
    if seconds < 120:
        return f"-{seconds:.0f}s"
    if seconds < 7200:
        return f"-{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"-{seconds / 3600:.0f}h"
    return f"-{seconds / 86400:.0f}d"


def short_number(value: float) -> str:
    """Axis labels: 4 significant figures, thousands separated."""
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{plain(value / 1e9, 4)}B"
    if magnitude >= 1e6:
        return f"{plain(value / 1e6, 4)}M"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    return f"{plain(value, 4)}"


@dataclass
class _Canvas:
    width: int
    height: int
    bits: list[list[int]] = field(init=False)
    styles: list[list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.bits = [[0] * self.width for _ in range(self.height)]
        self.styles = [[""] * self.width for _ in range(self.height)]

    def dot(self, x: int, y: int, style: str) -> None:
        """Dot (x, y) in dot coordinates, y = 0 at the top."""
        cx, cy = x >> 1, y >> 2
        if 0 <= cx < self.width and 0 <= cy < self.height:
            self.bits[cy][cx] |= DOTS[y & 3][x & 1]
            self.styles[cy][cx] = style

    def line(self, x0: int, y0: int, x1: int, y1: int, style: str) -> None:
        """Dots from (x0, y0) to (x1, y1): every column between, with the vertical run filled."""
        if x1 == x0:
            for y in range(min(y0, y1), max(y0, y1) + 1):
                self.dot(x0, y, style)
            return
        step = 1 if x1 > x0 else -1
        prev = y0
        for x in range(x0, x1 + step, step):
            y = round(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
            lo, hi = (prev, y) if prev <= y else (y, prev)
            for yy in range(lo, hi + 1) if hi - lo > 1 else (y,):
                self.dot(x, yy, style)
            prev = y


def draw(data: ChartData, width: int, height: int, base: Style) -> list[Strip]:
    """The chart as ``height`` lines of ``width`` cells: a legend, the plot with a y axis at the
    left, and a time axis."""
    legend = _legend(data, width, base)
    series = [s for s in data.series if len(s.points) >= 2]
    values = [v for s in series for _, v in s.points if math.isfinite(v)]
    plot_height = height - 2
    if not values or plot_height < 2 or width < 16:
        lines = [legend, Strip([Segment(data.empty, base + Style.parse(AXIS_STYLE))]).adjust_cell_length(width, base)]
        return (lines + [Strip.blank(width, base)] * height)[:height]
    levels = [lv for lv in data.levels if math.isfinite(lv.value)]
    lo = min([*values, *(lv.value for lv in levels)])
    hi = max([*values, *(lv.value for lv in levels)])
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - max(1e-9, abs(lo) * 0.001), hi + max(1e-9, abs(hi) * 0.001)
    labels = [short_number(hi), short_number((hi + lo) / 2), short_number(lo)]
    axis = max(len(s) for s in labels) + 1
    plot_width = width - axis - 1
    t0 = min(s.points[0][0] for s in series)
    t1 = max(s.points[-1][0] for s in series)
    span_t = max(t1 - t0, 1e-9)
    dots_x, dots_y = plot_width * 2, plot_height * 4
    canvas = _Canvas(plot_width, plot_height)

    def dy(value: float) -> int:
        return round((hi - value) / (hi - lo) * (dots_y - 1))

    for level in levels:
        y = dy(level.value)
        for x in range(0, dots_x, 2):
            canvas.dot(x, y, level.style)
    scale_x = (dots_x - 1) / span_t
    scale_y = (dots_y - 1) / (hi - lo)
    for s in series:
        # One pass over the points keeps, per dot column, where the line enters and leaves it and
        # its lowest and highest dot: a long history costs one cheap loop, the drawing is per column.
        columns: dict[int, list[int]] = {}
        for t, v in s.points:
            if not math.isfinite(v):
                continue
            x = round((t - t0) * scale_x)
            y = round((hi - v) * scale_y)
            span = columns.get(x)
            if span is None:
                columns[x] = [y, y, y, y]
            else:
                span[1] = y
                if y < span[2]:
                    span[2] = y
                elif y > span[3]:
                    span[3] = y
        prev: tuple[int, int] | None = None
        style = s.style
        for x in sorted(columns):
            first, last, top, bottom = columns[x]
            if prev is None:
                canvas.dot(x, first, style)
            else:
                canvas.line(prev[0], prev[1], x, first, style)
            for y in range(top, bottom + 1):
                canvas.dot(x, y, style)
            prev = (x, last)
    axis_style = base + Style.parse(AXIS_STYLE)
    styles: dict[str, Style] = {}
    lines = [legend]
    for row in range(plot_height):
        label = labels[0] if row == 0 else labels[2] if row == plot_height - 1 else ""
        if row == plot_height // 2 and plot_height > 2:
            label = labels[1]
        segments = [Segment(label.rjust(axis - 1) + " ┤" if label else " " * axis + "│", axis_style)]
        run: list[str] = []
        run_style = ""
        bits_row, styles_row = canvas.bits[row], canvas.styles[row]
        for col in range(plot_width):
            bits = bits_row[col]
            style = styles_row[col] if bits else ""
            if style != run_style and run:
                segments.append(Segment("".join(run), _style(styles, run_style, base)))
                run = []
            run_style = style
            run.append(chr(BRAILLE + bits) if bits else " ")
        if run:
            segments.append(Segment("".join(run), _style(styles, run_style, base)))
        lines.append(Strip(segments).adjust_cell_length(width, base))
    left, right = data.x_labels or (ago(t1 - t0), "now")
    gap = max(1, plot_width - len(left) - len(right))
    lines.append(
        Strip([Segment(" " * axis + "└" + left + "─" * gap + right, axis_style)]).adjust_cell_length(width, base)
    )
    return lines


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Ascending row numbers as runs of adjacent rows, (start, end) with ``end`` exclusive."""
    out: list[tuple[int, int]] = []
    for row in rows:
        if out and out[-1][1] == row:
            out[-1] = (out[-1][0], row + 1)
        else:
            out.append((row, row + 1))
    return out


def _style(cache: dict[str, Style], name: str, base: Style) -> Style:
    style = cache.get(name)
    if style is None:
        style = cache[name] = base + Style.parse(name) if name else base
    return style


def _legend(data: ChartData, width: int, base: Style) -> Strip:
    segments: list[Segment] = []
    for s in data.series:
        segments += [Segment("⣿ ", base + Style.parse(s.style)), Segment(f"{s.name}  ", base)]
    for level in data.levels:
        if math.isfinite(level.value):
            segments += [Segment("⠤ ", base + Style.parse(level.style)), Segment(f"{level.name}  ", base)]
    return Strip(segments).crop(0, width).adjust_cell_length(width, base)


class LineChart(Widget):
    """Series of (time, value) and horizontal levels; redrawn only when they change."""

    DEFAULT_CSS = """
    LineChart {
        height: 10;
        border-top: hkey $primary-darken-2;
        border-title-align: left;
        border-title-color: $text-muted;
    }
    """

    def __init__(self, title: str = "", *, empty: str = "no data yet", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = title
        self.data = ChartData(empty=empty)
        self.draws = 0
        """How many times the chart was drawn (for tests and benchmarks)."""
        self._lines: list[Strip] | None = None
        self._drawn_for: tuple[int, int, Style] | None = None
        self._base: Style | None = None

    def plot(
        self,
        series: Sequence[Series] = (),
        levels: Sequence[Level] = (),
        *,
        empty: str | None = None,
        x_labels: tuple[str, str] | None = None,
    ) -> None:
        data = ChartData(tuple(series), tuple(levels), self.data.empty if empty is None else empty, x_labels)
        if data == self.data:
            return
        self.data = data
        old, drawn_for = self._lines, self._drawn_for
        if old is None or drawn_for is None or drawn_for[:2] != (self.size.width, self.size.height):
            self._lines = None
            self.refresh()
            return
        # Drawn now, at the size it has: only the lines whose cells changed are repainted (the
        # legend, the time axis and the border's title rarely do; a point that stays in its cell
        # changes nothing).
        width, height, base = drawn_for
        lines = self._lines = draw(data, width, height, base)
        self.draws += 1
        changed = [y for y, (new, was) in enumerate(zip(lines, old, strict=True)) if new != was]
        for start, end in runs(changed):
            self.refresh(Region(0, start, width, end - start))

    def plot_pools(self, pools: dict[str, Sequence[tuple[float, float]]], *, empty: str) -> None:
        """One series per pool (insurance funds): a plain series of (time, value) each."""
        self.plot(
            [Series(name, tuple(points), PALETTE[i % len(PALETTE)]) for i, (name, points) in enumerate(pools.items())],
            empty=empty,
        )

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        base = self._base
        if base is None:  # the widget's style, computed once until the CSS changes
            base = self._base = self.rich_style
        if self._lines is None or self._drawn_for != (width, height, base):
            self._lines = draw(self.data, width, height, base)
            self._drawn_for = (width, height, base)
            self.draws += 1
        return self._lines[y] if y < len(self._lines) else Strip.blank(width, base)
