"""ccxt's rate limiter off for tests that talk to local fake servers (one definition, used by the
conftest of every test folder that needs it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from ccxt.async_support.base.exchange import Exchange

    async def throttle(self: Any, cost: Any = None) -> None:
        return None

    monkeypatch.setattr(Exchange, "throttle", throttle)
    monkeypatch.setattr(Exchange, "timeout_on_exit", 0)
    yield
