from __future__ import annotations

from tests.fakes.ccxt_throttle import _no_throttle

__all__ = ["_no_throttle"]
