"""Mark prices of coin-margined (inverse) perpetuals (issue #12): each venue's inverse mark stream
(Binance COIN-M ``<sym>@markPrice@1s`` on dstream, Bybit ``tickers`` on /v5/public/inverse, OKX
``mark-price`` of ``BTC-USD-SWAP``, Bitget ``ticker`` of instType COIN-FUTURES, Gate
``futures.tickers`` on /v4/ws/btc), beside the linear one, against the fake websocket servers."""

from __future__ import annotations

import asyncio
import json

import pytest

from liqwatch.feeds.marks import MarkStream, venue_symbol
from liqwatch.venues import get_home
from tests.fakes.mark_harness import Collector, run, streaming
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

INVERSE = "BTC/USD:BTC"
LINEAR = "BTC/USDT:USDT"
VENUES = ["binance", "bybit", "okx", "bitget", "gate"]
NATIVE = {"binance": "BTCUSD_PERP", "bybit": "BTCUSD", "okx": "BTC-USD-SWAP", "bitget": "BTCUSD", "gate": "BTC_USD"}
LINEAR_NATIVE = {
    "binance": "BTCUSDT",
    "bybit": "BTCUSDT",
    "okx": "BTC-USDT-SWAP",
    "bitget": "BTCUSDT",
    "gate": "BTC_USDT",
}
INVERSE_PATH = {"bybit": "/v5/public/inverse", "gate": "/v4/ws/btc"}
"""Where the fake's URL takes the coin-margined stream (the others: the same endpoint)."""


@pytest.mark.parametrize("venue", VENUES)
def test_inverse_symbol_has_the_venues_id(venue: str) -> None:
    stream = MarkStream("a", venue, [INVERSE, LINEAR], Collector())
    assert stream.rejected == []
    assert [natives for _proto, _url, natives in stream.groups] == [[LINEAR_NATIVE[venue]], [NATIVE[venue]]]
    assert venue_symbol(venue, LINEAR) == LINEAR_NATIVE[venue]


def test_hyperliquid_rejects_an_inverse_symbol() -> None:
    stream = MarkStream("a", "hyperliquid", [INVERSE], Collector())
    assert stream.rejected == [INVERSE]


@pytest.mark.parametrize(
    ("venue", "network", "url"),
    [
        ("binance", "mainnet", "wss://dstream.binance.com/ws"),
        ("binance", "testnet", "wss://dstream.binancefuture.com/ws"),
        ("bybit", "mainnet", "wss://stream.bybit.com/v5/public/inverse"),
        ("bybit", "testnet", "wss://stream-testnet.bybit.com/v5/public/inverse"),
        ("gate", "mainnet", "wss://fx-ws.gateio.ws/v4/ws/btc"),
        ("gate", "testnet", "wss://fx-ws-testnet.gateio.ws/v4/ws/btc"),
        ("okx", "mainnet", "wss://ws.okx.com:8443/ws/v5/public"),
        ("bitget", "mainnet", "wss://ws.bitget.com/v2/ws/public"),
    ],
)
def test_inverse_stream_url(venue: str, network: str, url: str) -> None:
    stream = MarkStream("a", venue, [INVERSE], Collector(), testnet=network == "testnet")
    assert stream.url == get_home(venue).ws_urls[network]
    assert stream.inverse_url == url
    assert [u for _proto, u, _natives in stream.groups] == [url]


@pytest.mark.parametrize("venue", VENUES)
def test_inverse_marks_stream_beside_linear(venue: str) -> None:
    async def body() -> None:
        async with streaming(venue, [LINEAR, INVERSE]) as (fake, _stream, sink):
            await fake.wait_subscribed({LINEAR_NATIVE[venue], NATIVE[venue]}, connections=2)
            async with asyncio.timeout(WAIT_TIMEOUT):
                while {m.symbol for m in sink.marks()} != {LINEAR, INVERSE}:
                    await fake.push_mark(NATIVE[venue], 61000.5)
                    await fake.push_mark(LINEAR_NATIVE[venue], 61010.0)
                    await asyncio.sleep(0.02)
            prices = {m.symbol: m.price for m in sink.marks()}
            assert prices == {INVERSE: 61000.5, LINEAR: 61010.0}
            linear_path = FakeWsServer(venue).path
            assert sorted(fake.paths) == sorted([linear_path, INVERSE_PATH.get(venue, linear_path)])
            assert_subscription(venue, fake)

    run(body)


def assert_subscription(venue: str, fake: FakeWsServer) -> None:
    """The coin-margined subscription as the venue documents it."""
    sent = [msg for _n, msg in fake.subscribe_requests]
    if venue == "binance":
        assert {"btcusd_perp@markPrice@1s"} in [set(m["params"]) for m in sent]
    elif venue == "bitget":
        args = [a for m in sent for a in m["args"]]
        assert {"instType": "COIN-FUTURES", "channel": "ticker", "instId": "BTCUSD"} in args
        assert {"instType": "USDT-FUTURES", "channel": "ticker", "instId": "BTCUSDT"} in args
    elif venue == "okx":
        assert {"channel": "mark-price", "instId": "BTC-USD-SWAP"} in [a for m in sent for a in m["args"]]
    elif venue == "bybit":
        assert ["tickers.BTCUSD"] in [m["args"] for m in sent]
    else:
        assert ["BTC_USD"] in [m["payload"] for m in sent]
    json.dumps(sent)  # what the client sent is plain JSON
