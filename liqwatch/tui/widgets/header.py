"""The header, whose clock is repainted with the dashboard's own refreshes.

Textual's header clock repaints itself on a timer of its own, once a second at its own phase: the
screen then composes two frames a second instead of one, and at 160 x 50 the clock's frame alone
cost a third of a percent of a core. This clock has no timer: the app ticks it (see
:meth:`DashClock.tick`) in the refresh that repaints the table, or on its own when no refresh came
for most of a second.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.events import Mount
from textual.widgets import Header
from textual.widgets._header import HeaderClock, HeaderClockSpace, HeaderIcon, HeaderTitle

ALONE_AFTER = 0.75
"""Seconds without a refresh after which the clock repaints in a frame of its own."""


class DashClock(HeaderClock):
    """Textual's header clock without its timer: :meth:`tick` sets the time it shows."""

    def __init__(self) -> None:
        super().__init__()
        self._text = ""
        self._refreshed_at = -float("inf")

    def _on_mount(self, event: Mount) -> None:
        event.prevent_default()  # not HeaderClock's: it would start the clock's own timer

    def tick(self, *, refreshed: bool) -> None:
        """Show the time now, where it changed: always with a refresh of the view (``refreshed``),
        else only when the last refresh was most of a second ago. Timed from the last refresh,
        not the last repaint: the view refreshes at a phase of its own (the feed's), and a clock
        that repainted alone whenever its second turned would repaint alone every second, in a
        frame of its own half a second from the view's (the seconds turn between refreshes), at
        the cost of a whole frame. It shows the second of the refresh instead."""
        now = time.monotonic()
        if refreshed:
            self._refreshed_at = now
        elif now - self._refreshed_at < ALONE_AFTER:
            return
        text = datetime.now().time().strftime(self.time_format)
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> RenderResult:
        return Text(self._text or datetime.now().time().strftime(self.time_format))


class DashHeader(Header):
    """Textual's header with :class:`DashClock`."""

    def compose(self) -> ComposeResult:
        yield HeaderIcon().data_bind(Header.icon)
        yield HeaderTitle()
        yield DashClock().data_bind(Header.time_format) if self._show_clock else HeaderClockSpace()
