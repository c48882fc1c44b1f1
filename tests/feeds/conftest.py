from __future__ import annotations

import pytest

from tests.fakes.ccxt_throttle import _no_throttle

__all__ = ["_no_throttle"]


@pytest.fixture(autouse=True)
def _no_heap_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many apps run in this one process: none freezes the heap (see LiqwatchApp.FREEZE_HEAP)."""
    from liqwatch.tui.app import LiqwatchApp

    monkeypatch.setattr(LiqwatchApp, "FREEZE_HEAP", False)
