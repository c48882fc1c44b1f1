"""Every dashboard test keeps its sort and filter in its own directory (never the user's)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQWATCH_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def _no_heap_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many apps run in this one process: none freezes the heap (see LiqwatchApp.FREEZE_HEAP)."""
    from liqwatch.tui.app import LiqwatchApp

    monkeypatch.setattr(LiqwatchApp, "FREEZE_HEAP", False)
