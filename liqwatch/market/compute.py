"""Pure computations on market data and its history: no I/O, no clock (``now`` is passed in).

* :func:`divergence` — (mark - index) / index.
* :func:`change` — the relative change of a series over a window (24 h, 7 d).
* :func:`drawdown_from_max` — 1 - latest / max over a window (8 h), Bybit's and OKX's reference.
* :func:`drawdown_adl_level` — Bybit's contract-PnL-drawdown ADL state from ``/v5/market/adlAlert``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from liqwatch.numfmt import plain

HOUR = 3600.0
DAY = 24 * HOUR
WINDOW_8H = 8 * HOUR
ADL_NEAR = 0.05
"""Bybit: a pnlRatio within this of insurancePnlRatio is ``near`` (issue #13)."""

Sample = tuple[float, float]
"""(ts seconds, value), oldest first."""


def divergence(mark: float | None, index: float | None) -> float | None:
    """(mark - index) / index; None unless both are finite and index > 0."""
    if mark is None or index is None or not (math.isfinite(mark) and math.isfinite(index)) or index <= 0:
        return None
    return (mark - index) / index


def value_at(samples: Sequence[Sample], ts: float, tolerance: float) -> float | None:
    """The value of the last sample at or before ``ts``, if that sample is no older than
    ``ts - tolerance`` (a gap in the history is not a value)."""
    found: float | None = None
    for t, v in samples:
        if t > ts:
            break
        found = v if t >= ts - tolerance else None
    return found


def change(samples: Sequence[Sample], now: float, window: float, tolerance: float | None = None) -> float | None:
    """(latest - then) / |then| where ``then`` is the value ``window`` seconds before ``now``
    (within ``tolerance``, default a quarter of the window); None when the history does not reach
    back that far or ``then`` is 0. ``samples`` oldest first, none after ``now``."""
    if not samples:
        return None
    then = value_at(samples, now - window, window / 4 if tolerance is None else tolerance)
    if then is None or then == 0:
        return None
    return (samples[-1][1] - then) / abs(then)


def drawdown_from_max(samples: Sequence[Sample], now: float, window: float = WINDOW_8H) -> float | None:
    """1 - latest / max(values in [now - window, now]), clamped to [0, 1] (a balance at or below 0
    is a fund exhausted: 100%). None without samples in the window or when the max is <= 0."""
    recent = [v for t, v in samples if now - window <= t <= now]
    if not recent:
        return None
    peak = max(recent)
    if peak <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - recent[-1] / peak))


def drawdown(balance: float, peak: float | None) -> float | None:
    """1 - balance / peak against a venue's own maximum (OKX ``maxBal``), clamped to [0, 1]."""
    if peak is None or not math.isfinite(peak) or peak <= 0 or not math.isfinite(balance):
        return None
    return min(1.0, max(0.0, 1.0 - balance / peak))


def drawdown_adl_level(
    balance: float | None, pnl_ratio: float | None, trigger: float | None, threshold: float | None
) -> tuple[str, str]:
    """(level, why) of one ``/v5/market/adlAlert`` row, by Bybit's published rules: pool equity
    ADL while balance <= 0; contract-PnL-drawdown ADL while balance > adlTriggerThreshold and
    pnlRatio < insurancePnlRatio; ``near`` within :data:`ADL_NEAR` of that trigger."""
    if balance is not None and balance <= 0:
        return "active", f"pool balance {balance:,.2f} <= 0: ADL active"
    if pnl_ratio is None or trigger is None:
        return "none", "no pnlRatio/insurancePnlRatio"
    over = threshold is None or balance is None or balance > threshold
    if pnl_ratio < trigger and over:
        return (
            "active",
            f"pnlRatio {plain(pnl_ratio, 4)} < insurancePnlRatio {plain(trigger, 4)}: ADL active",
        )
    if pnl_ratio - trigger <= ADL_NEAR:
        return (
            "near",
            f"pnlRatio {plain(pnl_ratio, 4)} within {plain(ADL_NEAR)} of insurancePnlRatio {plain(trigger, 4)}",
        )
    return (
        "none",
        f"pnlRatio {plain(pnl_ratio, 4)} vs insurancePnlRatio {plain(trigger, 4)}",
    )
