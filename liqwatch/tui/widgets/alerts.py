"""The alerts pane: every alert of this session, newest last, one whole line each.

A line longer than the pane ends in an ellipsis (never wraps into fragments); the full text is in
the alerts screen (``A``). Lines are drawn with the Line API: only the lines on screen are cut
to the width, and an added alert repaints the pane alone (no layout of the screen).
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from liqwatch.alerts.model import Alert

SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold yellow", "info": "cyan"}
KEPT = 500
"""Alerts kept in the pane (the oldest drop out)."""


class AlertLine(NamedTuple):
    ts: float
    severity: str
    message: str

    def text(self) -> Text:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.ts))
        style = SEVERITY_STYLE.get(self.severity, "")
        return Text.assemble((f"{stamp} ", "dim"), (f"{self.severity.upper():8s}", style), " ", self.message)


class AlertsPane(Widget):
    """The newest alerts, one line each, newest at the bottom (every one of them, in full, is in
    the alerts screen; a summary toast counts them). An added alert repaints the pane, never the
    layout of the screen."""

    DEFAULT_CSS = """
    AlertsPane {
        background: $surface;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: deque[AlertLine] = deque(maxlen=KEPT)
        self.count = 0
        """Alerts received since start (the pane keeps the latest :data:`KEPT`)."""
        self._cache: dict[tuple[int, int], Strip] = {}
        """Cut lines by (alert number, width)."""

    def on_mount(self) -> None:
        self._title()

    def _title(self) -> None:
        self.border_title = (
            f"alerts · {self.count} (a: hide/show · A: full text)" if self.count else "alerts (a: hide/show)"
        )

    def add(self, alert: Alert) -> None:
        self.add_line(AlertLine(alert.ts, alert.severity, alert.message))

    def add_line(self, line: AlertLine) -> None:
        self.lines.append(line)
        self.count += 1
        if len(self._cache) > 4 * KEPT:
            self._cache.clear()
        self._title()
        self.refresh()

    def plain_lines(self, width: int) -> list[str]:
        """Every kept line as the pane shows it at ``width`` (for tests)."""
        first = self.count - len(self.lines)
        return [self._strip(first + i, self.lines[i], width).text for i in range(len(self.lines))]

    def _strip(self, number: int, line: AlertLine, width: int) -> Strip:
        key = (number, width)
        strip = self._cache.get(key)
        if strip is None:
            text = line.text()
            text.truncate(width, overflow="ellipsis")
            strip = Strip(list(text.render(self.app.console))).adjust_cell_length(width)
            self._cache[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        width, height = self.content_region.width, self.content_region.height
        base = self.rich_style
        if not self.lines:
            if y == 0:
                return Strip([Segment("No alerts yet.", base + Style(dim=True))]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        shown = min(height, len(self.lines))
        index = len(self.lines) - shown + y
        if not 0 <= index < len(self.lines):
            return Strip.blank(width, base)
        number = self.count - len(self.lines) + index
        return self._strip(number, self.lines[index], width).apply_style(base)
