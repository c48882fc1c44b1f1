"""Every venue's mark-price websocket wire format against its fake server (parametrised by venue):
subscriptions, mark parsing, heartbeat frames, default timeouts and URLs, symbol conversion."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from liqwatch.feeds.marks import MarkStream, venue_symbol
from liqwatch.venues import HOMES, get_home
from tests.fakes.mark_harness import (
    ALL,
    BTC,
    CLOCK,
    ETH,
    INTERVAL,
    NATIVE_BTC,
    NATIVE_ETH,
    PINGING,
    Collector,
    run,
    streaming,
)


def _expected_subscribe(venue: str) -> list[Any]:
    b, e = NATIVE_BTC[venue], NATIVE_ETH[venue]
    if venue == "binance":
        return [{"method": "SUBSCRIBE", "params": ["btcusdt@markPrice@1s", "ethusdt@markPrice@1s"], "id": 1}]
    if venue == "bybit":
        return [{"req_id": "1", "op": "subscribe", "args": ["tickers.BTCUSDT", "tickers.ETHUSDT"]}]
    if venue == "okx":
        return [{"op": "subscribe", "args": [{"channel": "mark-price", "instId": s} for s in (b, e)]}]
    if venue == "hyperliquid":
        return [{"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": s}} for s in (b, e)]
    if venue == "bitget":
        return [
            {
                "op": "subscribe",
                "args": [{"instType": "USDT-FUTURES", "channel": "ticker", "instId": s} for s in (b, e)],
            }
        ]
    if venue == "deribit":
        channels = [f"ticker.{s}.100ms" for s in (b, e)]
        return [{"jsonrpc": "2.0", "method": "public/subscribe", "params": {"channels": channels}}]
    return [{"channel": "futures.tickers", "event": "subscribe", "payload": [b, e]}]


@pytest.mark.parametrize("venue", ALL)
def test_subscription_messages_and_connected(venue: str) -> None:
    async def body() -> None:
        async with streaming(venue, [BTC[venue], ETH[venue]]) as (fake, _stream, sink):
            await fake.wait_subscribed({NATIVE_BTC[venue], NATIVE_ETH[venue]})
            await sink.wait(lambda: bool(sink.statuses("connected")))
            requests = [msg for _, msg in fake.subscribe_requests]
            if venue == "gate":
                assert all(isinstance(r.pop("time"), int) for r in requests)
            if venue == "deribit":
                assert all(isinstance(r.pop("id"), int) for r in requests)
            assert requests == _expected_subscribe(venue)
            assert sink.states()[:2] == ["connecting", "connected"]
            assert all(s.channel == "marks" and s.account == "acct" for s in sink.statuses())

    run(body)


@pytest.mark.parametrize("venue", ALL)
def test_mark_prices_parsed_with_venue_time(venue: str) -> None:
    async def body() -> None:
        async with streaming(venue, [BTC[venue], ETH[venue]]) as (fake, _stream, sink):
            await fake.wait_subscribed({NATIVE_BTC[venue], NATIVE_ETH[venue]})
            # several symbols back to back: none may be starved
            await fake.push_mark(NATIVE_BTC[venue], 50123.5, ts_ms=1_700_000_000_123)
            await fake.push_mark(NATIVE_ETH[venue], 2500.25, ts_ms=1_700_000_000_456)
            await fake.push_mark(NATIVE_BTC[venue], 50124.0, ts_ms=1_700_000_001_000)
            await sink.wait(lambda: len(sink.marks()) >= 3)
            marks = sink.marks()
            assert [(m.symbol, m.price) for m in marks] == [
                (BTC[venue], 50123.5),
                (ETH[venue], 2500.25),
                (BTC[venue], 50124.0),
            ]
            venue_times = [1_700_000_000.123, 1_700_000_000.456, 1_700_000_001.0]
            times = [CLOCK] * 3 if venue == "hyperliquid" else venue_times  # Hyperliquid sends no time: the clock
            assert [m.ts for m in marks] == pytest.approx(times)
            mark = sink.marks()[0]
            assert (mark.account, mark.exchange, mark.interval) == ("acct", venue, INTERVAL[venue])

    run(body)


# -- heartbeats ------------------------------------------------------------------------------

PING_FRAME: dict[str, Callable[[str], bool]] = {
    "bybit": lambda t: json.loads(t).get("op") == "ping",
    "okx": lambda t: t == "ping",
    "hyperliquid": lambda t: json.loads(t) == {"method": "ping"},
    "bitget": lambda t: t == "ping",
    "gate": lambda t: json.loads(t).get("channel") == "futures.ping",
    "deribit": lambda t: json.loads(t).get("method") == "public/test",
}


@pytest.mark.parametrize("venue", PINGING)
def test_heartbeat_sent_and_pongs_keep_a_quiet_socket_alive(venue: str) -> None:
    async def body() -> None:
        # Pings every 0.05 s, a stall after 0.5 s without a frame: a pong arriving 0.45 s late
        # (a starved process) is still in time.
        async with streaming(venue, [BTC[venue]], stale_after=0.5, ping_every=0.05) as (fake, stream, sink):
            assert stream.ping_every == 0.05
            await fake.wait_for(lambda: fake.client_pings >= 20)  # >= 1 s with no data at all: 2x the stall timeout
            pings = [t for _, _, t in fake.received if not t.startswith("{") or "subscribe" not in t]
            assert pings and all(PING_FRAME[venue](t) for t in pings)
            assert fake.connections == 1
            assert not sink.statuses("disconnected")

    run(body)


def test_default_heartbeat_and_stall_timeouts() -> None:
    sink = Collector()
    expected = {  # venue: (stall timeout, ping every)
        "binance": (10.0, None),
        "bybit": (40.0, 20.0),
        "okx": (30.0, 15.0),
        "hyperliquid": (40.0, 20.0),
        "bitget": (60.0, 30.0),
        "gate": (40.0, 20.0),
        "deribit": (30.0, 15.0),
    }
    for venue, (idle, ping) in expected.items():
        stream = MarkStream("a", venue, [BTC[venue]], sink)
        assert stream.idle_timeout == idle
        assert stream.ping_every == (None if ping is None else pytest.approx(ping, abs=1e-3))
        assert stream.url == get_home(venue).ws_urls["mainnet"]
        assert MarkStream("a", venue, [], sink, testnet=True).url == get_home(venue).ws_urls["testnet"]
        # a shorter stall timeout: heartbeats at least twice within it (unless set explicitly)
        short = MarkStream("a", venue, [BTC[venue]], sink, stale_after=0.3)
        assert short.idle_timeout == 0.3
        assert short.ping_every == (None if ping is None else pytest.approx(0.15))
        explicit = MarkStream("a", venue, [BTC[venue]], sink, stale_after=0.3, ping_every=0.05)
        assert explicit.ping_every == (None if ping is None else 0.05)  # Binance: the server pings


# -- symbols ---------------------------------------------------------------------------------


def test_symbol_conversion() -> None:
    assert venue_symbol("binance", "BTC/USDT:USDT") == "BTCUSDT"
    assert venue_symbol("bybit", "BTC/USDT:USDT") == "BTCUSDT"
    assert venue_symbol("bitget", "ETH/USDT:USDT") == "ETHUSDT"
    assert venue_symbol("okx", "BTC/USDT:USDT") == "BTC-USDT-SWAP"
    assert venue_symbol("okx", "BTC/USD:BTC") == "BTC-USD-SWAP"
    assert venue_symbol("gate", "BTC/USDT:USDT") == "BTC_USDT"
    assert venue_symbol("hyperliquid", "BTC/USDC:USDC") == "BTC"
    assert venue_symbol("hyperliquid", "XYZ-XYZ100/USDC:USDC") == "xyz:XYZ100"
    assert venue_symbol("deribit", "BTC/USDC:USDC") == "BTC_USDC-PERPETUAL"
    assert venue_symbol("binanceusdm", "BTC/USDT:USDT") == "BTCUSDT"
    for venue, bad in [
        ("binance", "BTC/USD:BTC"),  # inverse: another endpoint
        ("binance", "BTC/USDT:USDT-250328"),  # dated future
        ("binance", "BTCUSDT"),
        ("hyperliquid", "BTC/USDT:USDT"),
        ("nosuchvenue", "BTC/USDT:USDT"),
    ]:
        assert venue_symbol(venue, bad) is None, (venue, bad)
    assert set(HOMES) == set(ALL)
