"""One summary toast for everything that happens at once (alerts, lost positions, feed errors).

In a crash dozens of alerts fire within a second. A toast each would cover the table exactly when
it is needed, so there is only ever one: counts by severity and the newest line, replaced in place
as more arrive. Every line is kept in the alerts pane.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from textual.notifications import Notification, Notify, SeverityLevel

if TYPE_CHECKING:
    from textual.app import App

TIMEOUT = 12.0
"""Seconds the summary stays after the last line it counts."""
ORDER = ("critical", "warning", "info")


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
        if not self._dirty:
            return
        self._dirty = False
        total = sum(self.counts.values())
        counts = " · ".join(f"{self.counts[s]} {s}" for s in ORDER if self.counts[s])
        title = self.newest_title if total == 1 else f"{total} alerts: {counts}"
        message = self.newest if total == 1 else f"newest: {self.newest}\n(a: alerts pane · A: full text)"
        severity: SeverityLevel = (
            "error" if self.counts["critical"] else "warning" if self.counts["warning"] else "information"
        )
        old = self.notification
        if old is not None and old in self.app._notifications:
            self.app._unnotify(old, refresh=False)
        self.notification = Notification(message, title, severity, TIMEOUT, markup=False)
        self.app.post_message(Notify(self.notification))

    def dismiss(self) -> None:
        """Drop the toast and start counting afresh."""
        if self.notification is not None and self.notification in self.app._notifications:
            self.app._unnotify(self.notification)
        self.notification = None
        self.counts.clear()
