"""Bounded histories the charts draw from, fed by the snapshots the view already receives.

The state store keeps only the latest of everything; the dashboard keeps, per position, its mark
over the last minutes and, per account, its margin ratio. A point is added only when the value
moved (or at most every ``every`` seconds while it stays put), so a quiet market costs nothing.
"""

from __future__ import annotations

from collections import deque

Point = tuple[float, float]
KEPT = 600
"""Points kept per series (10 minutes of a value that moves every second)."""


class History:
    """Ring buffers of (time, value) by key."""

    def __init__(self, kept: int = KEPT, every: float = 5.0) -> None:
        self.kept = kept
        self.every = every
        self.series: dict[str, deque[Point]] = {}
        self.version = 0
        """Bumped whenever a point is added anywhere."""

    def add(self, key: str, ts: float, value: float | None) -> bool:
        """Add a point; False when nothing was added (same value, too soon)."""
        if value is None:
            return False
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = deque(maxlen=self.kept)
        elif series:
            last_ts, last = series[-1]
            if ts <= last_ts or (last == value and ts - last_ts < self.every):
                return False
        series.append((ts, value))
        self.version += 1
        return True

    def points(self, key: str) -> tuple[Point, ...]:
        series = self.series.get(key)
        return tuple(series) if series else ()

    def last(self, key: str) -> Point | None:
        series = self.series.get(key)
        return series[-1] if series else None

    def retain(self, keys: set[str]) -> None:
        """Forget the series of keys no longer shown (a closed position)."""
        for key in [k for k in self.series if k not in keys]:
            del self.series[key]
