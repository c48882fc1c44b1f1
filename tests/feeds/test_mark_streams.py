"""Mark-price websocket streams against fake venue servers on 127.0.0.1: wire formats, heartbeats,
and recovery from drops, stalls, malformed data, restarts and refused connections."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from liqwatch.feeds.events import Event, MarkPrice, Status
from liqwatch.feeds.marks import MarkStream, venue_symbol
from liqwatch.venues import HOMES, get_home
from tests.fakes.ports import refused_port
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

ALL = ["binance", "bybit", "okx", "hyperliquid", "bitget", "gate"]
PINGING = ["bybit", "okx", "hyperliquid", "bitget", "gate"]
BTC = {v: "BTC/USDC:USDC" if v == "hyperliquid" else "BTC/USDT:USDT" for v in ALL}
ETH = {v: "ETH/USDC:USDC" if v == "hyperliquid" else "ETH/USDT:USDT" for v in ALL}
NATIVE_BTC = {
    "binance": "BTCUSDT",
    "bybit": "BTCUSDT",
    "okx": "BTC-USDT-SWAP",
    "hyperliquid": "BTC",
    "bitget": "BTCUSDT",
    "gate": "BTC_USDT",
}
NATIVE_ETH = {v: n.replace("BTC", "ETH") for v, n in NATIVE_BTC.items()}
INTERVAL = {"binance": 1.0, "bybit": 3.0, "okx": 10.0, "hyperliquid": 3.0, "bitget": 1.0, "gate": 1.0}
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


# -- wire formats ----------------------------------------------------------------------------


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


# -- heartbeats ------------------------------------------------------------------------------

PING_FRAME: dict[str, Callable[[str], bool]] = {
    "bybit": lambda t: json.loads(t).get("op") == "ping",
    "okx": lambda t: t == "ping",
    "hyperliquid": lambda t: json.loads(t) == {"method": "ping"},
    "bitget": lambda t: t == "ping",
    "gate": lambda t: json.loads(t).get("channel") == "futures.ping",
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


def test_binance_answers_server_pings_and_sends_no_app_pings() -> None:
    async def body() -> None:
        fake = FakeWsServer("binance", server_ping_interval=0.05)
        await fake.start()
        async with streaming("binance", [BTC["binance"]], server=fake, stale_after=30.0) as (_, stream, _sink):
            await fake.wait_for(lambda: fake.client_pongs >= 3)
            assert stream.ping_every is None
            assert all(json.loads(t)["method"] == "SUBSCRIBE" for _, _, t in fake.received)

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


# -- faults ----------------------------------------------------------------------------------


async def _first_mark(fake: FakeWsServer, sink: Collector, venue: str, price: float) -> None:
    """Push until one mark at ``price`` arrives (a fresh socket may still be subscribing)."""
    async with asyncio.timeout(WAIT_TIMEOUT):
        while not any(m.price == price for m in sink.marks()):
            await fake.push_mark(NATIVE_BTC[venue], price)
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("abrupt", [False, True], ids=["close1001", "abrupt"])
@pytest.mark.parametrize("venue", ALL)
def test_drop_reconnects_and_resubscribes(venue: str, abrupt: bool) -> None:
    async def body() -> None:
        async with streaming(venue, [BTC[venue], ETH[venue]]) as (fake, _stream, sink):
            await _first_mark(fake, sink, venue, 100.0)
            await fake.drop(abrupt=abrupt)
            await fake.wait_subscribed({NATIVE_BTC[venue], NATIVE_ETH[venue]}, connections=2)
            await _first_mark(fake, sink, venue, 200.0)
            states = sink.states()
            i = states.index("disconnected")
            assert states[:2] == ["connecting", "connected"]
            assert states[i : i + 4] == ["disconnected", "reconnecting", "connecting", "connected"]
            reason = sink.statuses("disconnected")[0].detail
            assert ("connection lost" in reason) if abrupt else ("1001" in reason)
            assert fake.connections == 2

    run(body)


@pytest.mark.parametrize("venue", ALL)
def test_stall_is_detected_and_reconnected(venue: str) -> None:
    async def body() -> None:
        async with streaming(venue, [BTC[venue]], stale_after=0.3) as (fake, _stream, sink):
            await _first_mark(fake, sink, venue, 100.0)
            fake.stall()
            await fake.wait_subscribed({NATIVE_BTC[venue]}, connections=2)
            await _first_mark(fake, sink, venue, 300.0)
            assert "stalled" in sink.statuses("disconnected")[0].detail

    run(body)


@pytest.mark.parametrize("venue", ALL)
def test_malformed_and_unexpected_messages_are_skipped(venue: str) -> None:
    async def body() -> None:
        async with streaming(venue, [BTC[venue]]) as (fake, stream, sink):
            await fake.wait_subscribed({NATIVE_BTC[venue]})
            await fake.send_raw("{not json")
            await fake.send_raw('{"surprise": [1, 2, 3]}')
            await fake.push_mark(NATIVE_BTC[venue], -5.0)  # not a usable mark price
            await fake.push_mark(NATIVE_BTC[venue], 123.0)
            await sink.wait(lambda: bool(sink.marks()))
            assert [m.price for m in sink.marks()] == [123.0]
            assert stream.skipped == 3
            assert len(sink.statuses("error")) == 1  # one per connection, however many were skipped
            assert fake.connections == 1 and not sink.statuses("disconnected")

    run(body)


@pytest.mark.parametrize("venue", ALL)
def test_server_restart_recovers(venue: str) -> None:
    async def body() -> None:
        async with streaming(venue, [BTC[venue]]) as (fake, _stream, sink):
            await _first_mark(fake, sink, venue, 100.0)
            # listen again only once the client was refused while the server was down
            await fake.restart(until=lambda: any("connect failed" in s.detail for s in sink.statuses("disconnected")))
            await _first_mark(fake, sink, venue, 400.0)
            assert len(sink.statuses("reconnecting")) >= 2  # refused while down, then back
            assert any("connect failed" in s.detail for s in sink.statuses("disconnected"))
            assert sink.states()[-1] == "connected"

    run(body)


def test_backoff_grows_is_jittered_and_resets_after_a_healthy_connection() -> None:
    async def body() -> None:
        fake = FakeWsServer("binance")
        await fake.start()
        fake.reject(count=5)
        initial, cap = 0.01, 0.08
        async with streaming(
            "binance", [BTC["binance"]], server=fake, backoff_initial=initial, backoff_max=cap, rng=random.Random(42)
        ) as (_, stream, sink):
            await _first_mark(fake, sink, "binance", 100.0)
            assert fake.rejected == 5 and len(stream.delays) == 5
            replay = random.Random(42)
            bases = [min(cap, initial * 2**i) for i in range(5)]
            assert bases == [0.01, 0.02, 0.04, 0.08, 0.08]
            for delay, base in zip(stream.delays, bases, strict=True):
                assert base / 2 <= delay <= base
                assert delay == pytest.approx(base / 2 + replay.random() * base / 2)
            assert len({round(d / b, 6) for d, b in zip(stream.delays, bases, strict=True)}) == 5  # jittered
            assert all("HTTP 503" in s.detail for s in sink.statuses("disconnected"))
            await fake.drop()
            await fake.wait_subscribed({"BTCUSDT"}, connections=2)
            assert initial / 2 <= stream.delays[5] <= initial  # reset after marks flowed

    run(body)


def test_splits_symbols_across_connections_where_capped() -> None:
    symbols = [f"C{i}/USDT:USDT" for i in range(120)]
    natives = {f"C{i}USDT" for i in range(120)}

    async def body() -> None:
        async with streaming("bitget", symbols) as (fake, _stream, sink):
            await fake.wait_subscribed(natives, connections=3)
            sizes = sorted(len(c.subscribed) for c in fake.open_connections)
            assert sizes == [20, 50, 50]
            await sink.wait(lambda: len(sink.statuses("connected")) == 3)
            assert {s.detail.split()[0] for s in sink.statuses("connected")} == {"[1/3]", "[2/3]", "[3/3]"}

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


def test_subscription_errors_are_reported_not_skipped() -> None:
    async def body() -> None:
        async with streaming("hyperliquid", [BTC["hyperliquid"]]) as (fake, stream, sink):
            await fake.wait_subscribed({"BTC"})
            await fake.send_raw(json.dumps({"channel": "error", "data": "Invalid subscription {'coin': 'NOPE'}"}))
            await sink.wait(lambda: bool(sink.statuses("error")))
            assert "rejected" in sink.statuses("error")[0].detail
            assert stream.skipped == 0

    run(body)


# -- symbols, construction, robustness -------------------------------------------------------


def test_symbol_conversion() -> None:
    assert venue_symbol("binance", "BTC/USDT:USDT") == "BTCUSDT"
    assert venue_symbol("bybit", "BTC/USDT:USDT") == "BTCUSDT"
    assert venue_symbol("bitget", "ETH/USDT:USDT") == "ETHUSDT"
    assert venue_symbol("okx", "BTC/USDT:USDT") == "BTC-USDT-SWAP"
    assert venue_symbol("okx", "BTC/USD:BTC") == "BTC-USD-SWAP"
    assert venue_symbol("gate", "BTC/USDT:USDT") == "BTC_USDT"
    assert venue_symbol("hyperliquid", "BTC/USDC:USDC") == "BTC"
    assert venue_symbol("hyperliquid", "XYZ-XYZ100/USDC:USDC") == "xyz:XYZ100"
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


def test_unknown_exchange_is_a_construction_error() -> None:
    with pytest.raises(ValueError, match="no mark stream"):
        MarkStream("a", "kraken", ["BTC/USD:USD"], Collector())


def test_unusable_symbols_reported_and_no_symbols_idles() -> None:
    async def body() -> None:
        sink = Collector()
        stream = MarkStream("a", "binance", ["BTC/USD:BTC"], sink, ws_url="ws://127.0.0.1:9/none")
        task = asyncio.create_task(stream.run())
        await sink.wait(lambda: bool(sink.statuses("error")))
        await asyncio.sleep(0.05)
        assert not task.done() and stream.connections == 0
        assert "BTC/USD:BTC" in sink.statuses("error")[0].detail
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(body)


def test_never_raises_when_nothing_listens_or_the_sink_breaks() -> None:
    async def body() -> None:
        calls: list[Event] = []

        def broken(event: Event) -> None:
            calls.append(event)
            raise RuntimeError("sink bug")

        with refused_port() as port:
            stream = MarkStream(
                "a",
                "okx",
                [BTC["okx"]],
                broken,
                ws_url=f"ws://127.0.0.1:{port}/ws",
                backoff_initial=0.005,
                backoff_max=0.02,
            )
            task = asyncio.create_task(stream.run())
            async with asyncio.timeout(WAIT_TIMEOUT):
                while stream.connections < 4:
                    await asyncio.sleep(0.01)
            assert not task.done()
            assert any(isinstance(e, Status) and e.state == "reconnecting" for e in calls)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(body)
