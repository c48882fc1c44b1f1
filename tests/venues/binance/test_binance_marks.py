"""binance: its mark-price websocket (server pings, subscription batches and pacing) against the fake server."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.fakes.mark_harness import (
    BTC,
    run,
    streaming,
)
from tests.fakes.ws_server import FakeWsServer


def test_binance_answers_server_pings_and_sends_no_app_pings() -> None:
    async def body() -> None:
        fake = FakeWsServer("binance", server_ping_interval=0.05)
        await fake.start()
        async with streaming("binance", [BTC["binance"]], server=fake, stale_after=30.0) as (_, stream, _sink):
            await fake.wait_for(lambda: fake.client_pongs >= 3)
            assert stream.ping_every is None
            assert all(json.loads(t)["method"] == "SUBSCRIBE" for _, _, t in fake.received)

    run(body)


def test_binance_batches_subscriptions_under_the_message_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    symbols = [f"C{i}/USDT:USDT" for i in range(450)]
    sent: list[float] = []
    send = ClientConnection.send

    async def timed_send(self: ClientConnection, message: Any, *args: Any, **kwargs: Any) -> None:
        # When the client sends (the pacing is its own): arrival times at the fake server would also
        # measure how late a busy event loop got round to reading them.
        sent.append(asyncio.get_running_loop().time())
        await send(self, message, *args, **kwargs)

    monkeypatch.setattr(ClientConnection, "send", timed_send)

    async def body() -> None:
        async with streaming("binance", symbols) as (fake, _stream, _sink):
            await fake.wait_subscribed({f"C{i}USDT" for i in range(450)})
            assert fake.connections == 1
            assert [len(msg["params"]) for _, msg in fake.subscribe_requests] == [200, 200, 50]
            assert len(sent) == len(fake.received) == 3
            assert all(b - a >= 0.1 for a, b in itertools.pairwise(sent))  # < 10 messages per second

    run(body)
