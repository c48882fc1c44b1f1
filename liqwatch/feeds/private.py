"""Position-change hints from the venues' private streams, through ccxt.pro ``watch_positions``.

Hints, never the truth (ccxt #26407, #27618, #20800, #21565: missed and duplicated updates): each
message that carries positions becomes ``Positions(complete=False)`` with the positions it changed,
mapped by the REST adapters' own field rules (``liqwatch/venues/<venue>/rest.py``). A position that a
hint reports closed (size 0, or gone from a full-state push) is NOT emitted: ``on_expired`` is called
instead so the REST loop re-reads, and positions disappear only through a complete REST snapshot.
``on_expired`` is also called when a live stream drops (or its Binance listen key expires) and again
once a reconnected stream is live: whatever happened in between was missed.

ccxt.pro does the transport, authentication, heartbeats and listen-key upkeep; liqwatch hooks the
instance's ``handle_message`` to read every position message itself (ccxt's ``watch_*`` futures
drop messages that arrive while nobody awaits), and ``on_connected`` for the Binance socket. Each
(re)connection uses a fresh ccxt instance (markets shared): no auth or cache state survives a drop.

Each venue's wiring is its ``liqwatch/venues/<venue>/private.py`` (:mod:`liqwatch.feeds.private_wire`);
the reconnects are :func:`liqwatch.feeds.reconnect.reconnect_forever`'s.

URLs, like :class:`~liqwatch.feeds.rest.RestClient`: ``rest_url`` replaces every REST base (the
listen-key, market and context calls), else ``testnet`` switches ccxt to its sandbox. The private
websocket comes from the account's ``ws_url`` (the public mark-price URL the mark stream uses):

=========== ================================ ================================================ =====================
venue       ws_url (public)                  private URL ccxt opens                           channel
=========== ================================ ================================================ =====================
binance     ``<base>/market/ws``             ``<base>/private/ws?listenKey=<key>`` (2026      ``ACCOUNT_UPDATE``
                                             layout: ccxt ``urls.api.ws.linear = <base>/ws``)
bybit       ``<base>/v5/public/linear``      ``<base>/v5/private``                            ``position``
okx         ``<base>/ws/v5/public``          ``<base>/ws/v5/private``                         ``positions`` (SWAP)
hyperliquid ``<base>/ws``                    the same socket, no key                          ``clearinghouseState``
=========== ================================ ================================================ =====================

A ``ws_url`` with another path is used as the base as it is. Without ``ws_url``: ccxt's defaults
(its sandbox ones with ``testnet``). Bitget and Gate (not wired here) and accounts without keys
get one ``closed`` status, "no private position stream; REST reconciliation only".

Margins: each push carries the field the REST mapping reads, with the same meaning (README "Which
payload fields feed the margin"): Binance ``iw`` (= ``isolatedWallet``), Bybit ``bustPrice`` and
``positionBalance`` (the fee to close is taken out as over REST; a UTA push without ``bustPrice``
uses the account's taker rate, read with the rest of the position context), OKX ``margin``,
Hyperliquid ``leverage.rawUsd`` and ``entryPx``. Hints carry no taker rate (``fee_rate`` None): the
state store keeps the one the REST snapshot read (OKX, Bitget), with its ``fee_note``.

Field gaps: Binance ``ACCOUNT_UPDATE`` carries no mark, liquidation price, leverage or ADL; leverage
and ADL come from the REST adapter's context calls (``symbolConfig``, ``adlQuantile``: GETs, cached
for :data:`CONTEXT_TTL` seconds), mark and liquidation price stay None until the next REST snapshot.
Read-only: besides ccxt's own listen-key POST/PUT (the user-data stream protocol), only GETs. The
listen key is never DELETEd: Binance shares one key per account, closing it would cut other clients.
Secrets and listen keys never reach a status: messages go through ``Secrets.redact``, query strings
are cut and every listen key seen is masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from liqwatch.config import AccountConfig, Secrets
from liqwatch.feeds.base import Sink
from liqwatch.feeds.ccxt_client import ErrorTranslator, FeedError, new_exchange, point_at, strip_query
from liqwatch.feeds.events import Event, PositionData, Positions, Status, StatusState
from liqwatch.feeds.parse import DataError, as_dict, as_list, num
from liqwatch.feeds.private_wire import Batch, PrivateProtocol
from liqwatch.feeds.reconnect import SLOW_KINDS, Backoff, Ended, SessionCounters, emit_safely, reconnect_forever
from liqwatch.feeds.venue_rest import VenueRest
from liqwatch.venues import get_home

__all__ = ["LISTEN_KEY_EXPIRED", "NO_STREAM", "PositionHintStream", "private_ws_base"]

log = logging.getLogger(__name__)

NO_STREAM: Final = "no private position stream; REST reconciliation only"
LISTEN_KEY_EXPIRED: Final = "listen key expired"
CONTEXT_TTL = 60.0
"""Seconds a venue's position context (Binance leverage and ADL, Bybit margin mode and taker
rates) is reused."""
CONTEXT_TIMEOUT = 5.0


# --------------------------------------------------------------------------- queue items


@dataclass
class _Failed:
    error: Exception


@dataclass
class _Malformed:
    detail: str


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name


_READY = _Marker("ready")
_EXPIRED = _Marker("listen key expired")


class _ListenKeyExpired(Exception):
    pass


@dataclass
class _Session(SessionCounters):
    seen: set[tuple[str, str]] | None = None
    """Full-state venues: the open (symbol, side) keys of the previous push."""
    listen_keys: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- URL mapping


def private_ws_base(exchange: str, ws_url: str) -> str:
    """What liqwatch writes into ccxt's websocket URLs for ``exchange`` given the account's
    (public) ``ws_url``; see the module table."""
    return (get_home(exchange).private or PrivateProtocol()).ws_base(ws_url)


def _share_markets(source: Any, ex: Any) -> None:
    """``source``'s loaded markets into ``ex`` (ccxt's ``set_markets_from_exchange`` trips over
    helper options the source never set)."""
    ex.set_markets(source.markets, source.currencies)
    for helper in as_list(source.options.get("marketHelperProps")):
        if isinstance(helper, str) and source.options.get(helper) is not None:
            ex.options[helper] = source.options[helper]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------- the stream


class PositionHintStream:
    """One account's private position stream: hints and ``private`` statuses into ``sink``."""

    def __init__(
        self,
        account: AccountConfig,
        secrets: Secrets,
        sink: Sink,
        *,
        on_expired: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.account = account
        self._secrets = secrets
        self._sink = sink
        self._on_expired = on_expired
        self.clock = clock
        self.backoff = Backoff(backoff_initial, backoff_max, rng or random.Random())
        home = get_home(account.exchange)
        self._venue: PrivateProtocol | None = home.private
        self._adapter: VenueRest = home.rest
        self._errors = ErrorTranslator(account, secrets.redact)
        self._markets: Any = None
        """A (closed) ccxt instance whose markets the next one reuses."""
        self._carried: dict[str, Any] = {}
        self._context: dict[str, Any] | None = None
        self._context_at = 0.0
        self._listen_keys: set[str] = set()
        self._was_live = False
        self.connections = 0
        """Sessions started (ccxt instances created)."""
        self.skipped = 0
        """Malformed position messages or rows skipped."""
        self.resyncs = 0
        """Times ``on_expired`` was called."""
        self.delays = self.backoff.delays

    def __repr__(self) -> str:
        return f"PositionHintStream({self.account.exchange}, {self.account.name!r})"

    # ------------------------------------------------------------------ events

    def _emit(self, event: Event) -> None:
        emit_safely(self._sink, event, log, "private stream")

    def _status(self, state: StatusState, detail: str = "") -> None:
        self._emit(
            Status(
                account=self.account.name,
                exchange=self.account.exchange,
                ts=self.clock(),
                state=state,
                channel="private",
                detail=self._redact(detail),
            )
        )

    def _resync(self) -> None:
        self.resyncs += 1
        if self._on_expired is not None:
            try:
                self._on_expired()
            except Exception:
                log.exception("private stream on_expired callback failed")

    def _redact(self, text: str) -> str:
        text = self._secrets.redact(text)
        for key in self._listen_keys:
            text = text.replace(key, "***")
        return strip_query(text)

    # ------------------------------------------------------------------ lifecycle

    def available(self) -> bool:
        """Whether this account has a private position stream liqwatch can use."""
        venue = self._venue
        if venue is None:
            return False
        if venue.needs_keys:
            return "apiKey" in self._secrets.ccxt_options()
        return bool(self.account.wallet)

    async def run(self) -> None:
        """Stream until cancelled; never raises anything but :class:`asyncio.CancelledError`."""
        venue = self._venue
        if venue is None or not self.available():
            self._status("closed", NO_STREAM)
            return
        import ccxt.pro as ccxt_pro

        async def session() -> Ended:
            session = _Session()
            self._status("connecting", venue.channel)
            try:
                await self._session(ccxt_pro, venue, session)
                reason, kind = "stream ended", "network"
            except asyncio.CancelledError:
                raise
            except _ListenKeyExpired:
                reason, kind = LISTEN_KEY_EXPIRED, "expired"
            except Exception as exc:  # every failure is a reason to reconnect, never to stop
                if venue.expiry_error(exc):
                    reason, kind = LISTEN_KEY_EXPIRED, "expired"
                else:
                    error = self._feed_error(exc)
                    reason, kind = error.message, error.kind
            return Ended(reason, healthy=session.connected, slow=kind in SLOW_KINDS, kind=kind)

        def ended(end: Ended) -> None:
            if end.healthy or end.kind == "expired":
                self._resync()  # the stream may have missed changes: re-read over REST

        await reconnect_forever(session, self.backoff, self._status, on_end=ended)

    def _feed_error(self, exc: BaseException) -> FeedError:
        if isinstance(exc, FeedError):
            return FeedError(exc.kind, self._redact(exc.message))
        if not isinstance(exc, Exception):
            return FeedError("exchange", self._redact(type(exc).__name__))
        error = self._errors.translate(exc, "watching private positions")
        return FeedError(error.kind, self._redact(error.message))

    # ------------------------------------------------------------------ one connection

    def _exchange(self, ccxt_pro: Any, venue: PrivateProtocol, queue: asyncio.Queue[object]) -> Any:
        account = self.account
        ex = new_exchange(
            ccxt_pro, self._adapter, account, self._secrets, options=_merge(self._adapter.options(), venue.options())
        )
        ex.options.update(copy.deepcopy(self._carried))
        point_at(ex, account, no_sandbox=Exception, no_sandbox_message="no testnet in ccxt")
        if account.ws_url:
            venue.set_ws_url(ex, venue.ws_base(account.ws_url))
        elif account.testnet and account.rest_url and isinstance(as_dict(ex.urls.get("test")).get("ws"), dict | str):
            ex.urls["api"]["ws"] = copy.deepcopy(ex.urls["test"]["ws"])

        handle_message = ex.handle_message
        on_connected = ex.on_connected

        def hooked_message(client: Any, message: Any) -> None:
            problem: Exception | None = None
            try:
                if venue.expired(message):
                    queue.put_nowait(_EXPIRED)
                batch = venue.batch(ex, message)
                if batch is not None:
                    queue.put_nowait(batch)
                if venue.ready(message):
                    queue.put_nowait(_READY)
            except Exception as exc:  # a parser surprise is one skipped message, not a dead stream
                problem = exc
            try:
                handle_message(client, message)
            except Exception as exc:
                # raised out of ccxt's receive callback it would stop the socket's read loop for good
                problem = problem or exc
            if problem is not None:
                queue.put_nowait(_Malformed(f"{type(problem).__name__}: {problem}"))

        def hooked_connected(client: Any, message: Any = None) -> None:
            on_connected(client, message)
            if venue.ready_on_open:
                queue.put_nowait(_READY)

        ex.handle_message = hooked_message
        ex.on_connected = hooked_connected
        return ex

    async def _session(self, ccxt_pro: Any, venue: PrivateProtocol, session: _Session) -> None:
        queue: asyncio.Queue[object] = asyncio.Queue()
        self.connections += 1
        ex = self._exchange(ccxt_pro, venue, queue)
        watcher: asyncio.Task[None] | None = None
        upkeep: asyncio.Task[None] | None = None
        try:
            if self._markets is not None:
                _share_markets(self._markets, ex)
            else:
                await ex.load_markets()
                self._markets = ex
            watcher = asyncio.create_task(self._watch(ex, venue, queue))
            upkeep = asyncio.create_task(self._guard(venue.upkeep(ex), queue))
            while True:
                item = await queue.get()
                self._listen_keys.update(venue.listen_keys(ex))
                if isinstance(item, _Failed):
                    raise item.error
                if item is _EXPIRED:
                    raise _ListenKeyExpired
                if item is _READY:
                    self._connected(venue, session)
                elif isinstance(item, _Malformed):
                    self._skip(session, item.detail)
                elif isinstance(item, Batch):
                    await self._hint(ex, session, item)
        finally:
            self._listen_keys.update(venue.listen_keys(ex))
            for key in venue.carry_options:
                if key in ex.options:
                    self._carried[key] = copy.deepcopy(ex.options[key])
            for task in (watcher, upkeep):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            venue.retire(ex)
            with contextlib.suppress(Exception):
                await ex.close()

    @staticmethod
    async def _guard(work: Coroutine[Any, Any, None], queue: asyncio.Queue[object]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            queue.put_nowait(_Failed(exc))

    async def _watch(self, ex: Any, venue: PrivateProtocol, queue: asyncio.Queue[object]) -> None:
        params = venue.params(self.account)
        try:
            ex.options.update(await self._adapter.stream_options(ex))  # e.g. Binance portfolio margin
            while True:  # results are read in the message hook; this keeps the subscription alive
                await ex.watch_positions(None, None, None, dict(params))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            queue.put_nowait(_Failed(exc))

    def _connected(self, venue: PrivateProtocol, session: _Session) -> None:
        if session.connected:
            return
        session.connected = True
        self._status("connected", f"position hints from the {venue.channel} (REST stays authoritative)")
        if self._was_live:
            self._resync()  # changes made while the stream was down were missed
        self._was_live = True

    def _skip(self, session: _Session, detail: str) -> None:
        self.skipped += 1
        if session.skip():
            self._status("error", f"skipping malformed private position messages: {detail[:200]}")

    # ------------------------------------------------------------------ hints

    def _ours(self, ex: Any, p: dict[str, Any]) -> bool:
        symbol = p.get("symbol")
        if not isinstance(symbol, str) or symbol not in ex.markets:
            return False
        market = as_dict(ex.markets[symbol])
        return bool(market.get("contract")) and bool(market.get("linear"))

    async def _hint(self, ex: Any, session: _Session, batch: Batch) -> None:
        ours = [p for p in batch.raws if self._ours(ex, p)]
        open_rows = [p for p in ours if num(p.get("contracts"))]
        resync = len(open_rows) < len(ours)  # a closed position: only REST may remove it
        positions: list[PositionData] = []
        if open_rows:
            context = await self._position_context(ex, open_rows)
            for p in open_rows:
                try:
                    positions.append(self._adapter.position(ex, p, context))
                except (DataError, ValidationError, KeyError, TypeError, ValueError) as exc:
                    self._skip(session, f"{p.get('symbol')}: {type(exc).__name__}: {exc}")
                    resync = True  # it changed, and we cannot say how
        if batch.full:
            keys = {(p.symbol, str(p.side)) for p in positions}
            if session.seen is not None and session.seen - keys:
                resync = True
            session.seen = keys
        if positions:
            self._emit(
                Positions(
                    account=self.account.name,
                    exchange=self.account.exchange,
                    ts=batch.ts or self.clock(),
                    positions=positions,
                    complete=False,
                )
            )
        if resync:
            self._resync()

    async def _position_context(self, ex: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """The REST adapter's per-snapshot context (GETs), reused for :data:`CONTEXT_TTL` seconds."""
        now = self.clock()
        if self._context is not None and now - self._context_at < CONTEXT_TTL:
            return self._context
        try:
            context = await asyncio.wait_for(self._adapter.position_context(ex, self.account, rows), CONTEXT_TIMEOUT)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a hint without context beats no hint; retried on the next one
            log.debug("private stream: no position context (%s)", self._redact(str(exc)))
            return self._context or {}
        self._context, self._context_at = context, now
        return context
