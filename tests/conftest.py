from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Every test: HOME, the XDG homes and the LIQWATCH_* dirs in a temporary directory (the tier cache,
# market history, alert state, config and dashboard settings of the user are never read or
# written), and the session fails if anything was written under the real ones (tests/isolation.py).
from tests.isolation import isolated_dirs, pytest_sessionfinish, pytest_sessionstart

# Hypothesis's default 200 ms deadline per example fails on a busy machine, not on slow code:
# examples may take as long as they need (performance has its own benchmarks in bench/).
settings.register_profile("liqwatch", deadline=None)
settings.load_profile("liqwatch")

__all__ = ["isolated_dirs", "pytest_sessionfinish", "pytest_sessionstart"]

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "venue_vectors.json").read_text())
    return data


@pytest.fixture(autouse=True)
def _offline_calc(monkeypatch: pytest.MonkeyPatch) -> None:
    """`liqwatch calc` fetches a missing or stale tier table from the venue (liqwatch.tierfetch):
    never in tests, but for those that point it at a fake server and lift this."""
    monkeypatch.setenv("LIQWATCH_OFFLINE", "1")
