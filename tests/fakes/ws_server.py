"""Fake venue websocket servers (``websockets.asyncio.server`` on 127.0.0.1, port 0) for mark prices.

Each speaks its venue's real public wire format: subscription acks, mark-price pushes the test sets,
the venue's application-level heartbeat (pings answered with the venue's pong) and, for Binance,
server-initiated protocol pings. Test controls::

    async with FakeWsServer("bybit") as fake:           # fake.url -> "ws://127.0.0.1:PORT/v5/public/linear"
        await fake.wait_subscribed({"BTCUSDT"})
        await fake.push_mark("BTCUSDT", 50000.5, ts_ms=1_700_000_000_000)
        await fake.push_delta("BTCUSDT", {"bid1Price": "1"})   # Bybit only: a delta without markPrice
        await fake.send_raw("{not json")                   # to every live socket
        await fake.drop()                                  # close 1001; drop(abrupt=True) aborts TCP
        fake.stall()                                       # current sockets go silent (no acks, pongs, pushes)
        fake.reject(count=3)                               # refuse the next handshakes with HTTP 503
        await fake.restart(until=lambda: ...)              # stop; listen again on the same port once true
        fake.connections, fake.subscribe_requests, fake.client_pings, fake.received

Symbols are the venue's ids (``BTCUSDT``, ``BTC-USDT-SWAP``, ``BTC_USDT``, Hyperliquid coin ``BTC``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

WAIT_TIMEOUT = 30.0
"""Seconds before a wait gives up: a safety net for a hung test, never the expected path."""

VENUE_PATHS = {
    "binance": "/market/ws",
    "bybit": "/v5/public/linear",
    "okx": "/ws/v5/public",
    "hyperliquid": "/ws",
    "bitget": "/v2/ws/public",
    "gate": "/v4/ws/usdt",
    "deribit": "/ws/api/v2",
}


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(eq=False)
class FakeConn:
    number: int
    ws: ServerConnection
    subscribed: set[str] = field(default_factory=set)
    stalled: bool = False
    path: str = ""
    """The request path the client connected to (coin-margined streams use other endpoints)."""


class _Wire:
    """One venue's server side: replies to client frames and formats pushes."""

    def __init__(self, server: FakeWsServer) -> None:
        self.server = server

    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        """Replies to one client frame; records subscriptions and pings on the server."""
        raise NotImplementedError

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        raise NotImplementedError


class _BinanceWire(_Wire):
    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        msg = json.loads(text)
        if msg.get("method") == "SUBSCRIBE":
            self.server.record_subscribe(conn, msg, [p.split("@")[0].upper() for p in msg["params"]])
            return [json.dumps({"result": None, "id": msg["id"]})]
        return [json.dumps({"error": {"code": 2, "msg": "Invalid request"}, "id": msg.get("id")})]

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        return json.dumps(
            {
                "e": "markPriceUpdate",
                "E": ts_ms,
                "s": symbol,
                "p": f"{price:.8f}",
                "i": f"{price * 0.999:.8f}",  # index: never to be taken for the mark
                "P": f"{price * 1.001:.8f}",
                "r": "0.00010000",
                "T": ts_ms + 3_600_000,
            }
        )


class _BybitWire(_Wire):
    def __init__(self, server: FakeWsServer) -> None:
        super().__init__(server)
        self.tickers: dict[str, dict[str, str]] = {}
        self.cs = itertools.count(1000)

    def fields(self, symbol: str) -> dict[str, str]:
        return self.tickers.setdefault(symbol, {"symbol": symbol})

    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        msg = json.loads(text)
        op = msg.get("op")
        if op == "ping":
            self.server.client_pings += 1
            return [
                json.dumps(
                    {
                        "success": True,
                        "ret_msg": "pong",
                        "conn_id": "fake",
                        "req_id": msg.get("req_id", ""),
                        "op": "ping",
                    }
                )
            ]
        if op == "subscribe":
            symbols = [a.removeprefix("tickers.") for a in msg["args"]]
            self.server.record_subscribe(conn, msg, symbols)
            out = [
                json.dumps(
                    {
                        "success": True,
                        "ret_msg": "",
                        "conn_id": "fake",
                        "req_id": msg.get("req_id", ""),
                        "op": "subscribe",
                    }
                )
            ]
            for symbol in symbols:
                snap = dict(self.fields(symbol))
                out.append(
                    json.dumps(
                        {
                            "topic": f"tickers.{symbol}",
                            "type": "snapshot",
                            "ts": _now_ms(),
                            "cs": next(self.cs),
                            "data": snap,
                        }
                    )
                )
            return out
        return [json.dumps({"success": False, "ret_msg": f"unknown op {op}", "conn_id": "fake", "op": op})]

    def delta(self, symbol: str, changed: dict[str, str], ts_ms: int) -> str:
        self.fields(symbol).update(changed)
        data = {"symbol": symbol, **changed}
        return json.dumps(
            {"topic": f"tickers.{symbol}", "type": "delta", "data": data, "cs": next(self.cs), "ts": ts_ms}
        )

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        return self.delta(symbol, {"markPrice": f"{price:.2f}", "lastPrice": f"{price + 1.5:.2f}"}, ts_ms)


class _OkxWire(_Wire):
    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        if text == "ping":
            self.server.client_pings += 1
            return ["pong"]
        msg = json.loads(text)
        if msg.get("op") == "subscribe":
            self.server.record_subscribe(conn, msg, [a["instId"] for a in msg["args"]])
            return [json.dumps({"event": "subscribe", "arg": a, "connId": "a4d3ae55"}) for a in msg["args"]]
        return [
            json.dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text}", "connId": "a4d3ae55"})
        ]

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        return json.dumps(
            {
                "arg": {"channel": "mark-price", "instId": symbol},
                "data": [{"instType": "SWAP", "instId": symbol, "markPx": f"{price}", "ts": str(ts_ms)}],
            }
        )


class _HyperliquidWire(_Wire):
    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        msg = json.loads(text)
        if msg.get("method") == "ping":
            self.server.client_pings += 1
            return [json.dumps({"channel": "pong"})]
        if msg.get("method") == "subscribe" and msg.get("subscription", {}).get("type") == "activeAssetCtx":
            self.server.record_subscribe(conn, msg, [msg["subscription"]["coin"]])
            return [json.dumps({"channel": "subscriptionResponse", "data": msg})]
        return [json.dumps({"channel": "error", "data": f"Invalid subscription {text}"})]

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        ctx = {
            "markPx": f"{price}",
            "midPx": f"{price * 1.002}",  # mid: never to be taken for the mark
            "oraclePx": f"{price * 0.998}",
            "funding": "0.0000125",
            "openInterest": "688.11",
            "premium": "0.00031774",
            "prevDayPx": "15.322",
            "dayNtlVlm": "1169046.29",
            "impactPxs": [f"{price * 0.99}", f"{price * 1.01}"],
        }
        return json.dumps({"channel": "activeAssetCtx", "data": {"coin": symbol, "ctx": ctx}})


class _BitgetWire(_Wire):
    def __init__(self, server: FakeWsServer) -> None:
        super().__init__(server)
        self.inst_types: dict[str, str] = {}
        """instType each instId was subscribed with (COIN-FUTURES for the coin-margined ones)."""

    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        if text == "ping":
            self.server.client_pings += 1
            return ["pong"]
        msg = json.loads(text)
        if msg.get("op") == "subscribe":
            self.inst_types.update({a["instId"]: a["instType"] for a in msg["args"]})
            self.server.record_subscribe(conn, msg, [a["instId"] for a in msg["args"]])
            return [json.dumps({"event": "subscribe", "arg": a}) for a in msg["args"]]
        return [json.dumps({"event": "error", "code": 30001, "msg": f"bad request {text}"})]

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        arg = {"instType": self.inst_types.get(symbol, "USDT-FUTURES"), "channel": "ticker", "instId": symbol}
        item = {
            "instId": symbol,
            "lastPr": f"{price + 2}",
            "bidPr": f"{price + 1.5}",
            "askPr": f"{price + 2.5}",
            "markPrice": f"{price}",
            "indexPrice": f"{price - 3}",
            "fundingRate": "0.000010",
            "ts": str(ts_ms),
        }
        return json.dumps({"action": "snapshot", "arg": arg, "data": [item], "ts": ts_ms + 5})


class _GateWire(_Wire):
    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        msg = json.loads(text)
        now = _now_ms()
        channel = msg.get("channel")
        if channel == "futures.ping":
            self.server.client_pings += 1
            return [
                json.dumps(
                    {"time": now // 1000, "time_ms": now, "channel": "futures.pong", "event": "", "result": None}
                )
            ]
        if channel == "futures.tickers" and msg.get("event") == "subscribe":
            self.server.record_subscribe(conn, msg, list(msg["payload"]))
            return [
                json.dumps(
                    {
                        "time": now // 1000,
                        "time_ms": now,
                        "channel": "futures.tickers",
                        "event": "subscribe",
                        "error": None,
                        "result": {"status": "success"},
                    }
                )
            ]
        return [
            json.dumps(
                {
                    "time": now // 1000,
                    "channel": channel,
                    "event": msg.get("event"),
                    "error": {"code": 2, "message": "bad"},
                }
            )
        ]

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        item = {
            "contract": symbol,
            "last": f"{price + 2}",
            "change_percentage": "0.77",
            "funding_rate": "-0.000114",
            "mark_price": f"{price}",
            "index_price": f"{price - 1}",
            "total_size": "4",
        }
        return json.dumps(
            {"time": ts_ms // 1000, "time_ms": ts_ms, "channel": "futures.tickers", "event": "update", "result": [item]}
        )


class _DeribitWire(_Wire):
    """JSON-RPC 2.0: ``public/subscribe`` to ``ticker.<instrument>.<interval>``, ``public/test`` as ping."""

    def on_text(self, conn: FakeConn, text: str) -> list[str]:
        msg = json.loads(text)
        method, rid = msg.get("method"), msg.get("id")
        now = _now_ms() * 1000
        frame = {"jsonrpc": "2.0", "id": rid, "usIn": now, "usOut": now + 20, "usDiff": 20, "testnet": False}
        if method == "public/test":
            self.server.client_pings += 1
            return [json.dumps({**frame, "result": {"version": "1.2.26"}})]
        channels = msg.get("params", {}).get("channels") if isinstance(msg.get("params"), dict) else None
        if method == "public/subscribe" and isinstance(channels, list):
            good = [c for c in channels if c.startswith("ticker.") and c.endswith((".100ms", ".raw", ".agg2"))]
            if len(good) != len(channels):
                error = {"message": "Invalid params", "data": {"reason": "invalid channel"}, "code": -32602}
                return [json.dumps({**frame, "error": error})]
            self.server.record_subscribe(conn, msg, [c.split(".")[1] for c in channels])
            return [json.dumps({**frame, "result": channels})]
        return [json.dumps({**frame, "error": {"message": "Method not found", "code": -32601}})]

    def mark(self, symbol: str, price: float, ts_ms: int) -> str:
        data = {
            "timestamp": ts_ms,
            "instrument_name": symbol,
            "state": "open",
            "mark_price": price,
            "index_price": price - 3,  # index and last: never to be taken for the mark
            "last_price": price + 2,
            "best_bid_price": price + 1.5,
            "best_ask_price": price + 2.5,
            "current_funding": 0.00001,
            "funding_8h": 0.00002,
            "open_interest": 950.1,
            "stats": {"volume": 120.5, "high": price + 100, "low": price - 100},
        }
        channel = f"ticker.{symbol}.100ms"
        return json.dumps({"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}})


WIRES: dict[str, type[_Wire]] = {
    "binance": _BinanceWire,
    "bybit": _BybitWire,
    "okx": _OkxWire,
    "hyperliquid": _HyperliquidWire,
    "bitget": _BitgetWire,
    "gate": _GateWire,
    "deribit": _DeribitWire,
}


class FakeWsServer:
    """A venue's public websocket on 127.0.0.1 with fault injection (see the module docstring)."""

    def __init__(self, venue: str, *, server_ping_interval: float | None = None) -> None:
        self.venue = venue
        self.wire = WIRES[venue](self)
        self.path = VENUE_PATHS[venue]
        self.server_ping_interval = server_ping_interval
        """Binance-style protocol pings from the server (the client library must pong)."""
        self.port = 0
        self._server: Server | None = None
        self._conns: set[FakeConn] = set()
        self._numbers = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._reject_count = 0
        self._reject_until = 0.0
        # What the clients did:
        self.attempts = 0
        """Handshakes attempted, rejected ones included."""
        self.connections = 0
        """Handshakes accepted."""
        self.rejected = 0
        self.received: list[tuple[int, float, str]] = []
        """Every frame clients sent: (connection number, loop time, text)."""
        self.subscribe_requests: list[tuple[int, Any]] = []
        """Subscribe requests as parsed JSON, with the connection number."""
        self.client_pings = 0
        self.paths: list[str] = []
        """The request path of every accepted connection, in order."""
        self.client_pongs = 0
        """Protocol-level pongs answering ``server_ping_interval`` pings."""

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        self._server = await serve(
            self._handler,
            "127.0.0.1",
            self.port,
            process_request=self._process_request,
            ping_interval=None,
            close_timeout=1,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        self._conns.clear()

    async def restart(self, *, until: Callable[[], bool] | None = None, timeout: float = WAIT_TIMEOUT) -> None:
        """Stop, and listen again on the same port once ``until()`` holds (e.g. a client saw the
        refusal): the down time is a condition, not a duration."""
        await self.stop()
        if until is not None:
            await self.wait_for(until, timeout)
        await self.start()

    async def __aenter__(self) -> FakeWsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- recording -------------------------------------------------------------------------

    def record_subscribe(self, conn: FakeConn, msg: Any, symbols: list[str]) -> None:
        self.subscribe_requests.append((conn.number, msg))
        conn.subscribed.update(symbols)

    @property
    def open_connections(self) -> list[FakeConn]:
        return [c for c in self._conns if not c.stalled]

    def subscribed(self) -> set[str]:
        """Symbols subscribed on the live (not stalled) sockets."""
        return set().union(*(c.subscribed for c in self.open_connections))

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
        """Until ``predicate()`` holds; ``timeout`` is only a safety net for a hung test."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.005)

    async def wait_subscribed(
        self, symbols: set[str], *, connections: int | None = None, timeout: float = WAIT_TIMEOUT
    ) -> None:
        """Until live sockets subscribe to ``symbols`` (after ``connections`` accepted handshakes, if given)."""
        await self.wait_for(
            lambda: symbols <= self.subscribed() and (connections is None or self.connections >= connections), timeout
        )

    # -- pushes ----------------------------------------------------------------------------

    async def _send(self, symbol: str | None, text: str) -> int:
        sent = 0
        for conn in list(self._conns):
            if conn.stalled or (symbol is not None and symbol not in conn.subscribed):
                continue
            with contextlib.suppress(ConnectionClosed):
                await conn.ws.send(text)
                sent += 1
        return sent

    async def push_mark(self, symbol: str, price: float, ts_ms: int | None = None) -> int:
        """Push a mark price to the sockets subscribed to ``symbol``; returns how many got it."""
        return await self._send(symbol, self.wire.mark(symbol, price, _now_ms() if ts_ms is None else ts_ms))

    async def push_delta(self, symbol: str, changed: dict[str, str], ts_ms: int | None = None) -> int:
        """Bybit only: a ticker delta carrying just ``changed``."""
        assert isinstance(self.wire, _BybitWire)
        return await self._send(symbol, self.wire.delta(symbol, changed, _now_ms() if ts_ms is None else ts_ms))

    def set_fields(self, symbol: str, fields: dict[str, str]) -> None:
        """Bybit only: ticker fields the next subscription snapshot carries."""
        assert isinstance(self.wire, _BybitWire)
        self.wire.fields(symbol).update(fields)

    async def send_raw(self, text: str) -> int:
        """Send ``text`` verbatim (malformed JSON, unexpected payloads) to every live socket."""
        return await self._send(None, text)

    # -- faults ----------------------------------------------------------------------------

    async def drop(self, *, code: int = 1001, reason: str = "going away", abrupt: bool = False) -> None:
        """Close every socket (``abrupt``: abort the TCP connection without a close frame)."""
        for conn in list(self._conns):
            if abrupt:
                conn.ws.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code, reason)
            self._conns.discard(conn)

    def stall(self) -> None:
        """The current sockets stop sending anything (acks, pongs, pushes) and ignore what they get."""
        for conn in self._conns:
            conn.stalled = True

    def reject(self, count: int | None = None, seconds: float | None = None) -> None:
        """Refuse the next ``count`` handshakes and/or all handshakes for ``seconds`` (HTTP 503)."""
        if count:
            self._reject_count = count
        if seconds:
            self._reject_until = time.monotonic() + seconds

    # -- server side -----------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.attempts += 1
        if self._reject_count > 0 or time.monotonic() < self._reject_until:
            self._reject_count = max(0, self._reject_count - 1)
            self.rejected += 1
            return Response(503, "Service Unavailable", Headers([("Content-Length", "0")]), b"")
        return None

    async def _pinger(self, conn: FakeConn, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            waiter = await conn.ws.ping()
            await waiter
            self.client_pongs += 1

    async def _handler(self, ws: ServerConnection) -> None:
        conn = FakeConn(next(self._numbers), ws, path=ws.request.path if ws.request is not None else "")
        self.paths.append(conn.path)
        self.connections += 1
        self._conns.add(conn)
        pinger: asyncio.Task[None] | None = None
        if self.server_ping_interval:
            pinger = asyncio.create_task(self._pinger(conn, self.server_ping_interval))
            self._tasks.add(pinger)
        loop = asyncio.get_running_loop()
        try:
            async for raw in ws:
                text = raw.decode() if isinstance(raw, bytes) else raw
                self.received.append((conn.number, loop.time(), text))
                if conn.stalled:
                    continue
                try:
                    replies = self.wire.on_text(conn, text)
                except (ValueError, KeyError, TypeError, AttributeError):
                    replies = []
                for reply in replies:
                    await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)
            if pinger is not None:
                pinger.cancel()
                self._tasks.discard(pinger)
