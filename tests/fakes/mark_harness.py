"""Shared harness of the mark-stream tests (tests/feeds, tests/venues): symbols per venue, a sink that
collects events, and a MarkStream running against a fake venue server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from liqwatch.feeds.events import Event, MarkPrice, Status
from liqwatch.feeds.marks import MarkStream
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

ALL = ["binance", "bybit", "okx", "hyperliquid", "bitget", "gate", "deribit"]


PINGING = ["bybit", "okx", "hyperliquid", "bitget", "gate", "deribit"]


USDC_SETTLED = ("hyperliquid", "deribit")


BTC = {v: "BTC/USDC:USDC" if v in USDC_SETTLED else "BTC/USDT:USDT" for v in ALL}


ETH = {v: "ETH/USDC:USDC" if v in USDC_SETTLED else "ETH/USDT:USDT" for v in ALL}


NATIVE_BTC = {
    "binance": "BTCUSDT",
    "bybit": "BTCUSDT",
    "okx": "BTC-USDT-SWAP",
    "hyperliquid": "BTC",
    "bitget": "BTCUSDT",
    "gate": "BTC_USDT",
    "deribit": "BTC_USDC-PERPETUAL",
}


NATIVE_ETH = {v: n.replace("BTC", "ETH") for v, n in NATIVE_BTC.items()}


INTERVAL = {"binance": 1.0, "bybit": 3.0, "okx": 10.0, "hyperliquid": 3.0, "bitget": 1.0, "gate": 1.0, "deribit": 1.0}


CLOCK = 1_234_567.5


class Collector:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def marks(self, symbol: str | None = None) -> list[MarkPrice]:
        return [e for e in self.events if isinstance(e, MarkPrice) and symbol in (None, e.symbol)]

    def statuses(self, state: str | None = None) -> list[Status]:
        return [e for e in self.events if isinstance(e, Status) and state in (None, e.state)]

    def states(self) -> list[str]:
        return [e.state for e in self.statuses()]

    async def wait(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.005)


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    """Run ``body``; ``timeout`` is a safety net for a hung test: every wait inside is on a condition."""

    async def bounded() -> None:
        await asyncio.wait_for(body(), timeout)

    asyncio.run(bounded())


@contextlib.asynccontextmanager
async def streaming(
    venue: str, symbols: list[str], *, server: FakeWsServer | None = None, **kwargs: Any
) -> AsyncIterator[tuple[FakeWsServer, MarkStream, Collector]]:
    fake = server or FakeWsServer(venue)
    if server is None:
        await fake.start()
    sink = Collector()
    options: dict[str, Any] = {
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
        "rng": random.Random(7),
        "clock": lambda: CLOCK,
    }
    options.update(kwargs)
    stream = MarkStream("acct", venue, symbols, sink, ws_url=fake.url, **options)
    task = asyncio.create_task(stream.run())
    try:
        yield fake, stream, sink
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # run() ends with CancelledError and nothing else
        await fake.stop()
