"""Mark-price websocket plumbing against fake venue servers on 127.0.0.1: recovery from drops,
stalls, malformed data, restarts and refused connections; backoff; connection splits; construction.
Each venue's wire format: tests/venues/test_mark_wires.py and tests/venues/<venue>/test_<venue>_marks.py."""

from __future__ import annotations

import asyncio
import random

import pytest

from liqwatch.feeds.events import Event, Status
from liqwatch.feeds.marks import MarkStream
from tests.fakes.mark_harness import (
    ALL,
    BTC,
    ETH,
    NATIVE_BTC,
    NATIVE_ETH,
    Collector,
    run,
    streaming,
)
from tests.fakes.ports import refused_port
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

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


# -- construction, robustness ----------------------------------------------------------------


def test_unknown_exchange_is_a_construction_error() -> None:
    with pytest.raises(ValueError, match="no mark stream"):
        MarkStream("a", "kraken", ["BTC/USD:USD"], Collector())


def test_unusable_symbols_reported_and_no_symbols_idles() -> None:
    async def body() -> None:
        sink = Collector()
        stream = MarkStream("a", "binance", ["BTC/USD:USDT"], sink, ws_url="ws://127.0.0.1:9/none")
        task = asyncio.create_task(stream.run())
        await sink.wait(lambda: bool(sink.statuses("error")))
        await asyncio.sleep(0.05)
        assert not task.done() and stream.connections == 0
        assert "BTC/USD:USDT" in sink.statuses("error")[0].detail
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
