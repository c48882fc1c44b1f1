"""Mark prices over each venue's public websocket (``websockets`` asyncio client), robustly.

Only MARK prices are streamed, never mid or last prices: liquidation is triggered by the mark.

One :class:`MarkStream` per account: it converts the unified symbols to the venue's ids, splits them
across sockets where the venue caps subscriptions per connection, subscribes in batches paced under
the venue's message-rate limit, keeps the venue's heartbeat, and emits :class:`MarkPrice` and
:class:`Status` (channel ``marks``) events. Every drop, close, error or stall (no message for
``max(3 x interval, heartbeat timeout)``) leads to a reconnect with jittered exponential backoff
(reset after a connection that delivered marks) and a full resubscription. Malformed or unexpected
payloads are skipped and counted (one ``error`` status per connection says so); ``run`` only ever
raises :class:`asyncio.CancelledError`.

Per venue (see ``docs``/ecosystem research section 2):

=========== =========================== ====================== ================================
venue       channel                     mark field, time       heartbeat
=========== =========================== ====================== ================================
binance     ``<sym>@markPrice@1s``      ``p``, ``E`` (ms)      server pings (answered by websockets)
bybit       ``tickers.<SYM>``           ``markPrice``, ``ts``  ``{"op":"ping"}`` every 20 s
okx         ``mark-price``              ``markPx``, ``ts``     text ``ping`` after 15 s idle
hyperliquid ``activeAssetCtx``          ``ctx.markPx``, none   ``{"method":"ping"}`` every 20 s
bitget      ``ticker`` (USDT-FUTURES)   ``markPrice``, ``ts``  text ``ping`` every 30 s
gate        ``futures.tickers``         ``mark_price``, time   ``futures.ping`` every 20 s
=========== =========================== ====================== ================================
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from liqwatch.feeds.base import Sink
from liqwatch.feeds.events import Event, MarkPrice, Status

__all__ = ["DEFAULT_WS", "VENUES", "MarkStream", "venue_symbol"]

log = logging.getLogger(__name__)

DEFAULT_WS: dict[str, dict[str, str]] = {
    "binance": {
        # 2026 URL split: mark prices live under /market (ecosystem 1.6); testnet keeps the legacy layout.
        "mainnet": "wss://fstream.binance.com/market/ws",
        "testnet": "wss://fstream.binancefuture.com/ws",
    },
    "bybit": {
        "mainnet": "wss://stream.bybit.com/v5/public/linear",
        "testnet": "wss://stream-testnet.bybit.com/v5/public/linear",
    },
    "okx": {
        "mainnet": "wss://ws.okx.com:8443/ws/v5/public",
        "testnet": "wss://wspap.okx.com:8443/ws/v5/public",
    },
    "hyperliquid": {
        "mainnet": "wss://api.hyperliquid.xyz/ws",
        "testnet": "wss://api.hyperliquid-testnet.xyz/ws",
    },
    "bitget": {
        "mainnet": "wss://ws.bitget.com/v2/ws/public",
        "testnet": "wss://wspap.bitget.com/v2/ws/public",
    },
    "gate": {
        "mainnet": "wss://fx-ws.gateio.ws/v4/ws/usdt",
        "testnet": "wss://fx-ws-testnet.gateio.ws/v4/ws/usdt",
    },
}

_ALIASES = {"binanceusdm": "binance", "gateio": "gate"}
_UNIFIED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9]+):([A-Za-z0-9]+)$")

Mark = tuple[str, Any, Any]
"""(venue symbol id as it appears in the data, raw price, raw venue time in ms or None)."""


@dataclass(frozen=True)
class _Parsed:
    kind: Literal["marks", "ack", "pong", "ignore", "error", "unexpected"]
    marks: list[Mark] = field(default_factory=list)
    detail: str = ""
    reply: str | None = None
    """Text to send back (a venue that pings the client at application level)."""


_IGNORE = _Parsed("ignore")
_PONG = _Parsed("pong")
_ACK = _Parsed("ack")


def _unexpected(detail: str) -> _Parsed:
    return _Parsed("unexpected", detail=detail)


@dataclass
class _ConnState:
    """Per-connection parser state (Bybit ticker snapshots that deltas merge into)."""

    tickers: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Venue:
    """A venue's wire protocol for mark prices and its connection rules."""

    name = ""
    interval = 1.0
    """Expected update interval of the channel (seconds); a symbol is stale after 3x."""
    heartbeat_timeout = 10.0
    """Silence tolerated on a live socket given our heartbeats (the pong must come back within it)."""
    ping_every: float | None = None
    ping_when_idle = False
    """Ping after ``ping_every`` seconds without any incoming message (OKX) instead of on a fixed cadence."""
    per_connection = 200
    per_message = 50
    send_gap = 0.15
    """Minimum seconds between two subscribe messages on one socket."""
    stagger = 0.25
    """Seconds between opening the sockets of one stream (connection-rate limits)."""

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if settle != quote:  # inverse and quanto contracts use other endpoints
            return None
        return f"{base.upper()}{quote.upper()}"

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        raise NotImplementedError

    def ping(self) -> str | None:
        return None

    def parse_text(self, text: str) -> _Parsed | None:
        """Non-JSON frames this venue sends (``pong``); None to parse as JSON."""
        return None

    def parse(self, msg: Any, state: _ConnState) -> _Parsed:
        raise NotImplementedError


def _batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Binance(_Venue):
    name = "binance"
    interval = 1.0
    heartbeat_timeout = 10.0  # @1s streams push every second; the server pings every 3 min
    per_connection = 1000  # documented cap 1024 streams per connection
    per_message = 200
    send_gap = 0.15  # 10 incoming messages/s per connection

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps(
                {"method": "SUBSCRIBE", "params": [f"{n.lower()}@markPrice@1s" for n in batch], "id": next(self._ids)}
            )
            for batch in _batches(natives, self.per_message)
        ]

    def parse(self, msg: Any, state: _ConnState) -> _Parsed:
        if isinstance(msg, dict) and "stream" in msg and "data" in msg:  # combined stream wrapper
            msg = msg["data"]
        items = msg if isinstance(msg, list) else [msg]
        marks: list[Mark] = []
        for item in items:
            if not isinstance(item, dict):
                return _unexpected("not an object")
            if item.get("e") == "markPriceUpdate":
                if not isinstance(item.get("s"), str):
                    return _unexpected("markPriceUpdate without a symbol")
                marks.append((item["s"].upper(), item.get("p"), item.get("E")))
            elif "error" in item:
                return _Parsed("error", detail=f"request rejected: {item['error']}")
            elif "id" in item and "result" in item:
                return _ACK if item["result"] is None else _IGNORE
            else:
                return _unexpected(f"unknown event {str(item.get('e'))[:40]!r}")
        return _Parsed("marks", marks)


class _Bybit(_Venue):
    name = "bybit"
    interval = 3.0  # deltas come only when a field changes; quiet contracts can pause for seconds
    heartbeat_timeout = 40.0
    ping_every = 20.0
    per_connection = 200
    per_message = 10
    send_gap = 0.1

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"req_id": str(next(self._ids)), "op": "subscribe", "args": [f"tickers.{n}" for n in batch]})
            for batch in _batches(natives, self.per_message)
        ]

    def ping(self) -> str:
        return json.dumps({"req_id": str(next(self._ids)), "op": "ping"})

    def parse(self, msg: Any, state: _ConnState) -> _Parsed:
        if not isinstance(msg, dict):
            return _unexpected("not an object")
        op = msg.get("op")
        if op in ("ping", "pong"):
            return _PONG
        if op == "subscribe":
            return _ACK if msg.get("success") else _Parsed("error", detail=f"subscribe rejected: {msg.get('ret_msg')}")
        topic = msg.get("topic")
        if not isinstance(topic, str) or not topic.startswith("tickers."):
            return _IGNORE if op else _unexpected(f"unknown topic {str(topic)[:40]!r}")
        data = msg.get("data")
        if not isinstance(data, dict):
            return _unexpected("ticker without data")
        symbol = str(data.get("symbol") or topic.removeprefix("tickers."))
        if msg.get("type") == "snapshot" or symbol not in state.tickers:
            state.tickers[symbol] = dict(data)
        else:  # delta: only the fields that changed
            state.tickers[symbol].update(data)
        mark = state.tickers[symbol].get("markPrice")
        if mark in (None, ""):
            return _IGNORE  # a delta before any snapshot carrying the mark
        return _Parsed("marks", [(symbol, mark, msg.get("ts"))])


class _TextPingVenue(_Venue):
    """OKX's websocket conventions, which Bitget follows: text ``ping``/``pong`` heartbeats, and
    ``event`` frames (subscribe acks, errors, notices) beside ``arg``/``data`` pushes."""

    def ping(self) -> str:
        return "ping"

    def parse_text(self, text: str) -> _Parsed | None:
        if text == "pong":
            return _PONG
        if text == "ping":
            return _Parsed("pong", reply="pong")
        return None

    def control(self, msg: Any) -> _Parsed | None:
        """The answer for a non-push frame, or None for a data push."""
        if not isinstance(msg, dict):
            return _unexpected("not an object")
        event = msg.get("event")
        if event == "subscribe":
            return _ACK
        if event == "error":
            return _Parsed("error", detail=f"request rejected: {msg.get('code')} {msg.get('msg')}")
        if event is not None:
            return _IGNORE  # notice, channel-conn-count, unsubscribe...
        return None


class _Okx(_TextPingVenue):
    name = "okx"
    interval = 10.0  # pushed within 200 ms of a change, else every 10 s
    heartbeat_timeout = 30.0  # the server closes after 30 s without traffic
    ping_every = 15.0
    ping_when_idle = True
    per_connection = 300
    per_message = 100  # one request may carry many args (64 KB); 480 requests/hour per connection
    send_gap = 0.2
    stagger = 0.4  # 3 new connections per second per IP

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if settle not in (quote, base):
            return None
        return f"{base.upper()}-{quote.upper()}-SWAP"

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"op": "subscribe", "args": [{"channel": "mark-price", "instId": n} for n in batch]})
            for batch in _batches(natives, self.per_message)
        ]

    def parse(self, msg: Any, state: _ConnState) -> _Parsed:
        control = self.control(msg)
        if control is not None:
            return control
        arg = msg.get("arg")
        data = msg.get("data")
        if not isinstance(arg, dict) or arg.get("channel") != "mark-price" or not isinstance(data, list):
            return _unexpected("not a mark-price push")
        marks: list[Mark] = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("instId"), str):
                return _unexpected("mark-price item without instId")
            marks.append((item["instId"], item.get("markPx"), item.get("ts")))
        return _Parsed("marks", marks)


class _Hyperliquid(_Venue):
    name = "hyperliquid"
    interval = 3.0  # oracle prices (and with them the mark) move every 3 s
    heartbeat_timeout = 40.0  # the server closes sockets idle for 60 s
    ping_every = 20.0
    per_connection = 1000  # 1000 subscriptions per IP
    per_message = 1  # one subscription per request
    send_gap = 0.04  # 2000 messages per minute per IP

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if quote.upper() != "USDC" or settle.upper() != "USDC":
            return None
        dex, sep, coin = base.partition("-")
        if sep:  # ccxt writes the builder-dex coin "xyz:XYZ100" as "XYZ-XYZ100/USDC:USDC"
            return f"{dex.lower()}:{coin}"
        return base

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": n}}) for n in natives
        ]

    def ping(self) -> str:
        return json.dumps({"method": "ping"})

    def parse(self, msg: Any, state: _ConnState) -> _Parsed:
        if not isinstance(msg, dict):
            return _unexpected("not an object")
        channel = msg.get("channel")
        if channel == "pong":
            return _PONG
        if channel == "subscriptionResponse":
            return _ACK
        if channel == "error":
            return _Parsed("error", detail=f"request rejected: {str(msg.get('data'))[:200]}")
        if channel != "activeAssetCtx":
            return _unexpected(f"unknown channel {str(channel)[:40]!r}")
        data = msg.get("data")
        ctx = data.get("ctx") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("coin"), str) or not isinstance(ctx, dict):
            return _unexpected("activeAssetCtx without coin or ctx")
        return _Parsed("marks", [(data["coin"], ctx.get("markPx"), None)])  # no timestamp: use the clock


class _Bitget(_TextPingVenue):
    name = "bitget"
    interval = 1.0
    heartbeat_timeout = 60.0
    ping_every = 30.0
    per_connection = 50  # Bitget recommends fewer than 50 channels per connection
    per_message = 50
    send_gap = 0.15  # 10 messages/s per connection

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps(
                {
                    "op": "subscribe",
                    "args": [{"instType": "USDT-FUTURES", "channel": "ticker", "instId": n} for n in batch],
                }
            )
            for batch in _batches(natives, self.per_message)
        ]

    def parse(self, msg: Any, state: _ConnState) -> _Parsed:
        control = self.control(msg)
        if control is not None:
            return control
        arg = msg.get("arg")
        data = msg.get("data")
        if not isinstance(arg, dict) or arg.get("channel") != "ticker" or not isinstance(data, list):
            return _unexpected("not a ticker push")
        marks: list[Mark] = []
        for item in data:
            if not isinstance(item, dict):
                return _unexpected("ticker item not an object")
            inst = item.get("instId") or arg.get("instId")
            if not isinstance(inst, str):
                return _unexpected("ticker item without instId")
            marks.append((inst, item.get("markPrice"), item.get("ts") or msg.get("ts")))
        return _Parsed("marks", marks)


class _Gate(_Venue):
    name = "gate"
    interval = 1.0
    heartbeat_timeout = 40.0
    ping_every = 20.0
    per_connection = 100
    per_message = 100
    send_gap = 0.15

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if settle != quote:
            return None
        return f"{base.upper()}_{quote.upper()}"

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"time": int(time.time()), "channel": "futures.tickers", "event": "subscribe", "payload": batch})
            for batch in _batches(natives, self.per_message)
        ]

    def ping(self) -> str:
        return json.dumps({"time": int(time.time()), "channel": "futures.ping"})

    def parse(self, msg: Any, state: _ConnState) -> _Parsed:
        if not isinstance(msg, dict):
            return _unexpected("not an object")
        channel = msg.get("channel")
        if channel == "futures.pong":
            return _PONG
        if channel != "futures.tickers":
            return _unexpected(f"unknown channel {str(channel)[:40]!r}")
        if msg.get("error"):
            return _Parsed("error", detail=f"request rejected: {msg['error']}")
        event = msg.get("event")
        if event == "subscribe":
            return _ACK
        if event not in ("update", "all"):
            return _IGNORE
        result = msg.get("result")
        if not isinstance(result, list):
            return _unexpected("tickers update without a result list")
        when = msg.get("time_ms")
        if when is None and isinstance(msg.get("time"), int | float):
            when = msg["time"] * 1000
        marks: list[Mark] = []
        for item in result:
            if not isinstance(item, dict) or not isinstance(item.get("contract"), str):
                return _unexpected("ticker without contract")
            marks.append((item["contract"], item.get("mark_price"), when))
        return _Parsed("marks", marks)


VENUES: dict[str, type[_Venue]] = {
    "binance": _Binance,
    "bybit": _Bybit,
    "okx": _Okx,
    "hyperliquid": _Hyperliquid,
    "bitget": _Bitget,
    "gate": _Gate,
}


def _venue_name(exchange: str) -> str:
    name = exchange.lower()
    return _ALIASES.get(name, name)


def venue_symbol(exchange: str, symbol: str) -> str | None:
    """The venue's id for a unified perpetual symbol (``BTC/USDT:USDT`` -> ``BTC-USDT-SWAP`` on OKX), or
    None when it is not a perpetual this stream can serve."""
    cls = VENUES.get(_venue_name(exchange))
    m = _UNIFIED.match(symbol.strip())
    if cls is None or m is None:
        return None
    return cls().native(m[1], m[2].upper(), m[3].upper())


def _price(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _venue_ts(raw: Any) -> float | None:
    """Venue time in ms (number or numeric string) to seconds; None when absent or absurd."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        ms = float(raw)
    except (TypeError, ValueError):
        return None
    return ms / 1000.0 if math.isfinite(ms) and ms > 0 else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        frame = exc.rcvd
        if frame is None:
            return "connection lost (no close frame)"
        reason = f" {frame.reason}" if frame.reason else ""
        return f"closed by server: {frame.code}{reason}"
    if isinstance(exc, InvalidStatus):
        return f"connection rejected: HTTP {exc.response.status_code}"
    if isinstance(exc, InvalidHandshake):
        return f"handshake failed: {exc}"
    if isinstance(exc, TimeoutError):
        return "connect timed out"
    if isinstance(exc, OSError):
        return f"connect failed: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _Session:
    """One connection attempt of one socket."""

    healthy: bool = False
    """Marks arrived: the backoff resets after this connection."""
    connected: bool = False
    skipped: int = 0


class MarkStream:
    """Stream mark prices for ``symbols`` (ccxt unified) of one venue into ``sink``.

    ``stale_after`` overrides the stall timeout (default ``max(3 x interval, heartbeat timeout)`` of
    the venue); heartbeats are then sent at least twice within it. ``ping_every`` overrides the
    heartbeat period of a venue that has one (tests set both rather than race the defaults).
    ``clock`` stamps events when the venue sends no time; ``rng`` jitters the backoff (seed it in
    tests)."""

    def __init__(
        self,
        account: str,
        exchange: str,
        symbols: list[str],
        sink: Sink,
        *,
        ws_url: str | None = None,
        testnet: bool = False,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        stale_after: float | None = None,
        ping_every: float | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        venue = _venue_name(exchange)
        if venue not in VENUES:
            raise ValueError(f"no mark stream for exchange {exchange!r} (known: {', '.join(VENUES)})")
        self.account = account
        self.exchange = exchange
        self.venue: _Venue = VENUES[venue]()
        self.url = ws_url or DEFAULT_WS[venue]["testnet" if testnet else "mainnet"]
        self.backoff_initial = max(backoff_initial, 0.0)
        self.backoff_max = max(backoff_max, self.backoff_initial)
        self.clock = clock
        self.rng = rng or random.Random()
        self.idle_timeout = (
            stale_after
            if stale_after is not None and stale_after > 0
            else max(3 * self.venue.interval, self.venue.heartbeat_timeout)
        )
        ping = self.venue.ping_every
        self.ping_every: float | None = None if ping is None else min(ping, self.idle_timeout / 2)
        if ping is not None and ping_every is not None and ping_every > 0:
            self.ping_every = ping_every
        self._sink = sink
        self._by_native: dict[str, str] = {}
        self._reported: set[str] = set()
        self.rejected: list[str] = []
        """Symbols that are not perpetuals of this venue (reported once as an ``error`` status)."""
        for symbol in symbols:
            m = _UNIFIED.match(symbol.strip())
            native = self.venue.native(m[1], m[2].upper(), m[3].upper()) if m else None
            if native is None:
                self.rejected.append(symbol)
            else:
                self._by_native.setdefault(native, symbol)
        self.natives = list(self._by_native)
        self.connections = 0
        """Connection attempts made (all sockets)."""
        self.skipped = 0
        """Malformed or unexpected messages skipped (all sockets, all connections)."""
        self.delays: list[float] = []
        """Every reconnect delay chosen, in order (for diagnostics and tests)."""

    # -- events -------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        try:
            self._sink(event)
        except Exception:  # a broken sink must not take the stream down
            log.exception("mark stream sink failed on %s", event.type)

    def _status(
        self, state: Literal["connecting", "connected", "disconnected", "reconnecting", "error"], detail: str
    ) -> None:
        self._emit(
            Status(
                account=self.account,
                exchange=self.exchange,
                ts=self.clock(),
                state=state,
                channel="marks",
                detail=detail,
            )
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Stream until cancelled; never raises anything but :class:`asyncio.CancelledError`."""
        if self.rejected:
            self._status("error", f"not a {self.venue.name} perpetual, skipped: {', '.join(self.rejected)}")
        if not self.natives:
            await asyncio.Event().wait()  # nothing to stream: idle until cancelled
            return
        chunks = _batches(self.natives, self.venue.per_connection)
        tasks = [asyncio.create_task(self._run_socket(i, len(chunks), chunk)) for i, chunk in enumerate(chunks)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _delay(self, failures: int) -> float:
        """Equal jitter: a uniform draw in [base/2, base], base doubling per consecutive failure."""
        base = min(self.backoff_max, self.backoff_initial * 2.0 ** min(failures, 60))
        return base / 2 + self.rng.random() * base / 2

    async def _run_socket(self, index: int, count: int, natives: list[str]) -> None:
        tag = f"[{index + 1}/{count}] " if count > 1 else ""
        if index:
            await asyncio.sleep(index * self.venue.stagger)
        failures = 0
        while True:
            session = _Session()
            try:
                reason = await self._session(session, tag, natives)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure is a reason to reconnect, never to stop
                reason = _describe(exc)
            self._status("disconnected", f"{tag}{reason}")
            if session.healthy:
                failures = 0
            delay = self._delay(failures)
            failures += 1
            self.delays.append(delay)
            self._status("reconnecting", f"{tag}in {delay:.3f} s (attempt {failures})")
            await asyncio.sleep(delay)

    async def _session(self, session: _Session, tag: str, natives: list[str]) -> str:
        """One connection: subscribe, read until it dies. Returns (or raises) the reason it ended."""
        self.connections += 1
        self._status("connecting", f"{tag}{self.url}")
        async with connect(
            self.url,
            open_timeout=10,
            ping_interval=None,  # venue heartbeats below; server pings are answered by the library
            close_timeout=2,
            max_size=2**22,
            proxy=None if _is_loopback(self.url) else True,
        ) as ws:
            sender = asyncio.create_task(self._subscribe(ws, natives))
            try:
                return await self._read(ws, session, tag, natives, sender)
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender

    async def _subscribe(self, ws: ClientConnection, natives: list[str]) -> None:
        for i, message in enumerate(self.venue.subscribe_messages(natives)):
            if i:
                await asyncio.sleep(self.venue.send_gap)
            await ws.send(message)

    async def _read(
        self, ws: ClientConnection, session: _Session, tag: str, natives: list[str], sender: asyncio.Task[None]
    ) -> str:
        loop = asyncio.get_running_loop()
        state = _ConnState()
        last_rx = last_ping = loop.time()
        while True:
            if sender.done() and not sender.cancelled() and (exc := sender.exception()) is not None:
                raise exc
            now = loop.time()
            dead_at = last_rx + self.idle_timeout
            ping_at = math.inf
            if self.ping_every is not None:
                ping_at = (max(last_rx, last_ping) if self.venue.ping_when_idle else last_ping) + self.ping_every
            try:
                async with asyncio.timeout(max(0.0, min(dead_at, ping_at) - now)):
                    raw = await ws.recv()
            except TimeoutError:
                now = loop.time()
                if now >= dead_at:
                    return f"stalled: no message for {self.idle_timeout:g} s"
                if now >= ping_at:
                    ping = self.venue.ping()
                    if ping is not None:
                        await ws.send(ping)
                    last_ping = now
                continue
            last_rx = loop.time()
            parsed = self._parse(raw, state)
            if parsed.reply is not None:
                await ws.send(parsed.reply)
            self._handle(parsed, session, tag, natives)

    def _parse(self, raw: str | bytes, state: _ConnState) -> _Parsed:
        try:
            text = raw.decode() if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            return _unexpected("binary frame that is not UTF-8")
        special = self.venue.parse_text(text.strip())
        if special is not None:
            return special
        try:
            msg = json.loads(text)
        except ValueError:
            return _unexpected(f"malformed JSON: {text[:60]!r}")
        try:
            return self.venue.parse(msg, state)
        except Exception as exc:  # a parser surprise is one skipped message, not a dead stream
            return _unexpected(f"{type(exc).__name__}: {exc}")

    def _handle(self, parsed: _Parsed, session: _Session, tag: str, natives: list[str]) -> None:
        if parsed.kind == "unexpected":
            self._skip(session, tag, parsed.detail)
            return
        if parsed.kind == "error":
            if parsed.detail not in self._reported:  # once per distinct error, not once per reconnect
                self._reported.add(parsed.detail)
                self._status("error", f"{tag}{parsed.detail}")
            return
        if parsed.kind == "ack":
            self._connected(session, tag, natives)
            return
        if parsed.kind != "marks":
            return
        for key, raw_price, raw_ts in parsed.marks:
            symbol = self._by_native.get(key)
            if symbol is None:
                continue  # not ours (e.g. a stream subscribed elsewhere on a shared socket)
            price = _price(raw_price)
            if price is None:
                self._skip(session, tag, f"{key}: bad mark price {str(raw_price)[:30]!r}")
                continue
            ts = _venue_ts(raw_ts)
            self._connected(session, tag, natives)
            session.healthy = True
            self._emit(
                MarkPrice(
                    account=self.account,
                    exchange=self.exchange,
                    ts=ts if ts is not None else self.clock(),
                    symbol=symbol,
                    price=price,
                    interval=self.venue.interval,
                )
            )

    def _connected(self, session: _Session, tag: str, natives: list[str]) -> None:
        if not session.connected:
            session.connected = True
            self._status("connected", f"{tag}{len(natives)} symbol(s) subscribed")

    def _skip(self, session: _Session, tag: str, detail: str) -> None:
        self.skipped += 1
        session.skipped += 1
        if session.skipped == 1:
            self._status("error", f"{tag}skipping malformed or unexpected messages from {self.venue.name}: {detail}")
