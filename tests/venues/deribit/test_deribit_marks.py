"""deribit: its JSON-RPC mark-price websocket (ticker channel) against the fake server."""

from __future__ import annotations

import json

import pytest

from liqwatch.feeds.marks import venue_symbol
from liqwatch.feeds.wire import ConnState
from liqwatch.venues.deribit.marks import DeribitMarks
from tests.fakes.mark_harness import CLOCK, run, streaming

BTC, SOL = "BTC/USDC:USDC", "SOL/USDC:USDC"


def test_subscribes_to_the_ticker_channel_and_reads_mark_price() -> None:
    async def body() -> None:
        async with streaming("deribit", [BTC, SOL]) as (fake, _stream, sink):
            await fake.wait_subscribed({"BTC_USDC-PERPETUAL", "SOL_USDC-PERPETUAL"})
            ((_, request),) = fake.subscribe_requests
            assert request["jsonrpc"] == "2.0" and request["method"] == "public/subscribe"
            assert request["params"] == {
                "channels": ["ticker.BTC_USDC-PERPETUAL.100ms", "ticker.SOL_USDC-PERPETUAL.100ms"]
            }
            await sink.wait(lambda: bool(sink.statuses("connected")))
            await fake.push_mark("BTC_USDC-PERPETUAL", 61234.5, ts_ms=1_700_000_000_123)
            await fake.push_mark("SOL_USDC-PERPETUAL", 150.37, ts_ms=1_700_000_000_456)
            await sink.wait(lambda: len(sink.marks()) >= 2)
            marks = sink.marks()
            # mark_price, never last_price (+2) or index_price (-3); the notification's own time
            assert [(m.symbol, m.price, m.ts) for m in marks] == [
                (BTC, 61234.5, pytest.approx(1_700_000_000.123)),
                (SOL, 150.37, pytest.approx(1_700_000_000.456)),
            ]
            assert all(m.exchange == "deribit" and m.interval == 1.0 for m in marks)
            assert marks[0].ts != CLOCK

    run(body)


def test_public_test_pings_keep_a_quiet_socket_alive() -> None:
    async def body() -> None:
        async with streaming("deribit", [BTC], stale_after=0.5, ping_every=0.05) as (fake, _stream, sink):
            await fake.wait_for(lambda: fake.client_pings >= 20)  # > 1 s without data: twice the stall timeout
            pings = [json.loads(t) for _, _, t in fake.received if "public/test" in t]
            assert pings and all(p["method"] == "public/test" for p in pings)
            assert fake.connections == 1
            assert not sink.statuses("disconnected")

    run(body)


def test_a_server_heartbeat_request_is_answered() -> None:
    async def body() -> None:
        async with streaming("deribit", [BTC]) as (fake, _stream, _sink):
            await fake.wait_subscribed({"BTC_USDC-PERPETUAL"})
            before = fake.client_pings
            heartbeat = {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
            await fake.send_raw(json.dumps(heartbeat))
            await fake.wait_for(lambda: fake.client_pings > before)  # answered with public/test

    run(body)


def test_errors_are_reported_and_a_drop_resubscribes() -> None:
    async def body() -> None:
        async with streaming("deribit", [BTC]) as (fake, stream, sink):
            await fake.wait_subscribed({"BTC_USDC-PERPETUAL"})
            error = {"jsonrpc": "2.0", "id": 9, "error": {"code": 11050, "message": "bad_request"}}
            await fake.send_raw(json.dumps(error))
            await sink.wait(lambda: bool(sink.statuses("error")))
            assert "11050 bad_request" in sink.statuses("error")[0].detail
            await fake.drop()
            await fake.wait_subscribed({"BTC_USDC-PERPETUAL"}, connections=2)
            await fake.push_mark("BTC_USDC-PERPETUAL", 60000.0)
            await sink.wait(lambda: bool(sink.marks()))
            assert stream.skipped == 0

    run(body)


def test_native_ids() -> None:
    assert venue_symbol("deribit", BTC) == "BTC_USDC-PERPETUAL"
    assert venue_symbol("deribit", "BTC/USD:BTC") == "BTC-PERPETUAL"
    assert venue_symbol("deribit", "ETH/USD:ETH") == "ETH-PERPETUAL"
    assert venue_symbol("deribit", "BTC/USDT:BTC") is None
    unexpected = DeribitMarks().parse({"jsonrpc": "2.0", "method": "subscription", "params": {}}, ConnState())
    assert unexpected.kind == "unexpected"
