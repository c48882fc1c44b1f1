"""Risk bands of the margin ratio: one definition for every view and the default alert levels.

liqwatch's margin ratio is requirement / margin balance (1.0 = liquidation). The bands name how
close that is: ``safe`` below 50 %, ``watch`` from 50 %, ``danger`` from 70 %, ``critical`` from
85 %, and ``liquidating`` once the venue would liquidate (or no ratio exists: no equity left). The
calc table's colours, the dashboard's rows and gauge, and the default ``margin_ratio`` alert levels
all read these thresholds, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Band = Literal["safe", "watch", "danger", "critical", "liquidating"]


@dataclass(frozen=True, slots=True)
class RiskBands:
    watch: float = 0.5
    danger: float = 0.7
    critical: float = 0.85

    @property
    def levels(self) -> tuple[float, float, float]:
        """The thresholds, lowest first (the default margin-ratio alert levels)."""
        return (self.watch, self.danger, self.critical)

    def band(self, ratio: float | None, status: str = "ok") -> Band:
        """The band of a margin ratio; ``status`` other than ``"ok"`` (liquidatable, bankrupt) or
        no ratio at all is ``liquidating``."""
        if status != "ok" or ratio is None:
            return "liquidating"
        if ratio >= self.critical:
            return "critical"
        if ratio >= self.danger:
            return "danger"
        if ratio >= self.watch:
            return "watch"
        return "safe"


BANDS = RiskBands()
