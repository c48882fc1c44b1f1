"""The alerts pane: every alert of this session, newest last, one whole line each.

A line longer than the pane ends in an ellipsis (never wraps into fragments); the full text is in
the alerts screen (``A``). Lines are drawn with the Line API: only the lines on screen are cut
to the width, and an added alert repaints the pane once.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

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


class AlertsPane(ScrollView):
    """History of alerts, one line each, the newest in view (a summary toast counts them)."""

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

    def on_mount(self) -> None:
        self._title()

    def _title(self) -> None:
        self.border_title = (
            f"alerts · {self.count} (a: hide/show · A: full text)" if self.count else "alerts (a: hide/show)"
        )

    def add(self, alert: Alert) -> None:
        self.add_line(AlertLine(alert.ts, alert.severity, alert.message))

    def add_line(self, line: AlertLine) -> None:
        at_end = self.scroll_offset.y >= self.max_scroll_y
        self.lines.append(line)
        self.count += 1
        self._cache.clear()  # the deque may have shifted: indices moved
        self.virtual_size = Size(self.size.width, len(self.lines))
        self._title()
        if at_end:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        self.refresh()

    def plain_lines(self, width: int) -> list[str]:
        """The lines as shown at ``width`` (for tests)."""
        return [self._strip(i, width).text for i in range(len(self.lines))]

    def _strip(self, index: int, width: int) -> Strip:
        key = (index, width)
        strip = self._cache.get(key)
        if strip is None:
            text = self.lines[index].text()
            text.truncate(width, overflow="ellipsis")
            segments = list(text.render(self.app.console))
            strip = Strip(segments).adjust_cell_length(width)
            self._cache[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = y + self.scroll_offset.y
        base = self.rich_style
        if not self.lines:
            if y == 0:
                return Strip([Segment("No alerts yet.", base + Style(dim=True))]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        if index >= len(self.lines):
            return Strip.blank(width, base)
        return self._strip(index, width).apply_style(base)
