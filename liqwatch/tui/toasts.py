"""One summary toast for everything that happens at once (alerts, lost positions, feed errors).

In a crash dozens of alerts fire within a second. A toast each would cover the table exactly when
it is needed, so there is only ever one: counts by severity and the newest line, replaced in place
as more arrive. Every line is kept in the alerts pane. While a screen is open over the dashboard
(what-if, help, ladder, the palette...) the summary is held back, so that it never covers what the
reader is typing into; it shows again, counting what came meanwhile, once that screen is closed.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.text import Text
from textual.notifications import Notification, Notify, SeverityLevel
from textual.widgets._toast import Toast, ToastRack

if TYPE_CHECKING:
    from textual.app import App

TIMEOUT = 12.0
"""Seconds the summary stays after the last line it counts."""
ORDER = ("critical", "warning", "info")
NEWEST_LINES = 2
"""Lines of the toast the newest alert takes (cut with an ellipsis)."""
TOAST_TEXT = 56
"""The text width of Textual's toast (60 wide less its border and padding), until one is shown."""
REUSE_SECONDS = 4.0
"""A toast with less time than this left is replaced (a new one starts its own timeout)."""


class SummaryToast:
    """The one toast. ``add`` counts a line; ``flush`` shows the summary (once per turn of the loop)."""

    def __init__(self, app: App[None]) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.newest = ""
        self.newest_title = ""
        self.notification: Notification | None = None
        self._dirty = False
        self._since: float | None = None
        self.held = False
        """A screen is open over the dashboard: the summary waits (see :meth:`hold`)."""
        self._waiting = False
        """Lines came while held: a summary is due once the hold ends."""

    def counts_critical(self) -> bool:
        """Whether the summary on screen already counts a critical line."""
        live = self.notification is not None and not self.notification.has_expired
        return (live and self.counts["critical"] > 0) or (self._dirty and self.counts["critical"] > 0)

    def add(self, severity: str, message: str, title: str = "") -> None:
        """Count one line (``severity``: critical, warning or info)."""
        if self.notification is not None and self.notification.has_expired:
            self.counts.clear()  # the last summary timed out: a fresh episode
        self.counts[severity] += 1
        self.newest = message
        self.newest_title = title
        if not self._dirty:
            self._dirty = True
            self.app.call_later(self.flush)

    def flush(self) -> None:
        """Show the summary: the toast on screen is rewritten in place (same height, no layout)
        while it has a while to live; else a new one replaces it."""
        if not self._dirty:
            return
        self._dirty = False
        if self.held:
            self._waiting = True
            return
        total = sum(self.counts.values())
        counts = " · ".join(f"{self.counts[s]} {s}" for s in ORDER if self.counts[s])
        old = self.notification
        toast = self._toast_of(old)
        width = toast.content_region.width if toast is not None and toast.content_region.width else TOAST_TEXT
        title = self.newest_title if total == 1 else f"{total} alerts: {counts} (A: all)"
        message = self.newest if total == 1 else self._newest(width)
        severity: SeverityLevel = (
            "error" if self.counts["critical"] else "warning" if self.counts["warning"] else "information"
        )
        if old is not None and toast is not None and old.time_left > REUSE_SECONDS and old.severity == severity:
            before = self._height(old.title, old.message, width)
            old.title, old.message = title, message
            toast.refresh(layout=self._height(title, message, width) != before)
            return
        if old is not None and old in self.app._notifications:
            self.app._unnotify(old, refresh=False)
        self.notification = Notification(message, title, severity, TIMEOUT, markup=False)
        self.app.post_message(Notify(self.notification))

    def _newest(self, width: int) -> str:
        """The newest line in exactly NEWEST_LINES lines at ``width`` (cut with an ellipsis, padded):
        the summary keeps its height, so rewriting it needs no new layout of the screen."""
        lines = Text(f"newest: {self.newest}").wrap(self.app.console, width)
        kept = [line.plain.rstrip() for line in lines[:NEWEST_LINES]]
        if len(lines) > NEWEST_LINES:
            kept[-1] = kept[-1][: max(0, width - 1)] + "…"
        return "\n".join(kept + [""] * (NEWEST_LINES - len(kept)))

    def _height(self, title: str, message: str, width: int) -> int:
        """Lines the toast's text takes at ``width`` (its title, then the message)."""
        return len(Text(f"{title}\n{message}").wrap(self.app.console, width))

    def _toast_of(self, notification: Notification | None) -> Toast | None:
        if notification is None or notification not in self.app._notifications:
            return None
        for toast in self.app.screen.query(Toast):
            if toast._notification is notification:
                return toast
        return None

    def hold(self, held: bool) -> None:
        """``held``: a screen was opened over the dashboard; the toast on screen goes (its counts
        stay) and nothing shows until the hold ends. Released: the summary shows again if new
        lines came meanwhile, or if the toast taken away had time left."""
        if held == self.held:
            return
        self.held = held
        old = self.notification
        if held:
            if old is not None and old in self.app._notifications:
                self.app._unnotify(old)
                for screen in self.app.screen_stack:  # the dashboard's toast shows through the dimmed backdrop
                    for rack in screen.query(ToastRack):
                        rack.show(self.app._notifications)
            return
        if self._waiting or (old is not None and not old.has_expired):
            self._waiting = False
            self.notification = None  # a new toast, with its full time
            self._dirty = True
            self.flush()

    def dismiss(self) -> None:
        """Drop the toast and start counting afresh."""
        if self.notification is not None and self.notification in self.app._notifications:
            self.app._unnotify(self.notification)
        self.notification = None
        self.counts.clear()
