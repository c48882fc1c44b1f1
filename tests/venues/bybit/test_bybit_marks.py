"""bybit: its mark-price websocket (tickers snapshot and deltas) against the fake server."""

from __future__ import annotations

from tests.fakes.mark_harness import (
    BTC,
    ETH,
    run,
    streaming,
)
from tests.fakes.ws_server import FakeWsServer


def test_bybit_delta_keeps_last_mark_price() -> None:
    async def body() -> None:
        fake = FakeWsServer("bybit")
        await fake.start()
        fake.set_fields("BTCUSDT", {"markPrice": "100.00", "lastPrice": "100.50", "bid1Price": "100.40"})
        async with streaming("bybit", [BTC["bybit"], ETH["bybit"]], server=fake) as (_, stream, sink):
            await sink.wait(lambda: len(sink.marks()) == 1)  # from the subscription snapshot
            assert sink.marks()[0].price == 100.0
            await fake.push_delta("BTCUSDT", {"bid1Price": "99.90", "ask1Price": "100.10"}, ts_ms=1_700_000_002_000)
            await fake.push_delta("ETHUSDT", {"bid1Price": "2500"})  # no mark known yet: nothing to emit
            await fake.push_mark("BTCUSDT", 101.0, ts_ms=1_700_000_003_000)
            await sink.wait(lambda: len(sink.marks()) == 3)
            assert [(m.price, m.ts) for m in sink.marks()[1:]] == [(100.0, 1_700_000_002.0), (101.0, 1_700_000_003.0)]
            assert all(m.symbol == BTC["bybit"] for m in sink.marks())
            assert stream.skipped == 0

    run(body)
