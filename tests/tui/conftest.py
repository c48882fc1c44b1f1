"""Every dashboard test keeps its sort and filter in its own directory (never the user's)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture(autouse=True)
def _config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQWATCH_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def _no_heap_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many apps run in this one process: none freezes the heap (see LiqwatchApp.FREEZE_HEAP)."""
    from liqwatch.tui.app import LiqwatchApp

    monkeypatch.setattr(LiqwatchApp, "FREEZE_HEAP", False)


@pytest.fixture(autouse=True)
def _rows_resort_by_rows_not_by_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The positions table re-sorts at most every RESORT_SECONDS of the wall clock, while these
    tests drive the demo's own clock: a busy machine (two tests at once, other work) took over 2 s
    to its second tick and re-sorted where a quick one had not, and a snapshot's two rows swapped.
    Here the table's wall clock stands still: it re-sorts when its rows change or when asked
    (``force_sort``), the same on every machine."""
    from liqwatch.tui.widgets import positions

    monkeypatch.setattr(positions, "time", SimpleNamespace(monotonic=lambda: 0.0))
