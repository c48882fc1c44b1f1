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

Per venue (each venue's ``liqwatch/venues/<venue>/marks.py`` speaks its protocol, see
:mod:`liqwatch.feeds.wire`; each venue's mark-price channel in docs/venues/<venue>.md):

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

Coin-margined (inverse) perpetuals (``BTC/USD:BTC``) stream through the venue's
:meth:`~liqwatch.feeds.wire.MarkProtocol.inverse_protocol` on its own sockets, at
:meth:`~liqwatch.feeds.wire.MarkProtocol.inverse_url`: Binance COIN-M ``btcusd_perp@markPrice@1s``
on dstream, Bybit ``tickers.BTCUSD`` on /v5/public/inverse, OKX ``mark-price`` of ``BTC-USD-SWAP``
and Bitget ``ticker`` of instType COIN-FUTURES on the public endpoint, Gate ``futures.tickers`` of
``BTC_USD`` on /v4/ws/btc. An account's ``ws_url`` override keeps its host (a proxy or fake serves
both); Bybit's and Gate's paths still switch to the inverse ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from liqwatch.core.symbols import unified_parts
from liqwatch.feeds.base import Sink
from liqwatch.feeds.events import Event, MarkPrice, Status, StatusState
from liqwatch.feeds.parse import ms_to_s, positive
from liqwatch.feeds.reconnect import Backoff, Ended, SessionCounters, emit_safely, reconnect_forever
from liqwatch.feeds.wire import ConnState, MarkProtocol, Parsed, batches, unexpected
from liqwatch.numfmt import plain
from liqwatch.venues import HOMES, find_home

__all__ = ["MarkStream", "venue_symbol"]

log = logging.getLogger(__name__)


def venue_symbol(exchange: str, symbol: str) -> str | None:
    """The venue's id for a unified perpetual symbol (``BTC/USDT:USDT`` -> ``BTC-USDT-SWAP`` on OKX), or
    None when it is not a perpetual this stream can serve."""
    home = find_home(exchange)
    parts = unified_parts(symbol)
    if home is None or parts is None:
        return None
    return home.marks().native(*parts)


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
class _Session(SessionCounters):
    """One connection attempt of one socket."""

    healthy: bool = False
    """Marks arrived: the backoff resets after this connection."""


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
        home = find_home(exchange)
        if home is None:
            raise ValueError(f"no mark stream for exchange {exchange!r} (known: {', '.join(HOMES)})")
        self.account = account
        self.exchange = exchange
        self.venue: MarkProtocol = home.marks()
        self.url = ws_url or home.ws_url(testnet)
        self.backoff = Backoff(backoff_initial, backoff_max, rng)
        self.clock = clock
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
        self.inverse_venue: MarkProtocol = self.venue.inverse_protocol()
        """The protocol of the coin-margined perpetuals (their own channel or endpoint)."""
        self.inverse_url = self.venue.inverse_url(self.url)
        """Where the coin-margined perpetuals stream (the venue's other endpoint, or the same)."""
        inverse: list[str] = []
        for symbol in symbols:
            parts = unified_parts(symbol)
            coin_margined = parts is not None and parts[2] == parts[0] and parts[1] != parts[2]
            proto = self.inverse_venue if coin_margined else self.venue
            native = proto.native(*parts) if parts else None
            if native is None:
                self.rejected.append(symbol)
            elif native not in self._by_native:
                self._by_native[native] = symbol
                if coin_margined:
                    inverse.append(native)
        self.natives = list(self._by_native)
        self.groups: list[tuple[MarkProtocol, str, list[str]]] = [
            group
            for group in (
                (self.venue, self.url, [n for n in self.natives if n not in inverse]),
                (self.inverse_venue, self.inverse_url, inverse),
            )
            if group[2]
        ]
        """(protocol, url, venue ids) per endpoint: linear, then coin-margined."""
        self.connections = 0
        """Connection attempts made (all sockets)."""
        self.skipped = 0
        """Malformed or unexpected messages skipped (all sockets, all connections)."""
        self.delays = self.backoff.delays
        """Every reconnect delay chosen, in order (for diagnostics and tests)."""

    # -- events -------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        emit_safely(self._sink, event, log, "mark stream")

    def _status(self, state: StatusState, detail: str) -> None:
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
        chunks = [
            (proto, url, chunk)
            for proto, url, natives in self.groups
            for chunk in batches(natives, proto.per_connection)
        ]
        tasks = [
            asyncio.create_task(self._run_socket(i, len(chunks), chunk, proto, url))
            for i, (proto, url, chunk) in enumerate(chunks)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_socket(
        self, index: int, count: int, natives: list[str], proto: MarkProtocol | None = None, url: str | None = None
    ) -> None:
        proto = proto or self.venue
        url = url or self.url
        tag = f"[{index + 1}/{count}] " if count > 1 else ""
        if index:
            await asyncio.sleep(index * proto.stagger)

        async def session() -> Ended:
            session = _Session()
            try:
                reason = await self._session(session, tag, natives, proto, url)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure is a reason to reconnect, never to stop
                reason = _describe(exc)
            return Ended(reason, healthy=session.healthy)

        await reconnect_forever(session, self.backoff, self._status, tag=tag)

    async def _session(self, session: _Session, tag: str, natives: list[str], proto: MarkProtocol, url: str) -> str:
        """One connection: subscribe, read until it dies. Returns (or raises) the reason it ended."""
        self.connections += 1
        self._status("connecting", f"{tag}{url}")
        async with connect(
            url,
            open_timeout=10,
            ping_interval=None,  # venue heartbeats below; server pings are answered by the library
            close_timeout=2,
            max_size=2**22,
            proxy=None if _is_loopback(url) else True,
        ) as ws:
            sender = asyncio.create_task(self._subscribe(ws, natives, proto))
            try:
                return await self._read(ws, session, tag, natives, sender, proto)
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender

    async def _subscribe(self, ws: ClientConnection, natives: list[str], proto: MarkProtocol) -> None:
        for i, message in enumerate(proto.subscribe_messages(natives)):
            if i:
                await asyncio.sleep(proto.send_gap)
            await ws.send(message)

    async def _read(
        self,
        ws: ClientConnection,
        session: _Session,
        tag: str,
        natives: list[str],
        sender: asyncio.Task[None],
        proto: MarkProtocol,
    ) -> str:
        loop = asyncio.get_running_loop()
        state = ConnState()
        last_rx = last_ping = loop.time()
        while True:
            if sender.done() and not sender.cancelled() and (exc := sender.exception()) is not None:
                raise exc
            now = loop.time()
            dead_at = last_rx + self.idle_timeout
            ping_at = math.inf
            if self.ping_every is not None:
                ping_at = (max(last_rx, last_ping) if proto.ping_when_idle else last_ping) + self.ping_every
            try:
                async with asyncio.timeout(max(0.0, min(dead_at, ping_at) - now)):
                    raw = await ws.recv()
            except TimeoutError:
                now = loop.time()
                if now >= dead_at:
                    return f"stalled: no message for {plain(self.idle_timeout)} s"
                if now >= ping_at:
                    ping = proto.ping()
                    if ping is not None:
                        await ws.send(ping)
                    last_ping = now
                continue
            last_rx = loop.time()
            parsed = self._parse(raw, state, proto)
            if parsed.reply is not None:
                await ws.send(parsed.reply)
            self._handle(parsed, session, tag, natives)

    def _parse(self, raw: str | bytes, state: ConnState, proto: MarkProtocol | None = None) -> Parsed:
        proto = proto or self.venue
        try:
            text = raw.decode() if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            return unexpected("binary frame that is not UTF-8")
        special = proto.parse_text(text.strip())
        if special is not None:
            return special
        try:
            msg = json.loads(text)
        except ValueError:
            return unexpected(f"malformed JSON: {text[:60]!r}")
        try:
            return proto.parse(msg, state)
        except Exception as exc:  # a parser surprise is one skipped message, not a dead stream
            return unexpected(f"{type(exc).__name__}: {exc}")

    def _handle(self, parsed: Parsed, session: _Session, tag: str, natives: list[str]) -> None:
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
            price = positive(raw_price)
            if price is None:
                self._skip(session, tag, f"{key}: bad mark price {str(raw_price)[:30]!r}")
                continue
            ts = ms_to_s(raw_ts)
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
        if session.skip():
            self._status("error", f"{tag}skipping malformed or unexpected messages from {self.venue.name}: {detail}")
