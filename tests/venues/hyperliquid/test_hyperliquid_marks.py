"""hyperliquid: its mark-price websocket (error channel) against the fake server."""

from __future__ import annotations

import json

from tests.fakes.mark_harness import (
    BTC,
    run,
    streaming,
)


def test_subscription_errors_are_reported_not_skipped() -> None:
    async def body() -> None:
        async with streaming("hyperliquid", [BTC["hyperliquid"]]) as (fake, stream, sink):
            await fake.wait_subscribed({"BTC"})
            await fake.send_raw(json.dumps({"channel": "error", "data": "Invalid subscription {'coin': 'NOPE'}"}))
            await sink.wait(lambda: bool(sink.statuses("error")))
            assert "rejected" in sink.statuses("error")[0].detail
            assert stream.skipped == 0

    run(body)
