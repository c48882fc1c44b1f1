from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis's default 200 ms deadline per example fails on a busy machine, not on slow code:
# examples may take as long as they need (performance has its own benchmarks in bench/).
settings.register_profile("liqwatch", deadline=None)
settings.load_profile("liqwatch")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "venue_vectors.json").read_text())
    return data


@pytest.fixture(autouse=True)
def _isolated_tier_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty tier cache (liqwatch.tiercache): the user's is never read."""
    path = tmp_path_factory.mktemp("liqwatch-cache")
    monkeypatch.setenv("LIQWATCH_CACHE_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def _isolated_market_history(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own market history dir (liqwatch.market.history): the user's is never
    written (``liqwatch watch`` against fake servers records what it polls)."""
    path = tmp_path_factory.mktemp("liqwatch-data")
    monkeypatch.setenv("LIQWATCH_DATA_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def _offline_calc(monkeypatch: pytest.MonkeyPatch) -> None:
    """`liqwatch calc` fetches a missing or stale tier table from the venue (liqwatch.tierfetch):
    never in tests, but for those that point it at a fake server and lift this."""
    monkeypatch.setenv("LIQWATCH_OFFLINE", "1")
