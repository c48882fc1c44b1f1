"""Shared harness of the private-stream tests (tests/feeds, tests/venues): accounts and secrets per
venue, and a PositionHintStream (real ccxt.pro client) running against a fake private-stream server.

The harness checks that no API key, secret, passphrase or Binance listen key reaches any event."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from liqwatch.config import AccountConfig, Secrets
from liqwatch.feeds.events import Event, Positions, Status
from liqwatch.feeds.private import PositionHintStream
from tests.fakes.private_server import DEFAULT_PASSPHRASE, DEFAULT_SECRET, FakePrivateServer
from tests.fakes.rest_server import DEFAULT_KEY
from tests.fakes.ws_server import WAIT_TIMEOUT

VENUES = ["binance", "bybit", "okx", "hyperliquid"]


KEYED = ["binance", "bybit", "okx"]


WALLET = "0x" + "ab" * 20


def account(venue: str, fake: FakePrivateServer | None = None, **extra: Any) -> AccountConfig:
    urls: dict[str, Any] = {"rest_url": fake.url, "ws_url": fake.ws_url} if fake is not None else {}
    if venue == "hyperliquid":
        return AccountConfig(name="main", exchange=venue, wallet=WALLET, **urls, **extra)
    return AccountConfig(
        name="main",
        exchange=venue,
        api_key_env="LW_KEY",
        api_secret_env="LW_SECRET",
        passphrase_env="LW_PASS",
        **urls,
        **extra,
    )


def secrets(venue: str, *, key: str = DEFAULT_KEY, secret: str = DEFAULT_SECRET) -> Secrets:
    if venue == "hyperliquid":
        return Secrets(None, None)
    return Secrets(key, secret, DEFAULT_PASSPHRASE)


class Harness:
    """A stream running against a fake, with what it emitted and how often it asked for a resync."""

    def __init__(self, fake: FakePrivateServer, stream_secrets: Secrets) -> None:
        self.fake = fake
        self.secrets = stream_secrets
        self.events: list[Event] = []
        self.resyncs = 0
        self.stream = PositionHintStream(
            account(fake.name, fake),
            stream_secrets,
            self.events.append,
            on_expired=self._expired,
            backoff_initial=0.01,
            backoff_max=0.05,
        )
        self.task: asyncio.Task[None] | None = None

    def _expired(self) -> None:
        self.resyncs += 1

    def statuses(self, state: str | None = None) -> list[Status]:
        return [e for e in self.events if isinstance(e, Status) and (state is None or e.state == state)]

    def hints(self) -> list[Positions]:
        return [e for e in self.events if isinstance(e, Positions)]

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
        async def poll() -> None:
            while not predicate():
                if self.task is not None and self.task.done():
                    self.task.result()
                    raise AssertionError("the stream returned")
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)

    async def connected(self, count: int = 1) -> None:
        await self.until(lambda: len(self.statuses("connected")) >= count)

    def assert_clean(self) -> None:
        """No secret, passphrase or listen key in any event."""
        text = "\n".join(e.model_dump_json() for e in self.events)
        for value in (DEFAULT_KEY, DEFAULT_SECRET, DEFAULT_PASSPHRASE, *self.fake.issued_keys):
            assert value not in text
        assert all(e.channel == "private" for e in self.statuses())


def run(venue: str, body: Callable[[Harness], Awaitable[None]], **secret_kw: Any) -> Harness:
    async def main() -> Harness:
        async with FakePrivateServer(venue) as fake:
            harness = Harness(fake, secrets(venue, **secret_kw))
            harness.task = asyncio.create_task(harness.stream.run())
            try:
                await body(harness)
            finally:
                harness.task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await harness.task
            harness.assert_clean()
            return harness

    return asyncio.run(asyncio.wait_for(main(), 2 * WAIT_TIMEOUT))  # a safety net: the waits are on conditions
